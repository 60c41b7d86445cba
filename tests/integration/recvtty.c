// recvtty: test helper for terminal_test.sh (built with cc into the test's temp dir).
//
//   recvtty console SOCK [STEP...]
//     Listen on the unix stream socket SOCK (SOCK.ready appears once it listens), accept one
//     connection and receive one message carrying file descriptors (SCM_RIGHTS) as runc's
//     --console-socket protocol sends them: the first descriptor is the pty master. Facts
//     about it go to stderr ("fds=N", "isatty=1", "ptn=N", "payload=[...]"). Then the STEPs
//     run in order on the master, and everything read from it is copied to stdout:
//       w:TEXT      write TEXT and a newline
//       s:ROWSxCOLS set the window size (TIOCSWINSZ)
//       u:TEXT      read until TEXT has been seen (after the previous u: match)
//       e           read until end of file (every slave descriptor closed)
//     Each read step gives up after 20 s (exit 3); the whole program after 90 s.
//
//   recvtty notify-recv SOCK
//     Bind a unix datagram socket at SOCK (SOCK.ready appears once bound) and print each
//     datagram received as a line on stdout; received descriptors (sd_notify barriers) are
//     closed at once. Runs until killed (at most 90 s).
//
//   recvtty notify-send MESSAGE   (or, installed as sd-notify-send: sd-notify-send MESSAGE)
//     Send MESSAGE as one datagram to $NOTIFY_SOCKET ("@name" is an abstract address), as
//     sd_notify(3) does. Built statically so that it runs inside a busybox container.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void die(const char* what) {
  fprintf(stderr, "recvtty: %s: %s\n", what, strerror(errno));
  exit(2);
}

static socklen_t make_addr(const char* path, struct sockaddr_un* a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n >= sizeof a->sun_path) {
    fprintf(stderr, "recvtty: socket path too long: %s\n", path);
    exit(2);
  }
  memcpy(a->sun_path, path, n);
  if (path[0] == '@') a->sun_path[0] = '\0';  // abstract
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
}

static void mark_ready(const char* sock) {
  char p[4200];
  snprintf(p, sizeof p, "%s.ready", sock);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("create ready file");
  close(fd);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// All output read from the master so far.
static char* seen;
static size_t seen_len, seen_cap, match_from;
static int eof_seen;

// Read from the master for up to `timeout` seconds or until `want` appears after match_from
// (want == NULL: until end of file). Returns 0 when found.
static int read_until(int m, const char* want, double timeout) {
  double end = now() + timeout;
  for (;;) {
    if (want != NULL && seen != NULL) {
      char* hit = memmem(seen + match_from, seen_len - match_from, want, strlen(want));
      if (hit != NULL) {
        match_from = (size_t)(hit - seen) + strlen(want);
        return 0;
      }
    }
    if (eof_seen) return want == NULL ? 0 : -1;
    double left = end - now();
    if (left <= 0) return -1;
    struct pollfd p = {m, POLLIN, 0};
    int r = poll(&p, 1, (int)(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("poll");
    if (r == 0) continue;
    char buf[4096];
    ssize_t n = read(m, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {  // EIO: the last slave descriptor was closed
      eof_seen = 1;
      continue;
    }
    if (seen_len + (size_t)n > seen_cap) {
      seen_cap = (seen_len + (size_t)n) * 2;
      seen = realloc(seen, seen_cap);
      if (seen == NULL) die("realloc");
    }
    memcpy(seen + seen_len, buf, (size_t)n);
    seen_len += (size_t)n;
    if (write(1, buf, (size_t)n) < 0) die("write stdout");
  }
}

static int console_main(int argc, char** argv) {
  const char* path = argv[2];
  struct sockaddr_un a;
  socklen_t alen = make_addr(path, &a);
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0) die("socket");
  unlink(path);
  if (bind(l, (struct sockaddr*)&a, alen) < 0) die("bind");
  if (listen(l, 4) < 0) die("listen");
  mark_ready(path);
  int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) die("accept");
  char payload[4096];
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(int) * 16)];
  } cbuf;
  struct iovec iov = {payload, sizeof payload - 1};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf.b;
  msg.msg_controllen = sizeof cbuf.b;
  ssize_t n;
  do {
    n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) die("recvmsg");
  payload[n] = '\0';
  int fds[16], nfds = 0;
  for (struct cmsghdr* h = CMSG_FIRSTHDR(&msg); h != NULL; h = CMSG_NXTHDR(&msg, h)) {
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
      int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < k && nfds < 16; ++i) memcpy(&fds[nfds++], CMSG_DATA(h) + i * sizeof(int), sizeof(int));
    }
  }
  fprintf(stderr, "fds=%d\npayload=[%s]\n", nfds, payload);
  if (msg.msg_flags & MSG_CTRUNC) fprintf(stderr, "recvtty: control data truncated\n");
  if (nfds == 0) {
    fprintf(stderr, "recvtty: no file descriptor received on %s\n", path);
    return 2;
  }
  for (int i = 1; i < nfds; ++i) close(fds[i]);
  close(c);
  close(l);
  int m = fds[0];
  fprintf(stderr, "isatty=%d\n", isatty(m));
  unsigned ptn = 0;
  if (ioctl(m, TIOCGPTN, &ptn) == 0) {
    fprintf(stderr, "ptn=%u\n", ptn);
  } else {
    fprintf(stderr, "ptn=none (%s)\n", strerror(errno));
  }
  fflush(stderr);
  for (int i = 3; i < argc; ++i) {
    const char* s = argv[i];
    if (strncmp(s, "w:", 2) == 0) {
      char line[8192];
      int len = snprintf(line, sizeof line, "%s\n", s + 2);
      if (write(m, line, (size_t)len) != len) die("write to the pty master");
    } else if (strncmp(s, "s:", 2) == 0) {
      struct winsize ws = {0};
      if (sscanf(s + 2, "%hux%hu", &ws.ws_row, &ws.ws_col) != 2) {
        fprintf(stderr, "recvtty: bad size step %s\n", s);
        return 2;
      }
      if (ioctl(m, TIOCSWINSZ, &ws) < 0) die("TIOCSWINSZ");
    } else if (strncmp(s, "u:", 2) == 0) {
      if (read_until(m, s + 2, 20) != 0) {
        fprintf(stderr, "recvtty: timed out waiting for [%s]%s\n", s + 2,
                eof_seen ? " (end of file seen)" : "");
        return 3;
      }
    } else if (strcmp(s, "e") == 0) {
      if (read_until(m, NULL, 20) != 0) {
        fprintf(stderr, "recvtty: timed out waiting for end of file on the pty master\n");
        return 3;
      }
    } else {
      fprintf(stderr, "recvtty: unknown step %s\n", s);
      return 2;
    }
  }
  return 0;
}

