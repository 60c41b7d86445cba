#include "spec/state.h"

#include <nlohmann/json.hpp>

namespace nsbox::spec {

using json = nlohmann::ordered_json;

const char* status_name(Status s) {
  switch (s) {
    case Status::kCreating: return "creating";
    case Status::kCreated: return "created";
    case Status::kRunning: return "running";
    case Status::kPaused: return "paused";
    case Status::kStopped: return "stopped";
  }
  return "unknown";
}

namespace {

json hooks_to_json(const std::vector<Hook>& hs) {
  json a = json::array();
  for (const auto& h : hs) {
    json o = {{"path", h.path}, {"args", h.args}, {"env", h.env}};
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
    h.env = o.value("env", std::vector<std::string>{});
    h.timeout = o.value("timeout", 0);
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
            {"cgroupCreated", s.cgroup_created},
            {"ownPidNamespace", s.own_pid_ns},
            {"process", s.process_json},
            {"seccomp", s.seccomp_json},
            {"notifySocket", s.notify_socket},
            {"poststart", hooks_to_json(s.poststart)},
            {"poststop", hooks_to_json(s.poststop)}};
  return j.dump();
}

Result<State> state_from_json(const std::string& text, const std::string& file) {
  try {
    json j = json::parse(text);
    State s;
    s.oci_version = j.at("ociVersion").get<std::string>();
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.start_time = j.at("startTime").get<uint64_t>();
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.at("rootfs").get<std::string>();
    s.created = j.at("created").get<std::string>();
    s.owner = j.at("owner").get<uint32_t>();
    s.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    s.cgroup_leaves = j.at("cgroupLeaves").get<std::vector<std::string>>();
    s.cgroup_created = j.at("cgroupCreated").get<std::vector<std::string>>();
    s.own_pid_ns = j.at("ownPidNamespace").get<bool>();
    s.process_json = j.value("process", std::string());
    s.seccomp_json = j.value("seccomp", std::string());
    s.notify_socket = j.value("notifySocket", std::string());
    s.poststart = hooks_from_json(j.at("poststart"));
    s.poststop = hooks_from_json(j.at("poststop"));
    return s;
  } catch (const json::exception& e) {
    return fail(file + ": corrupt state file: " + e.what());
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
  return pretty ? j.dump(2) : j.dump();
}

}  // namespace nsbox::spec
