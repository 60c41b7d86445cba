#include "spec/state.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "spec/json_depth.h"

namespace nsbox::spec {

using json = nlohmann::ordered_json;

const char* status_name(Status s) {
  switch (s) {
    case Status::kCreating: return "creating";
    case Status::kUnknown: return "unknown";
    case Status::kCreated: return "created";
    case Status::kRunning: return "running";
    case Status::kPaused: return "paused";
    case Status::kStopped: return "stopped";
  }
  return "unknown";
}

namespace {

// An integer field of the type asked for: nlohmann's get<int>() of a double out of range
// is undefined behaviour, of a string an exception; a state file is checked like a config.
template <typename T>
T int_at(const json& j, const char* key) {
  const json& v = j.at(key);
  bool fits = false;
  if (v.is_number_unsigned()) {
    fits = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else if (v.is_number_integer()) {
    auto x = v.get<int64_t>();
    fits = x >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
           (x < 0 || static_cast<uint64_t>(x) <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
  }
  if (!fits) throw std::out_of_range(std::string("field \"") + key + "\" is not an integer of its range");
  return v.is_number_unsigned() ? static_cast<T>(v.get<uint64_t>()) : static_cast<T>(v.get<int64_t>());
}

template <typename T>
T int_or(const json& j, const char* key, T fallback) {
  return j.contains(key) ? int_at<T>(j, key) : fallback;
}

json hooks_to_json(const std::vector<Hook>& hs) {
  json a = json::array();
  for (const auto& h : hs) {
    json o = {{"path", h.path}, {"args", h.args}};
    if (h.env) o["env"] = *h.env;
    if (h.timeout > 0) o["timeout"] = h.timeout;
    a.push_back(o);
  }
  return a;
}

std::vector<Hook> hooks_from_json(const json& a) {
  std::vector<Hook> out;
  for (const auto& o : a) {
    Hook h;
    h.path = o.at("path").get<std::string>();
    h.args = o.value("args", std::vector<std::string>{});
    if (o.contains("env")) h.env = o.at("env").get<std::vector<std::string>>();
    h.timeout = int_or<int>(o, "timeout", 0);
    out.push_back(h);
  }
  return out;
}

}  // namespace

std::string state_to_json(const State& s) {
  json j = {{"ociVersion", s.oci_version},
            {"id", s.id},
            {"pid", s.pid},
            {"startTime", s.start_time},
            {"bundle", s.bundle},
            {"rootfs", s.rootfs},
            {"created", s.created},
            {"owner", s.owner},
            {"annotations", s.annotations},
            {"cgroupLeaves", s.cgroup_leaves},
            {"addresses", s.addresses},
            {"freezer", s.freezer},
            {"cgroupCreated", s.cgroup_created},
            {"ownPidNamespace", s.own_pid_ns},
            {"process", s.process_json},
            {"seccomp", s.seccomp_json},
            {"notifySocket", s.notify_socket},
            {"poststart", hooks_to_json(s.poststart)},
            {"poststop", hooks_to_json(s.poststop)}};
  if (!s.rootfs_bind.empty()) {
    j["rootfsBind"] = s.rootfs_bind;
    j["rootfsMountBefore"] = s.rootfs_mount_before;
  }
  if (!s.systemd_unit.empty()) {
    j["systemdUnit"] = s.systemd_unit;
    j["systemdUser"] = s.systemd_user;
  }
  if (s.cgroup_nested) j["cgroupNested"] = true;
  if (!s.external_descriptors.empty()) j["externalDescriptors"] = s.external_descriptors;
  if (s.console_keeper > 0) {
    j["consoleKeeper"] = s.console_keeper;
    j["consoleKeeperStart"] = s.console_keeper_start;
  }
  if (!s.resources_json.empty()) j["resources"] = s.resources_json;
  if (!s.network_json.empty()) j["network"] = s.network_json;
  return j.dump();
}

Result<State> state_from_json(const std::string& text, const std::string& file) {
  try {
    if (nested_deeper_than(text)) throw std::out_of_range("nested too deeply");
    json j = json::parse(text);
    State s;
    s.oci_version = j.at("ociVersion").get<std::string>();
    s.id = j.at("id").get<std::string>();
    s.pid = int_at<pid_t>(j, "pid");
    s.start_time = int_at<uint64_t>(j, "startTime");
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.at("rootfs").get<std::string>();
    s.created = j.at("created").get<std::string>();
    s.owner = int_at<uint32_t>(j, "owner");
    s.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    s.cgroup_leaves = j.at("cgroupLeaves").get<std::vector<std::string>>();
    s.freezer = j.value("freezer", std::string());
    s.cgroup_created = j.at("cgroupCreated").get<std::vector<std::string>>();
    s.own_pid_ns = j.at("ownPidNamespace").get<bool>();
    s.process_json = j.value("process", std::string());
    s.seccomp_json = j.value("seccomp", std::string());
    s.notify_socket = j.value("notifySocket", std::string());
    s.poststart = hooks_from_json(j.at("poststart"));
    s.poststop = hooks_from_json(j.at("poststop"));
    s.rootfs_bind = j.value("rootfsBind", std::string());
    s.rootfs_mount_before = int_or<uint64_t>(j, "rootfsMountBefore", 0);
    s.systemd_unit = j.value("systemdUnit", std::string());
    s.systemd_user = j.value("systemdUser", false);
    s.cgroup_nested = j.value("cgroupNested", false);
    if (j.contains("externalDescriptors")) s.external_descriptors = j.at("externalDescriptors").get<std::vector<std::string>>();
    s.console_keeper = int_or<pid_t>(j, "consoleKeeper", 0);
    s.console_keeper_start = int_or<uint64_t>(j, "consoleKeeperStart", 0);
    s.resources_json = j.value("resources", std::string());
    if (j.contains("addresses")) s.addresses = j.at("addresses").get<std::vector<std::string>>();
    s.network_json = j.value("network", std::string());
    return s;
  } catch (const std::exception& e) {
    return fail(file + ": corrupt state file: " + e.what());
  }
}

namespace {

// Reads the top-level fields of a state file in the order state_to_json writes them and
// stops once it has the summary's.
class SummarySax : public nlohmann::json_sax<json> {
 public:
  explicit SummarySax(State& s) : s_(s) {}
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t v) override { return number(static_cast<uint64_t>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(v); }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t& v) override {
    if (depth_ == 1) {
      if (key_ == "ociVersion") s_.oci_version = std::move(v);
      else if (key_ == "id") s_.id = std::move(v);
      else if (key_ == "bundle") s_.bundle = std::move(v);
      else if (key_ == "rootfs") s_.rootfs = std::move(v);
      else if (key_ == "created") s_.created = std::move(v);
      else if (key_ == "freezer") s_.freezer = std::move(v);
    } else if (depth_ == 2 && key_ == "annotations") {
      s_.annotations[inner_key_] = std::move(v);
    } else if (depth_ == 2 && key_ == "cgroupLeaves") {
      s_.cgroup_leaves.push_back(std::move(v));
    } else if (depth_ == 2 && key_ == "addresses") {  // optional: written before freezer
      s_.addresses.push_back(std::move(v));
    }
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return ++depth_, true; }
  bool end_object() override { return --depth_, true; }
  bool start_array(std::size_t) override { return ++depth_, true; }
  bool end_array() override { return --depth_, true; }
  bool key(string_t& k) override {
    if (depth_ == 2) {
      inner_key_ = k;
      return true;
    }
    if (depth_ != 1) return true;
    if (mark_read()) return false;  // all there: stop
    key_ = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    return false;
  }
  bool complete() {
    if (!complete_ && error_.empty() && depth_ == 0) mark_read();  // the file's last value
    return complete_;
  }
  const std::string& error() const { return error_; }

 private:
  static constexpr const char* kKeys[] = {"ociVersion", "id",          "pid",          "startTime",
                                         "bundle",     "rootfs",      "created",      "owner",
                                         "annotations", "cgroupLeaves", "freezer"};
  // The value of key_ has been read; true once all of the summary's have.
  bool mark_read() {
    for (size_t i = 0; i < std::size(kKeys); ++i) {
      if (key_ == kKeys[i]) seen_ |= 1u << i;
    }
    complete_ = seen_ == (1u << std::size(kKeys)) - 1;
    return complete_;
  }
  bool number(uint64_t v) {
    if (depth_ != 1) return true;
    if (key_ == "pid") s_.pid = static_cast<pid_t>(v);
    else if (key_ == "startTime") s_.start_time = v;
    else if (key_ == "owner") s_.owner = static_cast<uint32_t>(v);
    return true;
  }
  State& s_;
  int depth_ = 0;
  std::string key_, inner_key_, error_;
  unsigned seen_ = 0;
  bool complete_ = false;
};

}  // namespace

Result<State> state_summary_from_json(const std::string& text, const std::string& file) {
  State s;
  SummarySax sax(s);
  if (nested_deeper_than(text)) return fail(file + ": corrupt state file: nested too deeply");
  json::sax_parse(text, &sax);
  if (!sax.error().empty()) return fail(file + ": corrupt state file: " + sax.error());
  if (!sax.complete()) return fail(file + ": corrupt state file: a field of the summary is missing");
  return s;
}

std::string footprint_to_json(const Footprint& f) {
  json j = {{"cgroupLeaves", f.cgroup_leaves}, {"cgroupNew", f.cgroup_new}};
  if (!f.rootfs_bind.empty()) {
    j["rootfsBind"] = f.rootfs_bind;
    j["rootfsMountBefore"] = f.rootfs_mount_before;
  }
  if (!f.systemd_unit.empty()) {
    j["systemdUnit"] = f.systemd_unit;
    j["systemdUser"] = f.systemd_user;
  }
  if (!f.networks.empty()) j["networks"] = f.networks;
  return j.dump();
}

Result<Footprint> footprint_from_json(const std::string& text, const std::string& file) {
  try {
    if (nested_deeper_than(text)) throw std::out_of_range("nested too deeply");
    json j = json::parse(text);
    Footprint f;
    f.cgroup_leaves = j.at("cgroupLeaves").get<std::vector<std::string>>();
    f.cgroup_new = j.at("cgroupNew").get<std::vector<std::string>>();
    f.rootfs_bind = j.value("rootfsBind", std::string());
    f.rootfs_mount_before = int_or<uint64_t>(j, "rootfsMountBefore", 0);
    f.systemd_unit = j.value("systemdUnit", std::string());
    f.systemd_user = j.value("systemdUser", false);
    if (j.contains("networks")) f.networks = j.at("networks").get<std::vector<std::string>>();
    return f;
  } catch (const std::exception& e) {
    return fail(file + ": damaged: " + e.what());
  }
}

std::string oci_state_json(const State& s, Status status, bool pretty) {
  json j = {{"ociVersion", s.oci_version}, {"id", s.id}, {"status", status_name(status)}};
  j["pid"] = status == Status::kStopped ? 0 : s.pid;  // runc reports 0 once stopped
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner == 0 ? "root" : std::to_string(s.owner);
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  if (!s.addresses.empty()) j["addresses"] = s.addresses;
  if (!s.system_state.empty()) j["systemState"] = s.system_state;
  return pretty ? j.dump(2) : j.dump();
}

std::string restated(const std::string& state_json, Status status, pid_t pid) {
  json j = json::parse(state_json, nullptr, false);
  if (!j.is_object()) return state_json;
  j["status"] = status_name(status);
  j["pid"] = pid;
  return j.dump();
}

}  // namespace nsbox::spec
