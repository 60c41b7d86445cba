// The verb table: each verb parses its own flags and calls runtime/.
#pragma once

#include <string>
#include <vector>

#include "runtime/container.h"

namespace nsbox::cli {

struct Command {
  const char* name;
  const char* usage;    // "create [command options] <container-id>"
  const char* summary;  // one line for --help
  int (*run)(const runtime::Globals& g, const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

}  // namespace nsbox::cli
