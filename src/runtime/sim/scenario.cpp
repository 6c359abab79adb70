#include "runtime/sim/scenario.h"

#include <cstdio>
#include <sstream>

namespace guts::runtime::sim {

SeedResult run_seed(uint64_t seed, const RunOptions& ro) {
  const bool verbose = ro.verbose, ledger_core = ro.ledger_core;
  Rng r(seed ^ 0x243f6a8885a308d3ull);
  static const uint32_t kSizes[] = {3, 4, 4, 5};
  Options o;
  o.seed = seed;
  o.ledger_core = ledger_core;
  o.disk = ro.disk;
  o.reopen_db = ro.reopen_db;
  o.n = kSizes[r.uniform(4)];
  o.link.latency = 5 + r.uniform(60);
  o.link.jitter = r.uniform(o.link.latency / 2 + 1);
  std::ostringstream d;
  d << (ledger_core ? "ledger-core" : "direct") << " n=" << o.n << " latency=" << o.link.latency
    << "±" << o.link.jitter;
  if (consensus::max_faults(o.n) >= 1 && r.chance(0.7)) {
    static const Behavior kBehaviors[] = {Behavior::kEquivocator, Behavior::kConflicter,
                                          Behavior::kWithholder, Behavior::kCorrupter,
                                          Behavior::kForger};
    uint32_t b = static_cast<uint32_t>(r.uniform(o.n));
    o.byzantine[b] = kBehaviors[r.uniform(5)];
    d << " byzantine=" << b << ":" << behavior_name(o.byzantine[b]);
  }
  Cluster s(o);
  s.start_all();
  auto log = [&](const char* what) {
    if (verbose) std::fprintf(stderr, "%-10s %s\n", what, s.describe_nodes().c_str());
  };

  // Chaos phase.
  Time chaos_end = 3000 + r.uniform(4000);
  s.set_random_crash(r.chance(0.5) ? 0.0005 : 0);
  while (s.now() < chaos_end && s.violations().empty()) {
    s.run_for(100 + r.uniform(900));
    log("");
    switch (r.uniform(8)) {
      case 0: {
        std::vector<std::vector<uint32_t>> g(2);
        for (uint32_t i = 0; i < o.n; ++i) g[r.uniform(2)].push_back(i);
        s.partition(g);
        d << " | t=" << s.now() << " partition";
        break;
      }
      case 1:
        s.heal();
        d << " | t=" << s.now() << " heal";
        break;
      case 2: {
        Link l = o.link;
        l.success = 0.6 + 0.4 * r.unit();
        l.jitter = r.uniform(l.latency + 1);
        s.set_all_links(l);
        d << " | t=" << s.now() << " lossy";
        break;
      }
      case 3: {
        uint32_t i = static_cast<uint32_t>(r.uniform(o.n));
        bool torn = r.chance(0.5), lose = r.chance(0.4);
        s.crash(i, torn, lose);
        d << " | t=" << s.now() << " crash " << i << (torn ? " torn" : "")
          << (lose ? " lose-batch" : "");
        break;
      }
      case 4: {
        uint32_t i = static_cast<uint32_t>(r.uniform(o.n));
        s.crash_on_next_write(i);
        d << " | t=" << s.now() << " crash-mid-write " << i;
        break;
      }
      case 5:
      case 6:
        s.restart_all();
        d << " | t=" << s.now() << " restart";
        break;
      case 7:
        if (r.chance(0.3)) {
          for (uint32_t i = 0; i < o.n; ++i) s.crash(i, true, r.chance(0.3));
          s.restart_all();
          d << " | t=" << s.now() << " cluster-crash";
        }
        break;
    }
  }

  // Heal: clean links, everyone up, clients stop after a while; honest nodes must converge.
  s.set_random_crash(0);
  s.cancel_pending_crashes();
  s.heal();
  s.restart_all();
  uint64_t base = s.max_height();
  d << " | t=" << s.now() << " heal-all (height " << base << ")";
  // Clients keep pushing until the agreed history grew (the ledger makes no empty blocks),
  // then stop so the nodes can drain.
  bool live = false;
  for (Time end = s.now() + 30000; s.now() < end && s.violations().empty();) {
    s.run_for(250);
    log("healed");
    if (s.max_height() > base) s.set_clients(false);
    if (s.max_height() > base && s.converged()) {
      live = true;
      break;
    }
  }
  if (live) s.check_final();

  SeedResult res;
  res.description = d.str();
  res.trace_hash = s.trace_hash();
  res.height = s.max_height();
  res.stats = s.stats();
  if (!s.violations().empty()) {
    res.ok = false;
    res.failure = s.violations().front();
  } else if (!live) {
    res.ok = false;
    res.failure = "liveness: not converged 30 s after healing: " + s.describe_nodes() +
                  " agreed height " + std::to_string(s.max_height()) + " (needed " +
                  std::to_string(base + 1) + "); proposals " + std::to_string(s.stats().proposals) +
                  ", none " + std::to_string(s.stats().no_proposals) + ", verified ok " +
                  std::to_string(s.stats().verified_ok) + ", bad " +
                  std::to_string(s.stats().verified_bad);
  }
  return res;
}

}  // namespace guts::runtime::sim
