#include "process/console_keeper.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/fs.h"
#include "base/unique_fd.h"

namespace nsbox::process {
namespace {

constexpr size_t kMaxClients = 16;
constexpr char kDetachPrefix = 0x01;  // Ctrl-a
constexpr char kDetachKey = 'q';

// The keeper's socket, named through the directory's fd: a state directory's path may be
// longer than a socket address holds.
sockaddr_un socket_address(int dirfd) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, kConsoleSocket);
  return addr;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// The console log, rotated once it would pass kConsoleLogMax.
class Log {
 public:
  Log(int dirfd, UniqueFd fd) : dirfd_(dirfd), fd_(std::move(fd)) {
    struct stat sb{};
    if (fd_ && ::fstat(fd_.get(), &sb) == 0) size_ = static_cast<size_t>(sb.st_size);
  }
  void write(const char* p, size_t n) {
    if (size_ + n > kConsoleLogMax) {
      std::string old = std::string(kConsoleLog) + ".1";
      ::renameat(dirfd_, kConsoleLog, dirfd_, old.c_str());
      fd_.reset(::openat(dirfd_, kConsoleLog, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
      size_ = 0;
    }
    if (fd_ && write_all(fd_.get(), p, n)) size_ += n;
  }

 private:
  int dirfd_;
  UniqueFd fd_;
  size_t size_ = 0;
};

struct Client {
  UniqueFd fd;
  std::string in;  // framed input not yet complete
};

// Frames from a client: input goes to the console, window sizes to the pty. False when the
// client sent something that is not a frame (it is dropped).
bool take_frames(Client& c, int master) {
  while (c.in.size() >= 3) {
    size_t len = (static_cast<unsigned char>(c.in[1]) << 8) | static_cast<unsigned char>(c.in[2]);
    if (c.in.size() < 3 + len) break;
    const char* payload = c.in.data() + 3;
    if (c.in[0] == 'd') {
      (void)write_all(master, payload, len);
    } else if (c.in[0] == 'w' && len == 4) {
      winsize ws{};
      ws.ws_row = static_cast<unsigned short>((static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]));
      ws.ws_col = static_cast<unsigned short>((static_cast<unsigned char>(payload[2]) << 8) | static_cast<unsigned char>(payload[3]));
      ::ioctl(master, TIOCSWINSZ, &ws);
    } else {
      return false;
    }
    c.in.erase(0, 3 + len);
  }
  return true;
}

// Whatever the pty holds now, to the log and the clients; false once it has nothing more.
bool forward_output(int master, Log& log, std::vector<Client>& clients) {
  char buf[16384];
  ssize_t n = ::read(master, buf, sizeof buf);
  if (n <= 0) return false;
  log.write(buf, static_cast<size_t>(n));
  // A client that cannot keep up misses output: the console never waits for a reader.
  std::erase_if(clients, [&](Client& c) {
    ssize_t w = ::send(c.fd.get(), buf, static_cast<size_t>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
    return w < 0 && errno != EAGAIN && errno != EINTR;
  });
  return true;
}

[[noreturn]] void keeper_main(int dirfd, int master, int slave, int listener, int log_fd, int pidfd) {
  (void)slave;  // held open: the pty stays up while no container process has it open
  ::malloc_trim(0);  // what create allocated is not the keeper's to keep
  Log log(dirfd, UniqueFd(log_fd));
  std::vector<Client> clients;
  int fl = ::fcntl(master, F_GETFL);
  ::fcntl(master, F_SETFL, fl | O_NONBLOCK);
  for (;;) {
    std::vector<pollfd> p = {{pidfd, POLLIN, 0}, {master, POLLIN, 0}, {listener, POLLIN, 0}};
    for (const auto& c : clients) p.push_back({c.fd.get(), POLLIN, 0});
    if (::poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents != 0) {
      // The container's init is gone: what its console still holds, then the end.
      while (forward_output(master, log, clients)) {
      }
      break;
    }
    if (p[1].revents != 0) forward_output(master, log, clients);
    if ((p[2].revents & POLLIN) && clients.size() < kMaxClients) {
      UniqueFd c(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (c) clients.push_back({std::move(c), {}});
    }
    std::vector<int> gone;
    for (size_t i = 3; i < p.size(); ++i) {
      if (p[i].revents == 0) continue;
      Client& c = clients[i - 3];
      char buf[4096];
      ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        gone.push_back(c.fd.get());
        continue;
      }
      if (n > 0) c.in.append(buf, static_cast<size_t>(n));
      if (!take_frames(c, master)) gone.push_back(c.fd.get());
    }
    std::erase_if(clients, [&](const Client& c) { return std::find(gone.begin(), gone.end(), c.fd.get()) != gone.end(); });
  }
  ::unlinkat(dirfd, kConsoleSocket, 0);
  ::_exit(0);
}

// In the keeper, right after fork: a session of its own, default signals, nothing inherited
// but `keep` (stdio on /dev/null).
void detach(std::initializer_list<int> keep) {
  ::setsid();
  ::prctl(PR_SET_NAME, "nsbox-console", 0, 0, 0);
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_UNBLOCK, &all, nullptr);
  for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int i = 0; i < 3 && null >= 0; ++i) ::dup2(null, i);
  std::vector<int> k(keep);
  k.push_back(null);
  std::sort(k.begin(), k.end());
  unsigned from = 3;
  for (int fd : k) {
    if (fd < 3) continue;
    if (static_cast<unsigned>(fd) > from) ::syscall(SYS_close_range, from, static_cast<unsigned>(fd) - 1, 0);
    from = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0);
  if (null > 2) ::close(null);
}

// Frame `n` bytes of type `type` to the keeper.
bool send_frame(int s, char type, const char* p, size_t n) {
  while (n > 0) {
    size_t part = std::min<size_t>(n, 0xffff);
    char head[3] = {type, static_cast<char>(part >> 8), static_cast<char>(part & 0xff)};
    if (!write_all(s, head, 3) || !write_all(s, p, part)) return false;
    p += part;
    n -= part;
  }
  return true;
}

void send_window_size(int s) {
  winsize ws{};
  if (::ioctl(0, TIOCGWINSZ, &ws) < 0) return;
  char b[4] = {static_cast<char>(ws.ws_row >> 8), static_cast<char>(ws.ws_row & 0xff),
               static_cast<char>(ws.ws_col >> 8), static_cast<char>(ws.ws_col & 0xff)};
  char head[3] = {'w', 0, 4};
  (void)write_all(s, head, 3);
  (void)write_all(s, b, 4);
}

}  // namespace

