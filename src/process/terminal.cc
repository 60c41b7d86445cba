#include "process/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "ns/in_root.h"
#include "process/sync.h"

namespace nsbox::process {

Result<Console> setup_console(unsigned rows, unsigned cols, bool bind_console) {
  Console c;
  // In the container's root (the process has entered it): /dev/ptmx and /dev/console are
  // the image's paths, reached only inside it.
  UniqueFd rootfd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return fail_errno("open /");
  c.master = TRY_CTX(ns::open_file(rootfd.get(), "/dev/ptmx", O_RDWR | O_NOCTTY), "the container's terminal");
  int unlock = 0;
  if (::ioctl(c.master.get(), TIOCSPTLCK, &unlock) < 0) return fail_errno("unlock the pty");
  int n = 0;
  if (::ioctl(c.master.get(), TIOCGPTN, &n) < 0) return fail_errno("/dev/ptmx in the container is not a pty master");
  c.slave_path = "/dev/pts/" + std::to_string(n);
  // TIOCGPTPEER opens the slave through the master: no path lookup an image could redirect.
  UniqueFd slave(::ioctl(c.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY));
  if (!slave) return fail_errno("open the pty slave");
  if (rows != 0 || cols != 0) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    if (::ioctl(c.master.get(), TIOCSWINSZ, &ws) < 0) return fail_errno("set the console size");
  }
  if (bind_console) {
    // The slave itself (its descriptor, not its path) is bound onto /dev/console, which must
    // be a file or a device node of the container's, never a link.
    auto console = ns::resolve_nofollow(rootfd.get(), "/dev/console");
    if (!console && console.error().code() == ENOENT) console = ns::ensure(rootfd.get(), "/dev/console", false);
    if (!console) return fail(std::move(console.error()));
    TRY(ns::expect_file_or_chardev(console->get(), "/dev/console"));
    TRY_CTX(ns::bind_onto(slave.get(), console->get(), false), "bind " + c.slave_path + " on /dev/console");
  }
  if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0) return fail_errno("make the pty the controlling terminal");
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(slave.get(), fd) < 0) return fail_errno("dup the pty to fd " + std::to_string(fd));
  }
  return c;
}

Result<> send_to_console_socket(const std::string& path, int master, const std::string& name) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return fail_errno("console socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail("--console-socket: path too long: " + path);
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    return fail_errno("connect to the console socket " + path);
  }
  // One message: the name as data, the master as SCM_RIGHTS (what runc's recvtty reads).
  TRY_CTX(send_raw_fd(s.get(), name, master), "send the console to " + path);
  return {};
}

namespace {

void copy_window_size(int master) {
  winsize ws{};
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

// Move what is readable from `from` to `to`; false at end of input or on error.
bool pump(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  size_t off = 0;
  while (off < static_cast<size_t>(n)) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n) - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void relay(int master, int signal_fd, const std::function<bool(int sig)>& on_signal) {
  termios saved{};
  bool raw = ::isatty(0) && ::tcgetattr(0, &saved) == 0;
  if (raw) {
    termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(0, TCSANOW, &t);
    copy_window_size(master);
  }
  bool stdin_open = true, master_open = true, exited = false;
  while (!exited || master_open) {
    pollfd p[3] = {{signal_fd, POLLIN, 0}, {master, master_open ? short(POLLIN) : short(0), 0},
                   {0, stdin_open ? short(POLLIN) : short(0), 0}};
    // Once the process is gone, drain what the pty still holds, then stop.
    int r = ::poll(p, 3, exited ? 100 : -1);
    if (r < 0 && errno != EINTR) break;
    if (r == 0 && exited) break;
    if (p[0].revents & POLLIN) {
      signalfd_siginfo si{};
      if (::read(signal_fd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) {
          copy_window_size(master);
        } else if (on_signal(static_cast<int>(si.ssi_signo))) {
          exited = true;
        }
      }
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) master_open = pump(master, 1);
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) stdin_open = pump(0, master);
  }
  if (raw) ::tcsetattr(0, TCSANOW, &saved);
}

Result<> wait_foreground(int console, int signal_fd, const std::function<bool(int sig)>& on_signal) {
  if (console >= 0) {
    relay(console, signal_fd, on_signal);
    return {};
  }
  for (bool done = false; !done;) {
    signalfd_siginfo si{};
    if (::read(signal_fd, &si, sizeof si) != sizeof si) {
      if (errno == EINTR) continue;
      return fail_errno("read signalfd");
    }
    done = on_signal(static_cast<int>(si.ssi_signo));
  }
  return {};
}

}  // namespace nsbox::process
