// nsbox's side of nsbox-systemd (systemd/helper_main.cc): the helper is started at once and
// connects to the bus while nsbox goes on; each call sends one request and waits for its
// answer. One helper (one bus connection) serves a whole command.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "systemd/properties.h"

namespace nsbox::systemd {

// systemd runs as pid 1 here (/run/systemd/system is a directory, as sd_booted checks).
bool booted();

class Bus {
 public:
  // Start the helper for the system manager, or the user's (`user`, rootless). Errors when
  // no helper is installed; a bus that cannot be reached is reported by the first call.
  static Result<Bus> open(bool user);
  Bus(Bus&& o) noexcept
      : sock_(std::move(o.sock_)), pid_(std::exchange(o.pid_, -1)), version_(o.version_),
        version_asked_(o.version_asked_) {}
  Bus& operator=(Bus&&) = delete;
  ~Bus();

  Result<int> version();  // systemd's version, 0 if unknown
  Result<> start(const std::string& unit, const std::vector<Property>& props);
  Result<> set(const std::string& unit, const std::vector<Property>& props);
  // Stopped and reset (gone, a failed unit too); a warning to log, or "".
  Result<std::string> stop(const std::string& unit);
  Result<std::string> control_group();  // of the manager (the user's: rootless paths)

 private:
  Bus() = default;
  Result<std::string> call(const std::string& request, const char* field);
  Result<std::string> answer(const char* field);  // the next reply
  UniqueFd sock_;
  pid_t pid_ = -1;
  int version_ = -1;
  bool version_asked_ = false;  // a version request is out, its answer not read yet
};

}  // namespace nsbox::systemd
