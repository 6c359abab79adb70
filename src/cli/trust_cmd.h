// guts verify, guts network trust|nodes: verified clones (verify_cmd.cpp; docs/verify.md). Its
// own header rather than cli/commands.h, which every command file includes.
#pragma once

#include "cli/commands.h"

namespace guts::cli {

// After add_network_commands (adds `trust` and `nodes` to `guts network`).
void add_trust_commands(CLI::App& app, ContextFn ctx);

}  // namespace guts::cli
