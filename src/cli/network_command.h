// `nsbox network`: make, list, show and remove nsbox's own networks; CNI's CHECK.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "runtime/container.h"

namespace nsbox::cli {

extern const std::vector<FlagSpec> kNetworkFlags;
// `self`: the command's entry in commands(), for its --help.
int cmd_network(const runtime::Globals& g, const std::vector<std::string>& args, const Command& self);

}  // namespace nsbox::cli
