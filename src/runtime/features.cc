#include "runtime/features.h"

#include <sys/capability.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "security/lsm.h"
#include "security/seccomp.h"
#include "spec/config.h"

namespace nsbox::runtime {

std::string features_json() {
  using json = nlohmann::ordered_json;
  json caps = json::array();
  for (int c = 0; c <= CAP_LAST_CAP; ++c) {
    char* name = cap_to_name(static_cast<cap_value_t>(c));
    if (name == nullptr) continue;
    std::string n = name;
    cap_free(name);
    if (!n.starts_with("cap_")) continue;  // a number: libcap has no name for it
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::toupper(ch); });
    caps.push_back(n);
  }
  json archs = json::array();
  for (const auto& a : spec::seccomp_arch_names()) {
    if (security::seccomp_arch_supported(a)) archs.push_back(a);
  }
  json ns = json::array();
  for (spec::NsKind k : spec::kAllNsKinds) ns.push_back(spec::ns_name(k));
  std::sort(ns.begin(), ns.end());
  json j;
  j["ociVersionMin"] = "1.0.0";
  j["ociVersionMax"] = "1.3.0";
  j["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
  j["mountOptions"] = spec::mount_option_names();
  j["linux"] = {
      {"namespaces", ns},
      {"capabilities", caps},
      {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", true}, {"rdma", false}}},
      {"seccomp",
       {{"enabled", true},
        {"actions",
         {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
          "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
        {"operators",
         {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
          "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
        {"archs", archs},
        {"knownFlags", spec::seccomp_flag_names()},
        {"supportedFlags", security::seccomp_supported_flags()}}},
      {"apparmor", {{"enabled", true}}},
      {"selinux", {{"enabled", true}}},
      {"intelRdt", {{"enabled", false}}},
      {"netDevices", {{"enabled", true}}},
      {"mountExtensions", {{"idmap", {{"enabled", true}}}}}};
  j["annotations"] = {{"io.github.seccomp.libseccomp.version", security::libseccomp_version()}};
  // Annotations that change what the runtime does on the host, as runc lists them.
  j["potentiallyUnsafeConfigAnnotations"] = {"org.systemd.property."};
  return j.dump(4) + "\n";
}

}  // namespace nsbox::runtime
