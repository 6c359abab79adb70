// git-remote-guts: `git clone guts://OWNER/REPO` trusting the genesis, not a node
// (gitremote-helpers(7); docs/verify.md "The guts:// remote").
//
// Design (the simplest robust one): git runs `git-remote-guts <remote> guts://OWNER/REPO` in
// the repository being fetched into and speaks the helper protocol on stdin/stdout.
//   list      for each node (GUTS_NODES, then `guts network nodes add`), in order: fetch and
//             verify the proof of OWNER/REPO against the trusted genesis (verify/verify.h);
//             `git fetch` the node's smart HTTP into a private namespace of this repository
//             (refs/guts-verify/*; git's own connectivity check runs on the received pack);
//             compare every fetched ref with the proven one and walk every object reachable
//             from them (rev-list --objects --missing=error). Any failure — node down, proof
//             rejected, a ref that differs, an object missing — drops the namespace and tries
//             the next node. On success the answer is the proven refs (never the node's).
//   fetch     the objects are already here (from list): nothing to do.
//   push      `git push --porcelain` to the first node that answers; a Guts node answers a push
//             only once its ref update is final, so "ok" means final.
// A rejected node leaves no ref behind; the objects it sent stay unreferenced until gc.
// Rollback: the highest finalized height verified for OWNER/REPO is kept in this repository's
// git config (`guts.OWNER/REPO.verifiedheight`); a node whose proof is older is rejected like
// a lying one (a stale or rolled-back node cannot make a clone go back in time).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/trust.h"
#include "core/status.h"
#include "git/process.h"

using namespace guts;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kNamespace = "refs/guts-verify/";

// As the guts CLI (cli/context.cpp): GUTS_HOME, XDG_CONFIG_HOME/guts, ~/.config/guts.
fs::path home_dir() {
  if (const char* h = std::getenv("GUTS_HOME"); h && *h) return h;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) return fs::path(x) / "guts";
  const char* h = std::getenv("HOME");
  return fs::path(h ? h : ".") / ".config" / "guts";
}

void log(const std::string& msg) {
  std::cerr << "guts: " << msg << "\n";
}

