#include "systemd/properties.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "cgroup/control.h"

namespace nsbox::systemd {
namespace {

using json = nlohmann::json;
constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();

Property prop(const std::string& name, const std::string& sig, const json& v) { return {name, sig, v.dump()}; }

uint64_t limit_value(int64_t v) { return v == -1 ? kInfinity : static_cast<uint64_t>(v); }

// The spec's device rules (and the defaults every container gets) as DevicePolicy and
// DeviceAllow. systemd has only allow entries over a default of "deny" (strict) or "allow
// all" (auto): a rule that denies something within an allowed whole cannot be said, and is
// then replaced by deny-all here (the cgroupfs program nsbox installs too has the real rules).
std::vector<Property> device_properties(const std::vector<spec::DeviceRule>& spec_rules, bool v2) {
  struct Entry {
    std::string path, access;
  };
  bool allow_all = false, inexpressible = false;
  std::vector<Entry> entries;
  for (const auto& r : cgroup::with_default_devices(spec_rules)) {
    if (r.type == 'a') {
      allow_all = r.allow;
      entries.clear();
      continue;
    }
    if (!r.major && r.minor) {
      log::warn("systemd has no '*:n' device rules: the rule for minor " + std::to_string(*r.minor) +
                " is left to the cgroup's own device program");
      continue;
    }
    std::string kind = r.type == 'b' ? "block" : "char";
    std::string path = !r.major ? kind + "-*"
                       : !r.minor ? kind + "-" + std::to_string(*r.major)
                                  : "/dev/" + kind + "/" + std::to_string(*r.major) + ":" + std::to_string(*r.minor);
    if (r.allow) {
      if (!allow_all) entries.push_back({path, r.access});
    } else if (allow_all) {
      inexpressible = true;
    } else {
      std::erase_if(entries, [&](const Entry& e) { return e.path == path; });
    }
  }
  if (inexpressible) {
    // On cgroup v2 nsbox's own device program sits beside systemd's and decides: systemd
    // allows all. On v1 systemd writes the devices cgroup itself: it denies all (runc's way).
    if (v2) return {prop("DevicePolicy", "s", "auto"), prop("DeviceAllow", "a(ss)", json::array())};
    log::warn("systemd has no deny rules within an allowed whole: its device policy denies all");
    return {prop("DevicePolicy", "s", "strict"), prop("DeviceAllow", "a(ss)", json::array())};
  }
  if (allow_all) return {prop("DevicePolicy", "s", "auto"), prop("DeviceAllow", "a(ss)", json::array())};
  json allow = json::array();
  for (const auto& e : entries) allow.push_back({e.path, e.access});
  return {prop("DevicePolicy", "s", "strict"), prop("DeviceAllow", "a(ss)", allow)};
}

// CPUQuotaPerSecUSec (and CPUQuotaPeriodUSec): systemd keeps the quota per second rounded
// up to 10 ms; the cgroupfs quota is made to agree.
void cpu_quota(std::optional<int64_t>& quota, const std::optional<uint64_t>& period, int version,
               std::vector<Property>& out) {
  if (period && *period != 0 && version >= 242) out.push_back(prop("CPUQuotaPeriodUSec", "t", *period));
  if (!quota && !(period && *period != 0)) return;
  if (!quota || *quota <= 0) {
    out.push_back(prop("CPUQuotaPerSecUSec", "t", kInfinity));
    return;
  }
  uint64_t p = period && *period != 0 ? *period : 100000;
  uint64_t per_sec = static_cast<uint64_t>(*quota) * 1000000 / p;
  if (per_sec % 10000 != 0) per_sec = (per_sec / 10000 + 1) * 10000;
  out.push_back(prop("CPUQuotaPerSecUSec", "t", per_sec));
  quota = static_cast<int64_t>(per_sec * p / 1000000);
}

Result<> allowed_set(const std::string& name, const std::string& list, const std::string& field,
                     int version, std::vector<Property>& out) {
  if (list.empty() || version < 244) return {};
  auto bits = cpuset_bits(list);
  if (!bits) return fail(field + "=\"" + list + "\" conversion error: " + bits.error().what());
  out.push_back(prop(name, "ay", *bits));
  return {};
}

Result<uint64_t> unified_number(const std::string& key, const std::string& v) {
  if (v == "max") return kInfinity;
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 19) {
    return fail("unified resource \"" + key + "\" value conversion error: \"" + v + "\" is not a number");
  }
  return std::stoull(v);
}

std::string block_device(int64_t major, int64_t minor) {
  return "/dev/block/" + std::to_string(major) + ":" + std::to_string(minor);
}

}  // namespace