Result<pid_t> start_keeper(const std::string& dir, int master, pid_t init_pid) {
  UniqueFd dirfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirfd) return fail_errno("open " + dir);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, init_pid, 0)));
  if (!pidfd) return fail_errno("pidfd of the container's init");
  UniqueFd slave(::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return fail_errno("open the console's terminal");
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener) return fail_errno("console socket");
  ::unlinkat(dirfd.get(), kConsoleSocket, 0);
  sockaddr_un addr = socket_address(dirfd.get());
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    return fail_errno("bind " + dir + "/" + kConsoleSocket);
  }
  if (::fchmodat(dirfd.get(), kConsoleSocket, 0600, 0) < 0 || ::listen(listener.get(), 8) < 0) {
    return fail_errno("listen on " + dir + "/" + kConsoleSocket);
  }
  UniqueFd log(::openat(dirfd.get(), kConsoleLog, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!log) return fail_errno("open " + dir + "/" + kConsoleLog);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork the console keeper");
  if (pid == 0) {
    detach({dirfd.get(), master, slave.get(), listener.get(), log.get(), pidfd.get()});
    keeper_main(dirfd.get(), master, slave.get(), listener.get(), log.release(), pidfd.get());
  }
  return pid;
}

Result<> attach_console(const std::string& dir, const std::string& id) {
  UniqueFd dirfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirfd) return fail_errno("open " + dir);
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return fail_errno("socket");
  sockaddr_un addr = socket_address(dirfd.get());
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) {
      return fail("container \"" + id + "\" has no console to attach to (it has no terminal, its terminal went to " +
                  "--console-socket or a foreground run, or it has stopped)");
    }
    return fail_errno("connect to the console of " + id);
  }
  bool tty = ::isatty(0) != 0;
  termios saved{};
  UniqueFd winch;
  if (tty && ::tcgetattr(0, &saved) == 0) {
    std::fprintf(stderr, "nsbox: attached to the console of %s; Ctrl-a q detaches\r\n", id.c_str());
    termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(0, TCSANOW, &t);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGWINCH);
    ::sigprocmask(SIG_BLOCK, &m, nullptr);
    winch.reset(::signalfd(-1, &m, SFD_CLOEXEC));
    send_window_size(s.get());
  } else {
    tty = false;
  }
  bool prefix = false, input_open = true, console_open = true;
  while (console_open) {
    pollfd p[3] = {{s.get(), POLLIN, 0}, {input_open ? 0 : -1, POLLIN, 0}, {winch.get(), POLLIN, 0}};
    // Input ended (not a terminal): what the console prints next is shown until it is quiet.
    int r = ::poll(p, winch ? 3 : 2, input_open ? -1 : 500);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[16384];
    if (p[0].revents != 0) {
      ssize_t n = ::read(s.get(), buf, sizeof buf);
      if (n > 0) {
        (void)write_all(1, buf, static_cast<size_t>(n));
      } else {
        console_open = false;
      }
    }
    if (p[1].revents != 0) {
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0) {
        input_open = false;
        continue;
      }
      std::string out;
      bool detach_now = false;
      for (ssize_t i = 0; i < n && !detach_now && tty; ++i) {
        if (prefix) {
          prefix = false;
          if (buf[i] == kDetachKey) {
            detach_now = true;
          } else {
            out += kDetachPrefix;
            if (buf[i] != kDetachPrefix) out += buf[i];
          }
        } else if (buf[i] == kDetachPrefix) {
          prefix = true;
        } else {
          out += buf[i];
        }
      }
      if (!tty) out.assign(buf, static_cast<size_t>(n));
      if (!out.empty() && !send_frame(s.get(), 'd', out.data(), out.size())) console_open = false;
      if (detach_now) break;
    }
    if (winch && (p[2].revents & POLLIN)) {
      signalfd_siginfo si{};
      if (::read(winch.get(), &si, sizeof si) == sizeof si) send_window_size(s.get());
    }
  }
  if (tty) {
    ::tcsetattr(0, TCSANOW, &saved);
    std::fprintf(stderr, console_open ? "\nnsbox: detached from %s\n" : "\nnsbox: the console of %s closed\n", id.c_str());
  }
  return {};
}

Result<std::string> console_log(const std::string& dir) {
  std::string out;
  for (std::string name : {std::string(kConsoleLog) + ".1", std::string(kConsoleLog)}) {
    auto part = fs::read_file(dir + "/" + name);
    if (part) out += *part;
  }
  return out;
}

}  // namespace nsbox::process