static __attribute__((noreturn)) int notify_recv_main(const char* path) {
  struct sockaddr_un a;
  socklen_t alen = make_addr(path, &a);
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  unlink(path);
  if (bind(s, (struct sockaddr*)&a, alen) < 0) die("bind");
  chmod(path, 0777);
  mark_ready(path);
  setvbuf(stdout, NULL, _IONBF, 0);
  for (;;) {
    char buf[8192];
    union {
      struct cmsghdr h;
      char b[CMSG_SPACE(sizeof(int) * 16)];
    } cbuf;
    struct iovec iov = {buf, sizeof buf - 1};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.b;
    msg.msg_controllen = sizeof cbuf.b;
    ssize_t n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("recvmsg");
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    printf("%s\n", buf);
    // Printed before the barrier is acknowledged: a sender that waits for it knows the
    // message is in the output.
    for (struct cmsghdr* h = CMSG_FIRSTHDR(&msg); h != NULL; h = CMSG_NXTHDR(&msg, h)) {
      if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
        int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; ++i) {
          int fd;
          memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
          close(fd);  // an sd_notify barrier: closing the pipe acknowledges it
        }
      }
    }
  }
}

static int notify_send_main(const char* message) {
  const char* path = getenv("NOTIFY_SOCKET");
  if (path == NULL || path[0] == '\0') {
    fprintf(stderr, "recvtty: NOTIFY_SOCKET is not set\n");
    return 2;
  }
  struct sockaddr_un a;
  socklen_t alen = make_addr(path, &a);
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  if (sendto(s, message, strlen(message), 0, (struct sockaddr*)&a, alen) < 0) {
    fprintf(stderr, "recvtty: send to NOTIFY_SOCKET %s: %s\n", path, strerror(errno));
    return 2;
  }
  return 0;
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 3 && strcmp(argv[1], "console") == 0) {
    alarm(90);
    return console_main(argc, argv);
  }
  if (argc == 3 && strcmp(argv[1], "notify-recv") == 0) {
    alarm(90);
    return notify_recv_main(argv[2]);
  }
  if (argc == 3 && strcmp(argv[1], "notify-send") == 0) return notify_send_main(argv[2]);
  // Installed in a container as sd-notify-send: `sd-notify-send MESSAGE`.
  const char* base = strrchr(argv[0], '/');
  base = base != NULL ? base + 1 : argv[0];
  if (argc == 2 && strcmp(base, "sd-notify-send") == 0) return notify_send_main(argv[1]);
  fprintf(stderr,
          "usage: recvtty console SOCK [w:TEXT|s:ROWSxCOLS|u:TEXT|e]...\n"
          "       recvtty notify-recv SOCK\n"
          "       recvtty notify-send MESSAGE\n");
  return 2;
}
