// guts node peers: the p2p peers of the node in effect (GET /api/guts/peers).
// guts node evidence: byzantine-validator evidence the node recorded (GET /api/guts/evidence).
#include <cstdio>
#include <memory>

#include "cli/commands.h"

namespace guts::cli {

namespace {

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

}  // namespace

void add_node_commands(CLI::App& app, ContextFn ctx) {
  auto* node = app.add_subcommand("node", "Inspect the node itself");
  node->require_subcommand(1);
  auto* peers = node->add_subcommand("peers", "List the node's connected peer-to-peer peers");
  peers->callback([ctx] {
    auto& c = ctx();
    auto r = c.expect(c.client().get("/api/guts/peers"));
    std::string human;
    if (!r.value("p2p", true)) {
      human = "peer-to-peer networking is not running on " + c.node_url();
    } else if (r["peers"].empty()) {
      human = "no connected peers";
    } else {
      human = pad("DID", 58) + pad("ADDRESS", 24) + pad("DIR", 5) + pad("LATENCY", 10) +
              pad("IN", 11) + "OUT";
      for (const auto& p : r["peers"]) {
        std::string latency = "-";
        if (p["latency_ms"].is_number()) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.1f ms", p["latency_ms"].get<double>());
          latency = buf;
        }
        human += "\n" + pad(p["did"].get<std::string>(), 58) +
                 pad(p["address"].get<std::string>(), 24) +
                 pad(p["direction"].get<std::string>() == "outbound" ? "out" : "in", 5) +
                 pad(latency, 10) + pad(human_bytes(p["bytes_in"].get<uint64_t>()), 11) +
                 human_bytes(p["bytes_out"].get<uint64_t>());
      }
      human += "\n" + std::to_string(r["peers"].size()) + " peer(s)";
    }
    c.print(r, human);
  });

  auto* evidence = node->add_subcommand(
      "evidence", "List the byzantine-validator evidence the node recorded (conflicting votes)");
  auto limit = std::make_shared<int>(100);
  evidence->add_option("--limit", *limit, "At most this many records, newest first")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  evidence->callback([ctx, limit] {
    auto& c = ctx();
    auto r = c.expect(c.client().get("/api/guts/evidence?limit=" + std::to_string(*limit)));
    std::string human;
    if (r["evidence"].empty()) {
      human = "no evidence recorded on " + c.node_url();
    } else {
      human = pad("SEQ", 6) + pad("VIEW", 10) + pad("KIND", 22) + pad("VERIFIED", 10) + "SIGNER";
      for (const auto& e : r["evidence"]) {
        std::string signer = e["signer"].is_string() ? e["signer"].get<std::string>()
                                                     : "#" + e["signer_index"].dump();
        human += "\n" + pad(e["seq"].dump(), 6) + pad(e["view"].dump(), 10) +
                 pad(e["kind"].get<std::string>(), 22) +
                 pad(e["verified"].get<bool>() ? "yes" : "NO", 10) + signer;
      }
      human += "\n" + r["count"].dump() + " record(s); the votes are in --json output";
    }
    c.print(r, human);
  });
}

}  // namespace guts::cli
