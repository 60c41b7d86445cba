// peakrss: run a command and report the peak RSS of that process itself.
//
// usage: peakrss -o OUTFILE CMD [ARGS...]
// Writes "OWN_KIB TREE_KIB EXECS" to OUTFILE and exits with CMD's status.
//   OWN_KIB  peak RSS of CMD's own process: the max of VmHWM read at each execve() entry
//            (a process that re-executes itself, like crun's memfd self-clone, starts a
//            new mm) and at its PTRACE_EVENT_EXIT stop (mm still attached).
//   TREE_KIB ru_maxrss from wait4(): the max over CMD and the descendants it reaped
//            (what GNU `time -f %M` reports; kernel counters, may be ~100 KiB lower).
//   EXECS    how many times the process re-executed after the first exec of CMD.
// Only CMD's first thread is traced (no TRACEFORK/TRACECLONE): its children and other
// threads run untraced; signals it receives are passed through unchanged.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long vm_hwm_kib(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "VmHWM: %ld", &v) == 1) break;
  }
  fclose(f);
  return v;
}

int main(int argc, char** argv) {
  if (argc < 4 || strcmp(argv[1], "-o") != 0) {
    fprintf(stderr, "usage: peakrss -o OUTFILE CMD [ARGS...]\n");
    return 2;
  }
  const char* out = argv[2];
  pid_t pid = fork();
  if (pid < 0) {
    perror("peakrss: fork");
    return 1;
  }
  if (pid == 0) {
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) _exit(126);
    execvp(argv[3], argv + 3);
    perror("peakrss: exec");
    _exit(127);
  }
  int st;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  long own = -1, execs = 0;
  int first = 1;
  for (;;) {
    if (wait4(pid, &st, 0, &ru) < 0) {
      if (errno == EINTR) continue;
      perror("peakrss: wait4");
      return 1;
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) break;
    if (!WIFSTOPPED(st)) continue;
    int sig = WSTOPSIG(st), inject = 0, event = st >> 16;
    if (first && sig == SIGTRAP) {  // the stop after the first, successful execve
      first = 0;
      long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT |
                  PTRACE_O_EXITKILL;
      if (ptrace(PTRACE_SETOPTIONS, pid, 0, (void*)opts) < 0) {
        perror("peakrss: PTRACE_SETOPTIONS");
        return 1;
      }
    } else if (sig == (SIGTRAP | 0x80)) {  // syscall entry or exit stop
      struct __ptrace_syscall_info info;  // glibc's name for the kernel struct
      long n = ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void*)sizeof info, &info);
      if (n > 0 && info.op == PTRACE_SYSCALL_INFO_ENTRY &&
          (info.entry.nr == SYS_execve || info.entry.nr == SYS_execveat)) {
        long v = vm_hwm_kib(pid);
        if (v > own) own = v;
      }
    } else if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
      execs++;
    } else if (sig == SIGTRAP && event == PTRACE_EVENT_EXIT) {
      long v = vm_hwm_kib(pid);
      if (v > own) own = v;
    } else if (event == 0) {
      inject = sig;  // signal-delivery stop: pass it on
    }
    ptrace(PTRACE_SYSCALL, pid, 0, (void*)(long)inject);
  }
  FILE* f = fopen(out, "w");
  if (!f) {
    perror("peakrss: open output");
    return 1;
  }
  fprintf(f, "%ld %ld %ld\n", own, ru.ru_maxrss, execs);
  fclose(f);
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return 128 + WTERMSIG(st);
}