// git in the repository being fetched into, with the user's own environment and configuration
// (credential helpers, proxies): not run_git, which isolates git from the user's config.
git::GitResult git_in(const fs::path& git_dir, const std::vector<std::string>& args) {
  git::ProcessOptions o;
  o.argv = {"git", "--git-dir=" + git_dir.string()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.timeout = std::chrono::minutes(30);
  o.capture_stdin = false;
  auto p = git::Process::spawn(o);
  git::GitResult r;
  r.exit = p.pump({}, git::sink_to(r.out), git::sink_to(r.err));
  return r;
}

void drop_namespace(const fs::path& git_dir) {
  auto refs = cli::git_refs(git_dir, std::string(kNamespace));
  std::string in;
  for (const auto& [ref, oid] : refs) in += "delete " + ref + "\n";
  if (in.empty()) return;
  std::vector<std::string> args{"--git-dir=" + git_dir.string(), "update-ref", "--stdin"};
  git::run_git(args, {}, in);
}

// The git config key that remembers the newest height verified for `r` in this repository.
std::string height_key(const cli::RemoteRepo& r) {
  return "guts." + r.owner + "/" + r.name + ".verifiedheight";
}

uint64_t verified_height(const fs::path& git_dir, const cli::RemoteRepo& r) {
  auto got = git_in(git_dir, {"config", "--get", height_key(r)});
  if (!got.ok()) return 0;  // never verified here
  uint64_t h = 0;
  for (char c : got.out) {
    if (c == '\n') break;
    if (c < '0' || c > '9' || h > (UINT64_MAX - 9) / 10) return 0;  // not ours: ignore it
    h = h * 10 + static_cast<uint64_t>(c - '0');
  }
  return h;
}

void remember_height(const fs::path& git_dir, const cli::RemoteRepo& r, uint64_t height) {
  if (height <= verified_height(git_dir, r)) return;
  auto set = git_in(git_dir, {"config", height_key(r), std::to_string(height)});
  if (!set.ok()) log("could not record the verified height: " + set.err);
}

struct Fetched {
  std::string node;
  verify::VerifiedRepo repo;
};

// Tries one node; throws guts::Error saying why it was rejected.
Fetched try_node(const std::string& node, const verify::TrustAnchor& anchor,
                 const cli::RemoteRepo& r, const fs::path& git_dir, uint64_t min_height) {
  auto got = cli::fetch_verified(node, anchor, r.owner, r.name);
  if (got.height < min_height)
    throw Error(Code::kFailedPrecondition,
                node + " answered finalized height " + std::to_string(got.height) +
                    ", older than height " + std::to_string(min_height) +
                    " already verified for this repository (a stale or rolled-back node)");
  if (!got.repo)
    throw Error(Code::kNotFound, r.owner + "/" + r.name + " does not exist at finalized height " +
                                     std::to_string(got.height));
  std::string url = node + "/" + r.owner + "/" + r.name + ".git";
  auto f = git_in(git_dir, {"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", url,
                            "+refs/heads/*:" + std::string(kNamespace) + "heads/*",
                            "+refs/tags/*:" + std::string(kNamespace) + "tags/*"});
  if (!f.ok()) throw Error(Code::kUnavailable, "git fetch from " + node + " failed: " + f.err);
  auto fetched = cli::git_refs(git_dir, std::string(kNamespace));
  std::vector<std::string> oids;
  for (const auto& [ref, target] : got.repo->refs) {
    if (!ref.starts_with("refs/heads/") && !ref.starts_with("refs/tags/")) continue;
    auto it = fetched.find(std::string(kNamespace) + ref.substr(5));
    std::string want = hex_encode(target);
    if (it == fetched.end())
      throw Error(Code::kInvalidArgument,
                  node + " did not serve " + ref + " (finalized: " + want + ")");
    if (it->second != want)
      throw Error(Code::kInvalidArgument, node + " served " + ref + " at " + it->second +
                                              ", the finalized state has " + want);
    oids.push_back(want);
  }
  if (fetched.size() != oids.size())
    throw Error(Code::kInvalidArgument, node + " served refs that are not in the finalized state");
  auto missing = cli::check_reachable(git_dir, oids);
  if (!missing.empty()) throw Error(Code::kInvalidArgument, node + ": " + missing);
  return {node, std::move(got)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: git-remote-guts <remote> guts://OWNER/REPO (run by git)\n";
    return 2;
  }
  const char* gd = std::getenv("GIT_DIR");
  fs::path git_dir = gd ? gd : ".git";
  try {
    auto remote = cli::parse_remote_url(argv[2]);
    if (!remote || !remote->node.empty())
      throw Error(Code::kInvalidArgument, std::string("not a guts://OWNER/REPO URL: ") + argv[2]);
    auto home = home_dir();
    auto nodes = cli::configured_nodes(home);
    if (nodes.empty())
      throw Error(Code::kFailedPrecondition,
                  "no nodes configured: `guts network nodes add URL` or GUTS_NODES=URL,...");
    std::optional<Fetched> done;
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "capabilities") {
        std::cout << "fetch\npush\n\n" << std::flush;
      } else if (line == "list" || line == "list for-push") {
        if (line == "list for-push") {
          // The node checks the push; list what the first answering node says is final.
          for (const auto& n : nodes) {
            try {
              auto got =
                  cli::fetch_verified(n, cli::load_trust_anchor(home), remote->owner, remote->name);
              if (got.repo)
                for (const auto& [ref, t] : got.repo->refs)
                  std::cout << hex_encode(t) << " " << ref << "\n";
              break;
            } catch (const Error& e) {
              log(e.status().message());
            }
          }
          std::cout << "\n" << std::flush;
          continue;
        }
        auto anchor = cli::load_trust_anchor(home);
        const uint64_t min_height = verified_height(git_dir, *remote);
        for (const auto& n : nodes) {
          try {
            done = try_node(n, anchor, *remote, git_dir, min_height);
            break;
          } catch (const Error& e) {
            log("rejected " + n + ": " + e.status().message());
            drop_namespace(git_dir);
          }
        }
        if (!done)
          throw Error(Code::kUnavailable,
                      "no node served a verifiable " + remote->owner + "/" + remote->name);
        drop_namespace(git_dir);
        remember_height(git_dir, *remote, done->repo.height);
        log("verified " + remote->owner + "/" + remote->name + " at finalized height " +
            std::to_string(done->repo.height) + " via " + done->node);
        const auto& st = *done->repo.repo;
        bool has_default = false;
        for (const auto& [ref, t] : st.refs) {
          if (!ref.starts_with("refs/heads/") && !ref.starts_with("refs/tags/")) continue;
          std::cout << hex_encode(t) << " " << ref << "\n";
          if (ref == "refs/heads/" + st.default_branch) has_default = true;
        }
        if (has_default) std::cout << "@refs/heads/" << st.default_branch << " HEAD\n";
        std::cout << "\n" << std::flush;
      } else if (line.starts_with("fetch ")) {
        // Objects are already here (list fetched and verified them); consume the batch.
        while (std::getline(std::cin, line) && !line.empty()) {
        }
        std::cout << "\n" << std::flush;
      } else if (line.starts_with("push ")) {
        std::vector<std::string> specs{line.substr(5)};
        while (std::getline(std::cin, line) && !line.empty())
          if (line.starts_with("push ")) specs.push_back(line.substr(5));
        std::string answer;
        for (const auto& n : nodes) {
          std::vector<std::string> args{"push", "--porcelain",
                                        n + "/" + remote->owner + "/" + remote->name + ".git"};
          args.insert(args.end(), specs.begin(), specs.end());
          auto r = git_in(git_dir, args);
          if (r.out.find("Done") == std::string::npos && !r.ok()) {
            log("push via " + n + " failed: " + r.err);
            continue;
          }
          // --porcelain lines: "<flag>\t<src>:<dst>\t<summary>"; flag '!' is a rejection.
          std::stringstream ss(r.out);
          std::string l;
          while (std::getline(ss, l)) {
            if (l.size() < 3 || l[1] != '\t') continue;
            auto tab = l.find('\t', 2);
            auto spec = l.substr(2, tab == std::string::npos ? std::string::npos : tab - 2);
            auto dst = spec.substr(spec.find(':') + 1);
            if (l[0] == '!')
              answer += "error " + dst + " " +
                        (tab == std::string::npos ? "rejected" : l.substr(tab + 1)) + "\n";
            else
              answer += "ok " + dst + "\n";
          }
          break;
        }
        if (answer.empty()) throw Error(Code::kUnavailable, "no node accepted the push");
        std::cout << answer << "\n" << std::flush;
      } else if (line.empty()) {
        break;
      } else {
        throw Error(Code::kInvalidArgument, "unsupported remote-helper command: " + line);
      }
    }
  } catch (const Error& e) {
    log(e.status().message());
    return 1;
  }
  return 0;
}
