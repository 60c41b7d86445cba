// The hardening every process that will run the container's code goes through first: the
// container's init right after the clone, each exec'd process right after its fork. Until
// its execve such a process is a copy of the runtime, holding the caller's memory and
// environment; a process of the container that reached it (a process exec'd into a created
// container, say) must find nothing to read and nothing to take over.
#pragma once

namespace nsbox::process {

// Not dumpable: /proc/PID/mem, /proc/PID/environ, ptrace and /proc/PID/ns of this process
// need CAP_SYS_PTRACE in the host's user namespace (execve makes the program dumpable again
// as usual). Default dispositions for every signal (an ignored SIGPIPE or SIGHUP of the
// caller, as systemd starts services, must not reach the container), an empty signal mask,
// and an empty environment (the program gets exactly process.env; the caller's environment
// is wiped from memory too, where /proc/PID/environ would show it).
// `dumpable`: stay dumpable for now (an unprivileged runtime must still write this process's
// id maps); call set_not_dumpable() once that is done.
void harden_prelude(bool dumpable);
void set_not_dumpable();

// Mark every descriptor from `first` on close-on-exec, so that only 0-2 and the preserved
// ones reach the program. close_range(2) where the kernel (and a seccomp profile) allows it,
// otherwise one fcntl per descriptor listed in /proc/self/fd.
bool close_on_exec_from(int first);

}  // namespace nsbox::process
