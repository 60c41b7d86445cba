#include "cli/args.h"

namespace nsbox::cli {

std::string flag_synopsis(const FlagSpec& f) {
  std::string out;
  for (bool short_names : {true, false}) {
    for (const auto& n : f.names) {
      if ((n.size() == 1) != short_names) continue;
      out += (out.empty() ? "" : ", ") + std::string(n.size() == 1 ? "-" : "--") + n;
    }
  }
  if (f.takes_value) out += " " + (f.value_name.empty() ? std::string("VALUE") : f.value_name);
  return out;
}

Result<Parsed> parse(const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs,
                     bool interspersed) {
  Parsed p;
  size_t i = 0;
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      if (!interspersed) break;
      p.args.push_back(a);
      continue;
    }
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::string name = body, value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs) {
      for (const auto& n : s.names) {
        if (n == name) spec = &s;
      }
    }
    if (spec == nullptr) return fail("flag provided but not defined: -" + name);
    if (spec->takes_value) {
      if (!has_value) {
        if (i + 1 >= argv.size()) return fail("flag needs an argument: -" + name);
        value = argv[++i];
      }
    } else if (!has_value) {
      value = "true";
    } else if (value != "true" && value != "false" && value != "1" && value != "0") {
      return fail("invalid boolean value \"" + value + "\" for -" + name);
    } else {
      value = (value == "1" || value == "true") ? "true" : "false";
    }
    p.values[spec->names[0]].push_back(value);
  }
  for (; i < argv.size(); ++i) p.args.push_back(argv[i]);
  return p;
}

}  // namespace nsbox::cli
