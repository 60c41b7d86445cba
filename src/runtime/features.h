// `nsbox features`: the runtime-spec features document, built from the same tables the
// config parser and the runtime use, so that it says exactly what this build supports.
#pragma once

#include <string>

namespace nsbox::runtime {

std::string features_json();

}  // namespace nsbox::runtime