std::vector<Property> unit_properties(const UnitName& u, pid_t pid, bool v2,
                                      const std::vector<Property>& from_annotations) {
  std::vector<Property> out = {prop("Description", "s", "nsbox container " + u.name)};
  if (u.is_slice()) {
    out.push_back(prop("Wants", "as", json::array({u.slice})));
  } else {
    out.push_back(prop("Slice", "s", u.slice));
    out.push_back(prop("Delegate", "b", true));
  }
  if (pid > 0) out.push_back(prop("PIDs", "au", json::array({pid})));
  for (const char* a : {"MemoryAccounting", "CPUAccounting", v2 ? "IOAccounting" : "BlockIOAccounting", "TasksAccounting"}) {
    out.push_back(prop(a, "b", true));
  }
  out.push_back(prop("DefaultDependencies", "b", false));
  out.insert(out.end(), from_annotations.begin(), from_annotations.end());
  return out;
}

Result<std::vector<Property>> resource_properties(spec::Resources& r, bool v2, int version) {
  std::vector<Property> out = device_properties(r.devices, v2);
  if (!v2 && !r.unified.empty()) return fail("invalid configuration: cannot use unified on cgroup v1");
  if (const auto& m = r.memory) {
    if (m->limit && *m->limit != 0) out.push_back(prop(v2 ? "MemoryMax" : "MemoryLimit", "t", limit_value(*m->limit)));
    if (v2 && m->reservation && *m->reservation != 0) out.push_back(prop("MemoryLow", "t", limit_value(*m->reservation)));
    if (v2 && m->swap) {
      std::string v = TRY(cgroup::swap_to_v2(*m->swap, m->limit.value_or(0)));
      if (v == "max") out.push_back(prop("MemorySwapMax", "t", kInfinity));
      else if (!v.empty()) out.push_back(prop("MemorySwapMax", "t", std::stoull(v)));
    }
  }
  if (r.cpu) {
    auto& c = *r.cpu;
    if (c.shares && *c.shares != 0) {
      // The weight cgroupfs gets too (cgroup::shares_to_weight), so that both say the same.
      out.push_back(v2 ? prop("CPUWeight", "t", cgroup::shares_to_weight(*c.shares)) : prop("CPUShares", "t", *c.shares));
    }
    cpu_quota(c.quota, c.period, version, out);
    TRY(allowed_set("AllowedCPUs", c.cpus, "resources.CPU.Cpus", version, out));
    TRY(allowed_set("AllowedMemoryNodes", c.mems, "resources.CPU.Mems", version, out));
  }
  if (r.pids_limit && *r.pids_limit != 0) out.push_back(prop("TasksMax", "t", limit_value(*r.pids_limit)));
  if (const auto& b = r.block_io) {
    if (b->weight && *b->weight != 0) {
      out.push_back(v2 ? prop("IOWeight", "t", cgroup::blkio_weight_to_io_weight(*b->weight)) : prop("BlockIOWeight", "t", *b->weight));
    }
    if (v2) {
      json weights = json::array();
      for (const auto& d : b->weight_devices) {
        if (d.weight) weights.push_back({block_device(d.major, d.minor), cgroup::blkio_weight_to_io_weight(*d.weight)});
      }
      if (!weights.empty()) out.push_back(prop("IODeviceWeight", "a(st)", weights));
      auto throttle = [&](const char* name, const std::vector<spec::ThrottleDevice>& ts) {
        json a = json::array();
        for (const auto& t : ts) a.push_back({block_device(t.major, t.minor), t.rate});
        if (!a.empty()) out.push_back(prop(name, "a(st)", a));
      };
      throttle("IOReadBandwidthMax", b->read_bps);
      throttle("IOWriteBandwidthMax", b->write_bps);
      throttle("IOReadIOPSMax", b->read_iops);
      throttle("IOWriteIOPSMax", b->write_iops);
    }
  }
  for (auto& [key, value] : r.unified) {
    if (key.find('/') != std::string::npos) return fail("unified resource \"" + key + "\" must be a file name (no slashes)");
    if (key.find('.') == std::string::npos || key[0] == '.') {
      return fail("unified resource \"" + key + "\" must be in the form CONTROLLER.PARAMETER");
    }
    static const std::map<std::string, std::string> kMemory = {
        {"memory.high", "MemoryHigh"}, {"memory.low", "MemoryLow"}, {"memory.min", "MemoryMin"},
        {"memory.max", "MemoryMax"},   {"memory.swap.max", "MemorySwapMax"}, {"pids.max", "TasksMax"},
        {"cpu.weight", "CPUWeight"}};
    if (auto it = kMemory.find(key); it != kMemory.end()) {
      out.push_back(prop(it->second, "t", TRY(unified_number(key, value))));
    } else if (key == "cpuset.cpus" || key == "cpuset.mems") {
      TRY(allowed_set(key == "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes", value, "unified." + key, version, out));
    }
    // Anything else goes to cgroupfs only.
  }
  return out;
}

