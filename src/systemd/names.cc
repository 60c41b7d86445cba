#include "systemd/names.h"

#include <vector>

namespace nsbox::systemd {

Result<UnitName> unit_name(const std::string& cgroups_path, const std::string& id, bool rootless) {
  std::string path = cgroups_path.empty() ? ":nsbox:" + id : cgroups_path;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t c = path.find(':', start);
    parts.push_back(path.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  if (parts.size() != 3) {
    return fail("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"" +
                cgroups_path + "\" instead");
  }
  UnitName u;
  u.slice = parts[0].empty() ? (rootless ? "user.slice" : "system.slice") : parts[0];
  u.name = parts[2];
  if (u.name.empty()) return fail("linux.cgroupsPath: \"" + cgroups_path + "\": the unit name (third part) is empty");
  u.unit = u.name.ends_with(".slice") ? u.name : parts[1] + "-" + u.name + ".scope";
  TRY(expand_slice(u.slice));
  if (u.is_slice()) TRY(expand_slice(u.unit));
  return u;
}

Result<std::string> expand_slice(const std::string& slice) {
  auto invalid = [&] { return fail("invalid slice name: " + slice); };
  const std::string suffix = ".slice";
  if (!slice.ends_with(suffix) || slice.size() <= suffix.size() || slice.find('/') != std::string::npos) {
    return invalid();
  }
  if (slice == "-.slice") return std::string("/");
  std::string stem = slice.substr(0, slice.size() - suffix.size());
  std::string path, prefix;
  size_t start = 0;
  for (;;) {
    size_t dash = stem.find('-', start);
    std::string part = stem.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    if (part.empty()) return invalid();
    prefix += (prefix.empty() ? "" : "-") + part;
    path += "/" + prefix + suffix;
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  return path;
}

Result<std::string> unit_cgroup(const UnitName& u) {
  auto parent = expand_slice(u.slice);
  if (!parent) return fail(std::move(parent.error()));
  std::string dir = *parent == "/" ? std::string() : *parent;
  return dir + "/" + u.unit;
}

}  // namespace nsbox::systemd
