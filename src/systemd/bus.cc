#include "systemd/bus.h"

#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "security/exe_guard.h"

extern char** environ;

namespace nsbox::systemd {
namespace {

using json = nlohmann::json;

json properties_json(const std::vector<Property>& props) {
  json a = json::array();
  for (const auto& p : props) a.push_back({{"name", p.name}, {"signature", p.signature}, {"value", json::parse(p.value)}});
  return a;
}

}  // namespace

bool booted() {
  struct stat st{};
  return ::lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

Result<Bus> Bus::open(bool user) {
  std::string path = security::helper_program("nsbox-systemd", "NSBOX_SYSTEMD_HELPER");
  if (::access(path.c_str(), X_OK) < 0) {
    return fail_errno("the systemd cgroup driver needs nsbox-systemd (installed with nsbox): " + path);
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return fail_errno("socketpair");
  UniqueFd ours(sp[0]), theirs(sp[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, theirs.get(), 3);  // dup2 clears close-on-exec
  std::vector<char*> argv = {path.data(), const_cast<char*>(user ? "--user" : "--system"), nullptr};
  Bus b;
  int rc = ::posix_spawn(&b.pid_, path.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return fail_errno("start " + path, rc);
  b.sock_ = std::move(ours);
  // Asked at once: answered as soon as the helper is connected, read when needed.
  std::string ask = json{{"op", "version"}}.dump();
  b.version_asked_ = ::send(b.sock_.get(), ask.data(), ask.size(), MSG_NOSIGNAL) >= 0;
  return b;
}

Bus::~Bus() {
  // The helper ends at end of input. shutdown, not only close: a container process cloned
  // meanwhile holds a copy of this descriptor until its execve.
  if (sock_) ::shutdown(sock_.get(), SHUT_RDWR);
  sock_.reset();
  if (pid_ > 0) {
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

Result<std::string> Bus::call(const std::string& request, const char* field) {
  if (version_asked_) TRY(version());  // its answer comes first
  if (::send(sock_.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    return fail_errno("send to nsbox-systemd");
  }
  return answer(field);
}

Result<std::string> Bus::answer(const char* field) {
  std::string buf(1 << 16, '\0');
  ssize_t n;
  do {
    n = ::recv(sock_.get(), buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("receive from nsbox-systemd");
  if (n == 0) return fail("nsbox-systemd exited without an answer");
  json reply = json::parse(buf.substr(0, static_cast<size_t>(n)), nullptr, false);
  if (!reply.is_object()) return fail("nsbox-systemd answered with no JSON object");
  if (reply.contains("error")) return fail(reply["error"].get<std::string>());
  if (field == nullptr || !reply.contains(field)) return std::string();
  return reply[field].is_string() ? reply[field].get<std::string>() : reply[field].dump();
}

Result<int> Bus::version() {
  if (version_asked_) {
    version_asked_ = false;
    auto v = TRY(answer("version"));
    version_ = v.empty() ? 0 : std::atoi(v.c_str());
  }
  if (version_ < 0) {
    auto v = TRY(call(json{{"op", "version"}}.dump(), "version"));
    version_ = v.empty() ? 0 : std::atoi(v.c_str());
  }
  return version_;
}

Result<> Bus::start(const std::string& unit, const std::vector<Property>& props) {
  TRY(call(json{{"op", "start"}, {"unit", unit}, {"properties", properties_json(props)}}.dump(), nullptr));
  return {};
}

Result<> Bus::set(const std::string& unit, const std::vector<Property>& props) {
  TRY(call(json{{"op", "set"}, {"unit", unit}, {"properties", properties_json(props)}}.dump(), nullptr));
  return {};
}

Result<std::string> Bus::stop(const std::string& unit) {
  return call(json{{"op", "stop"}, {"unit", unit}}.dump(), "warning");
}

Result<std::string> Bus::control_group() { return call(json{{"op", "control_group"}}.dump(), "path"); }

}  // namespace nsbox::systemd
