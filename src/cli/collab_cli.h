// Helpers shared by `guts issue`, `guts pr` and `guts repo fork` (issue_cmd.cpp): the
// repository a command works on, and short human formats.
#pragma once

#include <string>

#include "cli/context.h"

namespace guts::cli {

// OWNER/REPO from -R/--repo, else from the `origin` remote of the git repository in the current
// directory (".../OWNER/REPO(.git)"). Throws with advice when neither gives one.
std::string resolve_repo(const std::string& flag);
// "/api/v3/repos/OWNER/REPO" + suffix.
std::string repo_api(const std::string& full, const std::string& suffix = "");
// Runs git with the arguments in the current directory; throws with git's message on failure.
std::string run_git_here(const std::vector<std::string>& args);
// "#12  Title  (open)  label, label"
std::string issue_line(const json& issue);

}  // namespace guts::cli
