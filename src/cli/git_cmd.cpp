// git integration of the CLI:
//   guts repo clone OWNER/REPO [DIR]   git clone from the node, with this CLI as the clone's
//                                      credential helper for the node's URL
//   guts credential get|store|erase    git's credential-helper protocol (gitcredentials(7)):
//                                      answers username + token for a node you logged in to
//
// Any repository can use the helper:
//   git config --global credential.http://127.0.0.1:8080.helper '!guts credential'
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

std::string self_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "guts";
  return std::string(buf, static_cast<size_t>(n));
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// The URL git's credential request is about, in the form logins are saved under
// ("http://host:port"), or empty.
std::string request_url(const std::map<std::string, std::string>& attrs) {
  auto it = attrs.find("url");
  if (it != attrs.end()) {
    // url=http://user@host:port/path -> http://host:port
    auto s = it->second;
    auto scheme = s.find("://");
    if (scheme == std::string::npos) return {};
    auto rest = s.substr(scheme + 3);
    auto slash = rest.find('/');
    if (slash != std::string::npos) rest.resize(slash);
    auto at = rest.rfind('@');
    if (at != std::string::npos) rest = rest.substr(at + 1);
    return s.substr(0, scheme) + "://" + rest;
  }
  auto p = attrs.find("protocol"), h = attrs.find("host");
  if (p == attrs.end() || h == attrs.end()) return {};
  return p->second + "://" + h->second;
}

}  // namespace

void add_git_commands(CLI::App& app, ContextFn ctx) {
  // ---- guts repo clone ----
  auto* repo = app.get_subcommand("repo");
  struct CloneArgs {
    std::string full_name, dir;
    std::vector<std::string> git_args;
  };
  auto ca = std::make_shared<CloneArgs>();
  auto* clone = repo->add_subcommand(
      "clone", "Clone a repository with git (this CLI answers git's credential requests)");
  clone->add_option("repository", ca->full_name, "OWNER/REPO")->required();
  clone->add_option("directory", ca->dir, "Directory to clone into");
  clone->add_option("--git-arg", ca->git_args,
                    "Extra argument for git clone (repeatable), e.g. --git-arg=--depth=1");
  clone->callback([ctx, ca] {
    auto& c = ctx();
    auto slash = ca->full_name.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == ca->full_name.size() ||
        ca->full_name.find('/', slash + 1) != std::string::npos)
      throw Error(Code::kInvalidArgument, "expected OWNER/REPO, got '" + ca->full_name + "'");
    std::string name = ca->full_name.substr(slash + 1);
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".git") == 0)
      name.resize(name.size() - 4);
    const std::string node = c.node_url();
    const std::string url = node + "/" + ca->full_name.substr(0, slash) + "/" + name + ".git";
    // The helper must find the same login: pin --home and --node in its command line.
    std::string helper = "!" + shell_quote(self_path()) + " --home " +
                         shell_quote(c.options().home.string()) + " --node " + shell_quote(node) +
                         " credential";
    std::vector<std::string> args{"git", "clone",
                                  // An empty value resets the helper list for this URL, so only
                                  // ours answers (and nothing stores the token elsewhere).
                                  "-c", "credential." + node + ".helper=", "-c",
                                  "credential." + node + ".helper=" + helper};
    // A node behind a private CA (GUTS_CA_FILE, as for the CLI's own requests).
    if (const char* ca = std::getenv("GUTS_CA_FILE"); ca && *ca)
      args.insert(args.end(), {"-c", "http." + node + "/.sslCAInfo=" + ca});
    args.insert(args.end(), ca->git_args.begin(), ca->git_args.end());
    args.push_back(url);
    args.push_back(ca->dir.empty() ? name : ca->dir);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::cout.flush();
    ::execvp("git", argv.data());
    throw Error(Code::kInternal, std::string("cannot run git: ") + std::strerror(errno));
  });

  // ---- guts credential ----
  auto* cred = app.add_subcommand(
      "credential", "git credential helper: git config credential.helper '!guts credential'");
  auto action = std::make_shared<std::string>();
  cred->add_option("action", *action, "get, store or erase (called by git)")->required();
  cred->callback([ctx, action] {
    std::map<std::string, std::string> attrs;
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.empty()) break;
      auto eq = line.find('=');
      if (eq != std::string::npos) attrs[line.substr(0, eq)] = line.substr(eq + 1);
    }
    // store/erase: the token belongs to `guts auth login`/`logout`; nothing to do.
    if (*action != "get") return;
    auto url = request_url(attrs);
    if (url.empty() || (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)) return;
    // Look the node up by the URL git asks about (not by --node: a helper configured globally
    // serves every node the user logged in to).
    Options o = ctx().options();
    o.node = url;
    Context c(o);
    auto login = c.login();
    if (!login || !login->contains("token")) return;  // unknown node: git asks elsewhere
    std::string user =
        login->contains("username") ? (*login)["username"].get<std::string>() : "guts";
    std::cout << "username=" << user << "\npassword=" << (*login)["token"].get<std::string>()
              << "\n";
  });
}

}  // namespace guts::cli
