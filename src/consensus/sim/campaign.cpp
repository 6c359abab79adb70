#include "consensus/sim/campaign.h"

#include <cstdio>
#include <sstream>

#include "consensus/sim/sim.h"

namespace guts::consensus::sim {

namespace {
void dump(const Simulation& s, const std::string& what) {
  std::fprintf(stderr, "t=%llu %-16s", static_cast<unsigned long long>(s.now()), what.c_str());
  for (uint32_t i = 0; i < s.n(); ++i) {
    if (!s.up(i)) {
      std::fprintf(stderr, " [%u down]", i);
      continue;
    }
    std::fprintf(stderr, " [%u%s v=%llu f=%llu", i, s.honest(i) ? "" : "*",
                 static_cast<unsigned long long>(s.engine(i)->view()),
                 static_cast<unsigned long long>(s.last_finalized(i)));
    View floor = s.engine(i)->signing_floor();
    if (floor == kSignNothing) {
      std::fprintf(stderr, " floor=none");
    } else if (floor > 0) {
      std::fprintf(stderr, " floor=%llu", static_cast<unsigned long long>(floor));
    }
    std::fprintf(stderr, "]");
  }
  std::fprintf(stderr, "\n");
}
}  // namespace

CampaignResult run_campaign_seed(uint64_t seed, bool verbose) {
  Rng r(seed ^ 0x6a09e667f3bcc908ull);
  static const uint32_t kSizes[] = {1, 4, 4, 5, 7};
  Options o;
  o.seed = seed;
  o.n = kSizes[r.uniform(5)];
  o.link.latency = 10 + r.uniform(150);
  o.link.jitter = r.uniform(o.link.latency / 2 + 1);
  o.link.success = 1.0;
  std::ostringstream d;
  d << "n=" << o.n << " latency=" << o.link.latency << "±" << o.link.jitter;
  if (max_faults(o.n) >= 1 && r.chance(0.6)) {
    static const Behavior kBehaviors[] = {Behavior::kConflicter,     Behavior::kEquivocator,
                                          Behavior::kImpersonator,   Behavior::kCorruptSignature,
                                          Behavior::kNuller,         Behavior::kOutdated,
                                          Behavior::kWrongNamespace, Behavior::kWrongEpoch};
    uint32_t b = static_cast<uint32_t>(r.uniform(o.n));
    o.byzantine[b] = kBehaviors[r.uniform(8)];
    d << " byzantine=" << b << ":" << behavior_name(o.byzantine[b]);
  }
  Simulation s(o);
  s.start_all();
  // Wiping a validator's journal (and maybe its signing guard) makes it a faulty one until it
  // has heard 2f+1 others and they moved two views on: allowed when the other honest validators
  // form a quorum, one recovering node at a time.
  const bool may_wipe = o.n - o.byzantine.size() - 1 >= quorum(o.n);
  int wipes = 0;

  // Chaos phase.
  Time chaos_end = 15000 + r.uniform(15000);
  while (s.now() < chaos_end) {
    s.run_for(200 + r.uniform(2000));
    if (verbose) dump(s, "");
    switch (r.uniform(8)) {
      case 0: {  // random split into two groups
        std::vector<std::vector<uint32_t>> g(2);
        for (uint32_t i = 0; i < o.n; ++i) g[r.uniform(2)].push_back(i);
        s.partition(g);
        d << " | t=" << s.now() << " partition";
        for (auto& grp : g) {
          d << " {";
          for (uint32_t i : grp) d << i << ",";
          d << "}";
        }
        break;
      }
      case 1:
        s.heal();
        d << " | t=" << s.now() << " heal";
        break;
      case 2: {  // lossy, jittery links
        Link l = o.link;
        l.success = 0.5 + 0.5 * r.unit();
        l.jitter = r.uniform(l.latency + 1);
        s.set_all_links(l);
        d << " | t=" << s.now() << " lossy";
        break;
      }
      case 3: {
        uint32_t i = static_cast<uint32_t>(r.uniform(o.n));
        s.crash(i, r.chance(0.5));
        d << " | t=" << s.now() << " crash " << i;
        break;
      }
      case 4: {
        uint32_t i = static_cast<uint32_t>(r.uniform(o.n));
        s.crash_on_next_write(i);
        d << " | t=" << s.now() << " crash-mid-write " << i;
        break;
      }
      case 5:
        for (uint32_t i = 0; i < o.n; ++i) {
          if (!s.up(i)) s.restart(i);
        }
        d << " | t=" << s.now() << " restart";
        break;
      case 6:
        if (r.chance(0.3)) {
          s.crash_all();
          s.restart_all();
          d << " | t=" << s.now() << " cluster-crash";
        }
        break;
      case 7: {
        uint32_t i = static_cast<uint32_t>(r.uniform(o.n));
        bool keep_guard = r.chance(0.3);
        bool busy = false;
        for (uint32_t j = 0; j < o.n; ++j) busy = busy || s.signing_blocked(j);
        if (may_wipe && wipes < 2 && !busy && s.honest(i)) {
          ++wipes;
          s.wipe(i, keep_guard);
          s.restart(i);
          d << " | t=" << s.now() << (keep_guard ? " lose-journal " : " wipe ") << i;
        }
        break;
      }
    }
  }

  // Heal phase: clean links, everyone up; honest nodes must keep finalizing.
  s.heal();
  for (uint32_t i = 0; i < o.n; ++i) {
    s.cancel_pending_crash(i);
    if (!s.up(i)) s.restart(i);
  }
  View base = 0;
  for (uint32_t i = 0; i < o.n; ++i) {
    if (s.honest(i)) base = std::max(base, s.last_finalized(i));
  }
  d << " | t=" << s.now() << " heal-all (finalized " << base << ")";
  bool live = false;
  for (Time end = s.now() + 60000; s.now() < end && !live;) {
    live = s.run_until_finalized(base + 5, std::min(end, s.now() + 2000));
    if (verbose) dump(s, "healed");
  }

  CampaignResult res;
  res.description = d.str();
  res.trace_hash = s.trace_hash();
  res.final_view = s.max_view();
  res.finalized = s.min_honest_finalized();
  if (!s.violations().empty()) {
    res.ok = false;
    res.failure = s.violations().front();
  } else if (!live) {
    res.ok = false;
    std::ostringstream f;
    f << "liveness: honest nodes reached finalized view " << s.min_honest_finalized()
      << " of required " << base + 5 << " within 60 s after healing (max view " << s.max_view()
      << ")";
    res.failure = f.str();
  }
  return res;
}

}  // namespace guts::consensus::sim
