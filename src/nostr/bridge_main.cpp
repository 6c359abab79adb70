// guts-nostr: the Guts ↔ Nostr bridge (docs/nostr.md).
//
//   guts-nostr --relay ws://relay.example --repo alice/hello [--repo …] [--node URL]
//              [--home DIR] [--key FILE] [--state-dir DIR] [--poll-interval SECONDS]
//
// It runs as the Guts user logged in with `guts auth login` (the token in --home) and signs
// with the Nostr key file that user bound (`guts nostr keygen`, `guts nostr bind`); it refuses
// to start with a key that is not bound to that user, and with a repository that user may
// write to (a dedicated user without write access keeps Nostr patches away from CI secrets:
// docs/nostr.md).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>

#include "cli/context.h"
#include "core/log.h"
#include "core/status.h"
#include "crypto/keyfile.h"
#include "nostr/bridge.h"
#include "nostr/nip19.h"

using namespace guts;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}

std::pair<std::string, std::string> parse_repo(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size() ||
      s.find('/', slash + 1) != std::string::npos)
    throw Error(Code::kInvalidArgument, "--repo: expected OWNER/NAME, got '" + s + "'");
  return {s.substr(0, slash), s.substr(slash + 1)};
}

int run(const cli::Options& copts, const std::string& key_file, nostr::BridgeOptions opt) {
  cli::Context c(copts);
  auto login = c.login();
  if (!login || !login->contains("token") || !login->contains("username"))
    throw Error(Code::kUnauthenticated,
                "not logged in to " + c.node_url() + ": run 'guts auth login' first");
  const std::string username = (*login)["username"].get<std::string>();
  auto key = crypto::load_schnorr_key_file(key_file.empty() ? c.options().home / "nostr.key"
                                                            : std::filesystem::path(key_file));
  const std::string npub = nostr::npub_encode(key.public_key());
  // The key must be bound to this user (kind 75): Nostr readers can then check who speaks.
  auto b = c.client().get("/api/guts/nostr/" + hex_encode(key.public_key()));
  auto j = nlohmann::json::parse(b.body, nullptr, false);
  if (b.status != 200 || !j.is_object() || !j["user"].is_object() ||
      j["user"].value("login", "") != username)
    throw Error(Code::kFailedPrecondition, "the Nostr key " + npub + " is not bound to " +
                                               username +
                                               " on this network: run 'guts nostr bind' first");
  opt.forge.node_url = c.node_url();
  opt.forge.username = username;
  opt.forge.token = (*login)["token"].get<std::string>();
  nostr::Bridge bridge(std::move(opt), std::move(key));
  bridge.run(g_stop);
  auto n = bridge.counters();
  spdlog::info(
      "nostr: stopped: {} published, {} acknowledged, {} received, {} rejected, {} imported",
      n.published, n.acknowledged, n.received, n.rejected,
      n.imported_issues + n.imported_pulls + n.imported_patches);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "guts-nostr: publishes Guts repositories to Nostr relays (NIP-34) and imports "
      "the patches and issues sent to them"};
  cli::Options copts;
  std::string key_file, state_dir = "guts-nostr", log_level = "info";
  std::vector<std::string> relays, repos;
  double poll_seconds = 30;
  size_t max_imports = 30;
  app.add_option("--node", copts.node, "Node URL (default: GUTS_NODE, the last login)");
  app.add_option("--home", copts.home, "Guts CLI home (login, keys; default ~/.config/guts)");
  app.add_option("--key", key_file, "Nostr key file (default: <home>/nostr.key)");
  app.add_option("--relay", relays, "Relay URL, ws:// or wss:// (repeatable)")->required();
  app.add_option("--repo", repos, "Repository to bridge, OWNER/NAME (repeatable)")->required();
  app.add_option("--state-dir", state_dir, "Record and git mirrors (default ./guts-nostr)");
  app.add_option("--poll-interval", poll_seconds, "Seconds between reads of the node (default 30)")
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--max-imports-per-hour", max_imports,
                 "Issues and patch series one Nostr key may open per hour (0: no bound; "
                 "default 30)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error (default info)");
  CLI11_PARSE(app, argc, argv);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  try {
    init_logging(log_level);
    nostr::BridgeOptions opt;
    opt.relays = relays;
    for (const auto& r : repos) opt.repos.push_back(parse_repo(r));
    opt.state_dir = state_dir;
    opt.poll_interval = std::chrono::milliseconds(static_cast<int64_t>(poll_seconds * 1000));
    opt.max_imports_per_hour = max_imports;
    return run(copts, key_file, std::move(opt));
  } catch (const Error& e) {
    std::cerr << "guts-nostr: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "guts-nostr: " << e.what() << "\n";
    return 1;
  }
}
