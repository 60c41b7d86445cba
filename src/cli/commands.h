// The verb table: each verb parses its own flags and calls runtime/.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "runtime/container.h"

namespace nsbox::cli {

struct Command {
  const char* name;
  const char* usage;    // "create [command options] <container-id>"
  const char* summary;  // one line for --help
  const char* description;             // a paragraph for the command's --help
  const std::vector<FlagSpec>* flags;  // what the command's parser accepts and its help lists
  int (*run)(const runtime::Globals& g, const std::vector<std::string>& args);
};

const std::vector<Command>& commands();
// A verb's failure: the error as one log line; the exit status 1.
int report(const Error& e);
const Command* find_command(const std::string& name);  // nullptr if there is none
// `nsbox CMD --help`: usage line, NAME, DESCRIPTION and OPTIONS from the command's flag table.
std::string help_text(const Command& c);

}  // namespace nsbox::cli