Result<std::vector<uint8_t>> cpuset_bits(const std::string& list) {
  if (list.empty()) return fail("empty value");
  std::vector<uint8_t> bits;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string part = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t dash = part.find('-');
    auto number = [](const std::string& s) -> std::optional<unsigned> {
      if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
      return static_cast<unsigned>(std::stoul(s));
    };
    auto lo = number(part.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : number(part.substr(dash + 1));
    if (!lo || !hi) return fail("invalid value: \"" + part + "\"");
    if (*lo > *hi) return fail("invalid range: " + part);
    for (unsigned c = *lo; c <= *hi; ++c) {
      if (bits.size() <= c / 8) bits.resize(c / 8 + 1, 0);
      bits[c / 8] |= static_cast<uint8_t>(1u << (c % 8));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return bits;
}

namespace {

// A small reader of GVariant text: the forms runc's annotations take.
class GVariantText {
 public:
  explicit GVariantText(const std::string& t) : t_(t) {}

  Result<std::pair<std::string, json>> value() {
    skip();
    if (at('@')) {  // a type annotation: "@as []", "@t 5"
      ++i_;
      std::string sig;
      while (i_ < t_.size() && !std::isspace(static_cast<unsigned char>(t_[i_]))) sig += t_[i_++];
      auto v = TRY(value_of(sig));
      return std::make_pair(sig, v);
    }
    static const std::map<std::string, std::string> kTypes = {
        {"byte", "y"},   {"int16", "n"},  {"uint16", "q"}, {"int32", "i"},  {"uint32", "u"},
        {"int64", "x"},  {"uint64", "t"}, {"double", "d"}, {"boolean", "b"}, {"string", "s"}};
    size_t save = i_;
    std::string word;
    while (i_ < t_.size() && std::isalnum(static_cast<unsigned char>(t_[i_]))) word += t_[i_++];
    if (auto it = kTypes.find(word); it != kTypes.end()) {
      auto v = TRY(value_of(it->second));
      return std::make_pair(it->second, v);
    }
    i_ = save;
    return untyped();
  }

  bool done() {
    skip();
    return i_ == t_.size();
  }

 private:
  void skip() {
    while (i_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[i_]))) ++i_;
  }
  bool at(char c) const { return i_ < t_.size() && t_[i_] == c; }

  Result<json> value_of(const std::string& sig) {
    auto [got, v] = TRY(untyped(sig));
    if (got == sig) return v;
    bool numeric = sig.size() == 1 && std::string("ynqiuxtd").find(sig[0]) != std::string::npos;
    bool got_numeric = got == "i" || got == "x" || got == "t" || got == "d";
    if (numeric && got_numeric) {
      if (sig != "d" && !v.is_number_integer()) return fail("not an integer");
      if (sig != "d" && sig != "x" && sig != "i" && sig != "n" && v.is_number_integer() && v.get<int64_t>() < 0) {
        return fail("a negative value for an unsigned type");
      }
      return v;
    }
    if (sig[0] == 'a' && got == "a") return v;  // an empty array, typed by the annotation
    return fail("a value of type " + got + " where " + sig + " was given");
  }

  // A literal; `want` helps an empty array.
  Result<std::pair<std::string, json>> untyped(const std::string& want = "") {
    skip();
    if (at('\'') || at('"')) {
      char q = t_[i_++];
      std::string s;
      while (i_ < t_.size() && t_[i_] != q) {
        if (t_[i_] == '\\' && i_ + 1 < t_.size()) ++i_;
        s += t_[i_++];
      }
      if (!at(q)) return fail("unterminated string");
      ++i_;
      return std::make_pair(std::string("s"), json(s));
    }
    if (at('[')) {
      ++i_;
      json a = json::array();
      std::string elem;
      skip();
      while (!at(']')) {
        auto [sig, v] = TRY(value());
        if (!elem.empty() && sig != elem) return fail("an array of mixed types");
        elem = sig;
        a.push_back(v);
        skip();
        if (at(',')) {
          ++i_;
          skip();
        } else if (!at(']')) {
          return fail("expected ',' or ']'");
        }
      }
      ++i_;
      if (elem.empty()) return std::make_pair(want.empty() ? std::string("a") : want, a);
      return std::make_pair("a" + elem, a);
    }
    std::string word;
    while (i_ < t_.size() && !std::isspace(static_cast<unsigned char>(t_[i_])) && t_[i_] != ',' && t_[i_] != ']') {
      word += t_[i_++];
    }
    if (word == "true" || word == "false") return std::make_pair(std::string("b"), json(word == "true"));
    if (word.empty()) return fail("a value is missing");
    char* end = nullptr;
    errno = 0;
    if (word.find_first_of(".eE") == std::string::npos) {
      long long v = std::strtoll(word.c_str(), &end, 0);
      if (*end != '\0' || errno != 0) {
        unsigned long long u = std::strtoull(word.c_str(), &end, 0);
        if (*end != '\0' || errno != 0 || word[0] == '-') return fail("\"" + word + "\" is not a value");
        return std::make_pair(std::string("t"), json(u));
      }
      // An integer literal is an int32, as GLib reads it.
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
        return std::make_pair(std::string("x"), json(v));
      }
      return std::make_pair(std::string("i"), json(v));
    }
    double d = std::strtod(word.c_str(), &end);
    if (*end != '\0' || !std::isfinite(d)) return fail("\"" + word + "\" is not a value");
    return std::make_pair(std::string("d"), json(d));
  }

  const std::string& t_;
  size_t i_ = 0;
};

}  // namespace

