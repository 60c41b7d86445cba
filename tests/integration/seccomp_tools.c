/* Helpers for seccomp_test.sh, built static and copied into the container's rootfs.
 *
 *   seccomp_tools probe NR [ARG...]   (or as "probe NR [ARG...]") make system call NR with the integer ARGs; print
 *                                     "ret=R errno=E" (E = 0 on success)
 *   seccomp_tools agent SOCKET STATE  a seccomp notify agent: for each connection on
 *                                     SOCKET, save the JSON that came with the listener fd
 *                                     to STATE.N (N = 1, 2, ...), then answer every
 *                                     notification on it with "success, return value 42"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* args: NR [ARG...] */
static int probe(int n, char **args) {
  long a[6] = {0};
  for (int i = 0; i < 6 && i + 1 < n; ++i) a[i] = strtol(args[i + 1], NULL, 0);
  errno = 0;
  long r = syscall(strtol(args[0], NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
  printf("ret=%ld errno=%d\n", r, r < 0 ? errno : 0);
  return 0;
}

/* Serve one listener: answer every notification with "success, return value 42". */
static void serve(int fd) {
  struct seccomp_notif_sizes sz;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) _exit(1);
  struct seccomp_notif *req = calloc(1, sz.seccomp_notif);
  struct seccomp_notif_resp *resp = calloc(1, sz.seccomp_notif_resp);
  for (;;) {
    memset(req, 0, sz.seccomp_notif);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
      if (errno == EINTR) continue;
      _exit(0); /* the filter's last user is gone */
    }
    memset(resp, 0, sz.seccomp_notif_resp);
    resp->id = req->id;
    resp->val = 42;
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
  }
}

/* Each connection brings one listener and its state: STATE.1, STATE.2, ... */
static int agent(const char *path, const char *state_file) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  unlink(path);
  if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 4) < 0) {
    perror("agent: listen");
    return 1;
  }
  signal(SIGCHLD, SIG_IGN);
  for (int k = 1;; ++k) {
    int c = accept(s, NULL, NULL);
    if (c < 0) {
      perror("agent: accept");
      return 1;
    }
    char buf[8192];
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {buf, sizeof buf - 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                         .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(c, &msg, 0);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    close(c);
    if (n <= 0 || cm == NULL || cm->cmsg_type != SCM_RIGHTS) {
      fprintf(stderr, "agent: no descriptor received\n");
      continue;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    buf[n] = '\0';
    char name[4096];
    snprintf(name, sizeof name, "%s.%d", state_file, k);
    FILE *f = fopen(name, "w");
    if (f == NULL) return 1;
    fputs(buf, f);
    fclose(f);
    if (fork() == 0) serve(fd);
    close(fd);
  }
}

int main(int argc, char **argv) {
  const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  if (strcmp(self, "probe") == 0 && argc >= 2) return probe(argc - 1, argv + 1);
  if (argc >= 3 && strcmp(argv[1], "probe") == 0) return probe(argc - 2, argv + 2);
  if (argc == 4 && strcmp(argv[1], "agent") == 0) return agent(argv[2], argv[3]);
  fprintf(stderr, "usage: seccomp_tools probe NR [ARG...] | agent SOCKET STATE\n");
  return 2;
}
