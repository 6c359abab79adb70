// Verified clones (docs/verify.md):
//   guts network trust GENESIS.json    trust this network's genesis (its validator set)
//   guts network nodes add|remove URL  the nodes git-remote-guts and `guts verify` try
//   guts network nodes list
//   guts verify [--node URL] [PATH]    checks an existing clone: the node's proof of the
//       repository's refs against the trusted genesis, then that every remote-tracking ref
//       (refs/remotes/origin/*) and every tag the state names matches the finalized state, and
//       that every object reachable from the finalized refs is present. Names each ref that
//       differs; exit 1 when anything does.
#include <iostream>

#include "cli/trust.h"
#include "cli/trust_cmd.h"
#include "core/status.h"
#include "git/process.h"
#include "state/genesis.h"

namespace guts::cli {

namespace {

namespace fs = std::filesystem;

void network_trust(const fs::path& file, Context& ctx) {
  auto g = state::Genesis::load(file);
  fs::create_directories(ctx.options().home);
  g.save(trusted_genesis_path(ctx.options().home));
  ctx.print({{"chain_id", g.chain_id},
             {"genesis_id", hex_encode(g.id())},
             {"validators", g.validators.size()}},
            "Trusting chain " + g.chain_id + " (genesis " + hex_encode(g.id()).substr(0, 16) +
                "…, " + std::to_string(g.validators.size()) + " validators)");
}

struct VerifyOptions {
  std::string node;
  fs::path path = ".";
  std::string remote = "origin";
};

void verify_clone(const VerifyOptions& o, Context& ctx) {
  auto anchor = load_trust_anchor(ctx.options().home);
  git::GitOptions go;
  go.cwd = o.path;
  auto url = git::run_git({"config", "--get", "remote." + o.remote + ".url"}, go);
  if (!url.ok())
    throw Error(Code::kInvalidArgument,
                o.path.string() + " is not a clone with a remote '" + o.remote + "'");
  std::string remote_url = url.out.substr(0, url.out.find('\n'));
  auto remote = parse_remote_url(remote_url);
  if (!remote)
    throw Error(Code::kInvalidArgument,
                "remote " + o.remote + " (" + remote_url + ") is not a Guts repository URL");
  std::vector<std::string> nodes;
  if (!o.node.empty()) nodes.push_back(o.node);
  if (nodes.empty() && !remote->node.empty()) nodes.push_back(remote->node);
  if (nodes.empty()) nodes = configured_nodes(ctx.options().home);
  if (nodes.empty()) nodes.push_back(ctx.node_url());
  std::string token;
  if (auto l = ctx.login(); l && l->contains("token") && nodes[0] == ctx.node_url())
    token = (*l)["token"].get<std::string>();
  auto got = fetch_verified(nodes[0], anchor, remote->owner, remote->name, token);
  std::string at = "height " + std::to_string(got.height);
  if (!got.repo)
    throw Error(Code::kNotFound, remote->owner + "/" + remote->name +
                                     " does not exist in the finalized state at " + at);

  std::map<std::string, std::string> proven;
  for (const auto& [ref, target] : got.repo->refs) proven[ref] = hex_encode(target);
  std::string tracking = "refs/remotes/" + o.remote + "/";
  auto clone_branches = git_refs(o.path, tracking);
  auto clone_tags = git_refs(o.path, "refs/tags/");
  std::vector<std::string> problems;
  for (const auto& [local, oid] : clone_branches) {
    std::string branch = local.substr(tracking.size());
    if (branch == "HEAD") continue;
    std::string ref = "refs/heads/" + branch;
    auto it = proven.find(ref);
    if (it == proven.end())
      problems.push_back(ref + ": the clone has " + oid +
                         ", the finalized state has no such branch (" + at + ")");
    else if (it->second != oid)
      problems.push_back(ref + ": the clone has " + oid + ", the finalized state has " +
                         it->second + " (" + at + ")");
  }
  std::vector<std::string> oids;
  for (const auto& [ref, oid] : proven) {
    if (ref.starts_with("refs/heads/")) {
      if (!clone_branches.count(tracking + ref.substr(11)))
        problems.push_back(ref + ": missing from the clone (finalized: " + oid + ", " + at +
                           "; git fetch first?)");
      else
        oids.push_back(oid);
    } else if (ref.starts_with("refs/tags/")) {
      auto t = clone_tags.find(ref);
      if (t == clone_tags.end()) continue;  // a tag not fetched is not a wrong one
      if (t->second != oid)
        problems.push_back(ref + ": the clone has " + t->second + ", the finalized state has " +
                           oid + " (" + at + ")");
      else
        oids.push_back(oid);
    }
  }
  if (problems.empty()) {
    auto objects = check_reachable(o.path, oids);
    if (!objects.empty()) problems.push_back(objects);
  }
  json j{{"repository", remote->owner + "/" + remote->name},
         {"node", nodes[0]},
         {"height", got.height},
         {"block_id", hex_encode(got.block)},
         {"refs", proven.size()},
         {"ok", problems.empty()},
         {"problems", problems}};
  if (!problems.empty()) {
    if (ctx.options().json) std::cout << j.dump(2) << "\n";
    std::string msg = remote->owner + "/" + remote->name + " does not match the finalized state:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw Error(Code::kFailedPrecondition, msg);
  }
  ctx.print(j, remote->owner + "/" + remote->name + ": " + std::to_string(oids.size()) +
                   " refs match the finalized state at " + at + " (block " +
                   hex_encode(got.block).substr(0, 16) +
                   "…, certified by the trusted validators); every reachable object is present");
}

}  // namespace

void add_trust_commands(CLI::App& app, ContextFn ctx) {
  auto* network = app.get_subcommand("network");
  auto file = std::make_shared<fs::path>();
  auto* trust = network->add_subcommand(
      "trust", "Trust a network's genesis file: proofs are checked against its validators");
  trust->add_option("genesis", *file, "The network's genesis.json")->required();
  trust->callback([ctx, file] { network_trust(*file, ctx()); });

  auto* nodes = network->add_subcommand("nodes", "Nodes that git-remote-guts and verify try");
  nodes->require_subcommand(1);
  auto url = std::make_shared<std::string>();
  auto* add = nodes->add_subcommand("add", "Add a node URL");
  add->add_option("url", *url, "http(s)://host:port")->required();
  add->callback([ctx, url] {
    auto home = ctx().options().home;
    auto list = configured_nodes(home);
    if (std::find(list.begin(), list.end(), *url) == list.end()) list.push_back(*url);
    save_nodes(home, list);
  });
  auto* remove = nodes->add_subcommand("remove", "Remove a node URL");
  remove->add_option("url", *url, "http(s)://host:port")->required();
  remove->callback([ctx, url] {
    auto home = ctx().options().home;
    auto list = configured_nodes(home);
    std::erase(list, *url);
    save_nodes(home, list);
  });
  auto* list = nodes->add_subcommand("list", "List the node URLs (GUTS_NODES first)");
  list->callback([ctx] {
    auto l = configured_nodes(ctx().options().home);
    std::string human;
    for (const auto& u : l) human += u + "\n";
    ctx().print(json{{"nodes", l}},
                human.empty() ? "(no nodes)" : human.substr(0, human.size() - 1));
  });

  auto vo = std::make_shared<VerifyOptions>();
  auto* v = app.add_subcommand(
      "verify", "Check a clone against the finalized state, trusting only the genesis");
  v->add_option("path", vo->path, "The clone (default: the current directory)");
  v->add_option("--node", vo->node, "The node to ask for the proof (default: the remote's)");
  v->add_option("--remote", vo->remote, "The remote to check")->capture_default_str();
  v->callback([ctx, vo] { verify_clone(*vo, ctx()); });
}

}  // namespace guts::cli