Result<Property> parse_gvariant(const std::string& name, const std::string& text) {
  GVariantText p(text);
  auto v = p.value();
  if (v && !p.done()) v = fail("text after the value");
  if (!v) return fail(std::move(v.error()));
  return Property{name, v->first, v->second.dump()};
}

Result<std::vector<Property>> annotation_properties(const std::map<std::string, std::string>& annotations) {
  static const std::string kPrefix = "org.systemd.property.";
  std::vector<Property> out;
  for (const auto& [key, value] : annotations) {
    if (!key.starts_with(kPrefix)) continue;
    std::string name = key.substr(kPrefix.size());
    if (name.size() < 3) return fail("annotation " + key + " name incorrect: too short");
    for (char c : name) {
      if (!std::isalpha(static_cast<unsigned char>(c))) {
        return fail("annotation " + key + " name incorrect: contains non-alphabetic character");
      }
    }
    auto p = parse_gvariant(name, value);
    if (!p) return fail("annotation " + key + "=" + value + " value parse error: " + p.error().what());
    // "...Sec" (after a lower-case letter) is systemd's seconds form of a "...USec" property.
    if (name.size() > 3 && name.ends_with("Sec") && std::islower(static_cast<unsigned char>(name[name.size() - 4]))) {
      if (p->signature.size() != 1 || std::string("ynqiuxtd").find(p->signature) == std::string::npos) {
        return fail("annotation " + key + "=" + value + " value parse error: not a number");
      }
      double seconds = json::parse(p->value).get<double>();
      if (seconds < 0) return fail("annotation " + key + "=" + value + " value parse error: negative");
      p = Property{name.substr(0, name.size() - 3) + "USec", "t",
                   json(static_cast<uint64_t>(std::llround(seconds * 1e6))).dump()};
    }
    out.push_back(*p);
  }
  return out;
}

}  // namespace nsbox::systemd
