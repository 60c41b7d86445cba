// Command-line parsing with runc's rules (Go's flag package under urfave/cli):
// "-flag" and "--flag" are the same, values as "--flag value" or "--flag=value",
// booleans as "--flag" or "--flag=false", "--" ends the flags.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"

namespace nsbox::cli {

struct FlagSpec {
  std::vector<std::string> names;  // first is the canonical one: {"bundle", "b"}
  bool takes_value = false;
  std::string value_name = {};  // the value's placeholder in the help: "DIR"
  std::string help = {};        // one line for the command's --help
};

// "-b, --bundle DIR": the flag's names, short ones first, and its value placeholder.
std::string flag_synopsis(const FlagSpec& f);

struct Parsed {
  std::map<std::string, std::vector<std::string>> values;  // canonical name -> each occurrence
  std::vector<std::string> args;                            // positional arguments

  bool has(const std::string& f) const { return values.contains(f); }
  std::string get(const std::string& f, const std::string& def = {}) const {
    auto it = values.find(f);
    return it == values.end() ? def : it->second.back();
  }
  bool flag(const std::string& f) const { return has(f) && get(f) != "false"; }
};

// `interspersed`: flags may follow positional arguments (urfave/cli reorders them);
// otherwise parsing stops at the first positional argument.
Result<Parsed> parse(const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs,
                     bool interspersed);

}  // namespace nsbox::cli
