// System calls that leave errno alone and return -errno on failure, for the helper processes
// that share the runtime's memory (clone with CLONE_VM, not threads): they share its errno
// too, which the runtime reads meanwhile, and glibc's malloc (which, believing the process
// single-threaded, takes no locks). Such a helper makes these calls only, on memory the
// runtime prepared. kRawSyscalls is false where there is no inline version: callers then
// keep the work in the runtime itself.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace nsbox {

#if defined(__x86_64__)
inline constexpr bool kRawSyscalls = true;
inline long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
  long ret;
  register long r10 asm("r10") = d;
  asm volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
inline constexpr bool kRawSyscalls = true;
inline long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
  register long x8 asm("x8") = n;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  register long x3 asm("x3") = d;
  asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
#else
inline constexpr bool kRawSyscalls = false;
inline long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
  long r = ::syscall(n, a, b, c, d);
  return r < 0 ? -errno : r;
}
#endif

}  // namespace nsbox
