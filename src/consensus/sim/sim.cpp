#include "consensus/sim/sim.h"

#include <algorithm>
#include <sstream>

#include "crypto/hash.h"

namespace guts::consensus::sim {

namespace {
Bytes u64_bytes(uint64_t v) {
  Bytes b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return b;
}
}  // namespace

const char* behavior_name(Behavior b) {
  switch (b) {
    case Behavior::kHonest:
      return "honest";
    case Behavior::kConflicter:
      return "conflicter";
    case Behavior::kEquivocator:
      return "equivocator";
    case Behavior::kImpersonator:
      return "impersonator";
    case Behavior::kCorruptSignature:
      return "corrupt-signature";
    case Behavior::kNuller:
      return "nuller";
    case Behavior::kOutdated:
      return "outdated";
    case Behavior::kWrongNamespace:
      return "wrong-namespace";
    case Behavior::kWrongEpoch:
      return "wrong-epoch";
  }
  return "?";
}

// ---------------------------------------------------------------- nodes

struct Simulation::Node {
  uint32_t idx = 0;
  Behavior behavior = Behavior::kHonest;
  crypto::SigningKey key;
  MemoryJournalStore disk;
  std::optional<GuardState> guard = GuardState{View{0}, 0};  // durable; written with the key
  std::unique_ptr<Journal> journal;
  std::unique_ptr<Engine> engine;
  bool up = false;
  bool crash_on_write = false;
  uint64_t incarnation = 0;
  std::optional<Time> timer_at;
  std::set<uint32_t> blocked;
  std::map<View, Digest> finalized;
  std::vector<Vote> sent_votes;  // for the outdated actor
  explicit Node(crypto::SigningKey k) : key(std::move(k)) {}
};

Simulation::Simulation(Options options) : opts_(std::move(options)), rng_(opts_.seed) {
  for (uint32_t i = 0; i < opts_.n; ++i) {
    crypto::Sha256 h;
    h.update("guts-sim-key").update(u64_bytes(i));
    auto node = std::make_unique<Node>(crypto::SigningKey::from_seed(h.finish()));
    node->idx = i;
    auto b = opts_.byzantine.find(i);
    if (b != opts_.byzantine.end()) node->behavior = b->second;
    participants_.push_back(node->key.public_key());
    nodes_.push_back(std::move(node));
  }
  set_all_links(opts_.link);
  mix(opts_.seed);
}

Simulation::~Simulation() = default;

bool Simulation::honest(uint32_t i) const {
  return nodes_[i]->behavior == Behavior::kHonest;
}
bool Simulation::up(uint32_t i) const {
  return nodes_[i]->up;
}
std::optional<GuardState> Simulation::guard(uint32_t i) const {
  return nodes_[i]->guard;
}
bool Simulation::signing_blocked(uint32_t i) const {
  const auto& g = nodes_[i]->guard;
  return !g || g->floor == kSignNothing || (g->floor > 0 && g->floor + 2 >= max_view());
}
const Engine* Simulation::engine(uint32_t i) const {
  return nodes_[i]->engine.get();
}

View Simulation::last_finalized(uint32_t i) const {
  return nodes_[i]->engine ? nodes_[i]->engine->last_finalized() : 0;
}

View Simulation::min_honest_finalized() const {
  std::optional<View> m;
  for (const auto& n : nodes_) {
    if (n->behavior != Behavior::kHonest || !n->up) continue;
    View v = n->engine->last_finalized();
    if (!m || v < *m) m = v;
  }
  return m.value_or(0);
}

View Simulation::max_view() const {
  View m = 0;
  for (const auto& n : nodes_) {
    if (n->engine) m = std::max(m, n->engine->view());
  }
  return m;
}

bool Simulation::blocked_by(uint32_t blocker, uint32_t blocked) const {
  return nodes_[blocker]->blocked.count(blocked) > 0;
}

size_t Simulation::honest_blockers(uint32_t byz) const {
  size_t c = 0;
  for (const auto& n : nodes_) {
    if (n->behavior == Behavior::kHonest && n->blocked.count(byz)) ++c;
  }
  return c;
}

std::vector<Time> Simulation::finality_latencies() const {
  std::vector<Time> out;
  for (const auto& [key, t] : finalized_at_) {
    auto p = proposed_at_.find(key.first);
    if (p != proposed_at_.end() && t >= p->second) out.push_back(t - p->second);
  }
  return out;
}

// ---------------------------------------------------------------- trace

void Simulation::mix(uint64_t v) {
  trace_.mix(v);
}
void Simulation::mix(ByteView b) {
  trace_.mix(b);
}

void Simulation::violation(std::string what) {
  std::ostringstream s;
  s << "t=" << now_ << "ms: " << what;
  violations_.push_back(s.str());
}

// ---------------------------------------------------------------- network

void Simulation::set_link(uint32_t from, uint32_t to, Link l) {
  auto& ls = links_[{from, to}];
  ls.link = l;
}
void Simulation::remove_link(uint32_t from, uint32_t to) {
  links_.erase({from, to});
}
void Simulation::set_all_links(Link l) {
  for (uint32_t a = 0; a < opts_.n; ++a) {
    for (uint32_t b = 0; b < opts_.n; ++b) {
      if (a != b) set_link(a, b, l);
    }
  }
}
void Simulation::partition(const std::vector<std::vector<uint32_t>>& groups) {
  for (auto [a, b] : guts::sim::cut_links(opts_.n, groups)) remove_link(a, b);
}

void Simulation::send(uint32_t from, uint32_t to, Channel ch, const Bytes& payload) {
  if (from == to || to >= opts_.n) return;
  auto it = links_.find({from, to});
  if (it == links_.end() || nodes_[to]->blocked.count(from) ||
      !rng_.chance(it->second.link.success)) {
    ++stats_.dropped;
    return;
  }
  Time at = std::max(now_ + guts::sim::sample_delay(it->second.link, rng_),
                     it->second.last);  // in order per link
  it->second.last = at;
  Event e;
  e.at = at;
  e.type = Event::Type::kDeliver;
  e.node = to;
  e.incarnation = nodes_[to]->incarnation;
  e.from = from;
  e.channel = ch;
  e.payload = payload;
  push(std::move(e));
}

void Simulation::push(Event e) {
  e.seq = seq_++;
  e.tie = rng_.next();  // seeded shuffle of simultaneous events
  queue_.push(std::move(e));
}

// ---------------------------------------------------------------- lifecycle

bool VerifyCache::operator()(const crypto::PublicKey& pk, ByteView msg,
                             const crypto::Signature& sig) {
  crypto::Sha256 h;
  h.update(pk).update(sig).update(msg);
  Digest d = h.finish();
  std::string key(d.begin(), d.end());
  auto it = known_.find(key);
  if (it != known_.end()) return it->second;
  bool ok = crypto::verify_raw(pk, msg, sig);
  known_.emplace(std::move(key), ok);
  return ok;
}

bool Simulation::verify_cached(const crypto::PublicKey& pk, ByteView msg,
                               const crypto::Signature& sig) {
  return verify_cache_(pk, msg, sig);
}

std::unique_ptr<Engine> Simulation::make_engine(uint32_t i) {
  Node& node = *nodes_[i];
  Config c(node.key);
  c.ns = node.behavior == Behavior::kWrongNamespace ? "guts/wrong" : opts_.ns;
  c.epoch = node.behavior == Behavior::kWrongEpoch ? 7 : 0;
  c.participants = participants_;
  c.genesis = crypto::sha256("guts-sim-genesis");
  c.leader_timeout = opts_.leader_timeout;
  c.certification_timeout = opts_.certification_timeout;
  c.timeout_retry = opts_.timeout_retry;
  c.skip_timeout = opts_.skip_timeout;
  c.fetch_timeout = opts_.fetch_timeout;
  c.view_retention = opts_.view_retention;
  c.verify = [this](const crypto::PublicKey& pk, ByteView m, const crypto::Signature& s) {
    return verify_cached(pk, m, s);
  };
  return std::make_unique<Engine>(std::move(c));
}

void Simulation::start_all() {
  for (uint32_t i = 0; i < opts_.n; ++i) {
    if (!opts_.offline.count(i)) start(i);
  }
}

void Simulation::start(uint32_t i) {
  restart(i);
}

void Simulation::restart(uint32_t i) {
  Node& node = *nodes_[i];
  if (node.up) return;
  node.journal = std::make_unique<Journal>(node.disk, opts_.views_per_section);
  Journal::ReplayStats st;
  auto records = node.journal->replay(&st);
  stats_.torn_bytes += st.discarded_bytes;
  GuardState g = guard_start_state(node.guard, records);
  node.guard = g;  // durable before the engine starts
  node.engine = make_engine(i);
  for (const auto& r : records) node.engine->replay(r);
  node.engine->set_signing_floor(g.floor);
  if (g.floor > 0) mix(0x6a4d0000ull + i);
  node.up = true;
  node.timer_at.reset();
  mix(0x5157a47 + i);
  apply(i, node.engine->start(now_));
}

void Simulation::crash(uint32_t i, bool torn) {
  Node& node = *nodes_[i];
  if (!node.up) return;
  node.up = false;
  node.crash_on_write = false;
  node.engine.reset();
  node.journal.reset();
  node.disk.crash(torn ? rng_.next() | 1 : 0);
  ++node.incarnation;
  ++stats_.crashes;
  mix(0xc4a54 + i);
}

void Simulation::wipe(uint32_t i, bool keep_guard) {
  Node& node = *nodes_[i];
  crash(i, false);
  node.disk.wipe();
  if (!keep_guard) node.guard.reset();
  mix(0x3199e000ull + i * 2 + (keep_guard ? 1 : 0));
}

void Simulation::crash_on_next_write(uint32_t i) {
  nodes_[i]->crash_on_write = true;
}
void Simulation::cancel_pending_crash(uint32_t i) {
  nodes_[i]->crash_on_write = false;
}

void Simulation::crash_all() {
  for (uint32_t i = 0; i < opts_.n; ++i) crash(i);
}
void Simulation::restart_all() {
  for (uint32_t i = 0; i < opts_.n; ++i) {
    if (!opts_.offline.count(i)) restart(i);
  }
}

// ---------------------------------------------------------------- event loop

void Simulation::run_until(Time t) {
  while (!queue_.empty() && queue_.top().at <= t) {
    Event e = queue_.top();
    queue_.pop();
    now_ = std::max(now_, e.at);
    ++stats_.events;
    process(e);
  }
  now_ = std::max(now_, t);
}

bool Simulation::run_until_finalized(View view, Time deadline) {
  while (now_ < deadline) {
    if (min_honest_finalized() >= view) return true;
    run_until(std::min(deadline, now_ + 50));
  }
  return min_honest_finalized() >= view;
}

void Simulation::process(Event& e) {
  Node& node = *nodes_[e.node];
  mix(e.at);
  mix(static_cast<uint64_t>(e.type) << 32 | e.node);
  switch (e.type) {
    case Event::Type::kDeliver: {
      // A connection does not outlive a crash: what was in flight to the old process is lost.
      if (!node.up || node.blocked.count(e.from) || e.incarnation != node.incarnation) {
        ++stats_.dropped;
        return;
      }
      ++stats_.delivered;
      mix(static_cast<uint64_t>(e.from) << 8 | static_cast<uint8_t>(e.channel));
      mix(e.payload);
      apply(e.node, node.engine->on_message(now_, participants_[e.from], e.channel, e.payload));
      break;
    }
    case Event::Type::kTimer:
      if (!node.up || e.incarnation != node.incarnation || node.timer_at != e.at) return;
      node.timer_at.reset();
      apply(e.node, node.engine->on_timer(now_));
      break;
    case Event::Type::kApp: {
      if (!node.up || e.incarnation != node.incarnation) return;
      Engine& eng = *node.engine;
      if (auto* p = std::get_if<ProposeRequest>(&e.request)) {
        crypto::Sha256 h;
        h.update("sim-block")
            .update(u64_bytes(p->context.round.view))
            .update(p->context.parent_payload)
            .update(u64_bytes(p->context.leader));
        Digest d = h.finish();
        mix(d);
        apply(e.node, eng.on_proposed(now_, p->context.round, d));
      } else if (auto* v = std::get_if<VerifyRequest>(&e.request)) {
        apply(e.node, eng.on_verified(now_, v->context.round, v->payload, true));
      } else if (auto* c = std::get_if<CertifyRequest>(&e.request)) {
        bool ok = !(node.behavior == Behavior::kHonest &&
                    opts_.reject_leaders.count(eng.leader(c->round.view)));
        apply(e.node, eng.on_certified(now_, c->round, c->payload, ok));
      }
      break;
    }
  }
}

void Simulation::apply(uint32_t i, Output out) {
  Node& node = *nodes_[i];
  // 1. Journal, then one sync — before anything leaves the node.
  if (!out.journal.empty()) {
    for (const auto& r : out.journal) node.journal->append(r.view, r.bytes);
    if (node.crash_on_write) {
      crash(i, true);  // died between append and sync: nothing below happens
      return;
    }
    node.journal->sync();
  }
  // The signing guard covers every vote of this step before any of them leaves.
  node.guard = guard_after_step(*node.guard, out.signed_through, node.engine->signing_floor(),
                                opts_.reserve_ahead);
  if (out.prune_journal_below) node.journal->prune(*out.prune_journal_below);
  // 2. Reports, blocks, application requests.
  for (const auto& r : out.reports) {
    if (auto* f = std::get_if<Finalized>(&r)) {
      record_finalized(i, *f);
    } else if (auto* fault = std::get_if<Fault>(&r)) {
      mix(0xfa017);
      if (node.behavior == Behavior::kHonest && honest(fault->signer)) {
        violation("node " + std::to_string(i) + " reported " + fault_name(fault->kind) +
                  " against honest node " + std::to_string(fault->signer));
      }
    }
  }
  for (const auto& pk : out.block) {
    auto it = std::find(participants_.begin(), participants_.end(), pk);
    if (it == participants_.end()) continue;
    uint32_t b = static_cast<uint32_t>(it - participants_.begin());
    node.blocked.insert(b);
    mix(0xb10c0000ull | (uint64_t{i} << 8) | b);
    if (node.behavior == Behavior::kHonest && honest(b)) {
      violation("honest node " + std::to_string(i) + " blocked honest node " + std::to_string(b));
    }
  }
  for (auto& req : out.requests) {
    Event e;
    e.at = now_ + opts_.app_latency;
    e.type = Event::Type::kApp;
    e.node = i;
    e.incarnation = node.incarnation;
    e.request = std::move(req);
    push(std::move(e));
  }
  // 3. Sends.
  for (auto& o : out.sends) {
    for (auto& m : byzantine_filter(node, std::move(o))) {
      if (node.behavior == Behavior::kHonest) monitor_send(i, m.channel, m.payload);
      if (m.to) {
        send(i, *m.to, m.channel, m.payload);
      } else {
        for (uint32_t j = 0; j < opts_.n; ++j) send(i, j, m.channel, m.payload);
      }
    }
  }
  // 4. Timer.
  if (out.timer) {
    Time at = std::max(*out.timer, now_);
    node.timer_at = at;
    Event e;
    e.at = at;
    e.type = Event::Type::kTimer;
    e.node = i;
    e.incarnation = node.incarnation;
    push(std::move(e));
  }
}

void Simulation::record_finalized(uint32_t i, const Finalized& f) {
  Node& node = *nodes_[i];
  View v = f.proposal.round.view;
  mix(v);
  mix(f.proposal.payload);
  if (f.certificate.signers.size() < quorum(opts_.n)) {
    violation("finalized certificate with too few signers at view " + std::to_string(v));
  }
  if (node.behavior != Behavior::kHonest) return;
  auto [it, inserted] = node.finalized.emplace(v, f.proposal.payload);
  if (!inserted && it->second != f.proposal.payload) {
    violation("node " + std::to_string(i) + " finalized two digests at view " + std::to_string(v));
  }
  auto [g, ins] = finalized_.emplace(v, f.proposal.payload);
  if (!ins && g->second != f.proposal.payload) {
    violation("conflicting finalization at view " + std::to_string(v) + " (node " +
              std::to_string(i) + ")");
  }
  if (f.proposal.parent >= v) violation("finalized parent not below child");
  if (!f.implied) finalized_at_.emplace(std::make_pair(v, i), now_);
}

void Simulation::monitor_send(uint32_t from, Channel ch, const Bytes& payload) {
  try {
    if (ch == Channel::kVote) {
      Vote v = decode_vote(payload);
      if (v.signer != from) violation("honest node sent a vote with a foreign signer");
      if (v.kind == Kind::kNotarize && nodes_[from]->engine &&
          nodes_[from]->engine->leader(v.view()) == from) {
        proposed_at_.emplace(v.view(), now_);
      }
      const auto& g = nodes_[from]->guard;
      if (!g || !g->reserved || v.view() > *g->reserved || v.view() <= g->floor) {
        violation("honest node " + std::to_string(from) + " sent a " + kind_name(v.kind) +
                  " vote at view " + std::to_string(v.view()) + " outside its signing guard");
      }
      Bytes subject = vote_subject(v.kind, v.proposal);
      auto key = std::make_tuple(v.signer, v.view(), static_cast<uint8_t>(v.kind));
      auto [it, inserted] = honest_votes_.emplace(key, subject);
      if (!inserted && it->second != subject) {
        violation("honest node " + std::to_string(from) + " signed conflicting " +
                  kind_name(v.kind) + " votes at view " + std::to_string(v.view()));
      }
      Kind other = v.kind == Kind::kNullify    ? Kind::kFinalize
                   : v.kind == Kind::kFinalize ? Kind::kNullify
                                               : Kind::kNotarize;
      if (other != Kind::kNotarize &&
          honest_votes_.count(std::make_tuple(v.signer, v.view(), static_cast<uint8_t>(other)))) {
        violation("honest node " + std::to_string(from) + " signed nullify and finalize at view " +
                  std::to_string(v.view()));
      }
      if (v.kind == Kind::kNotarize &&
          honest_votes_.count(std::make_tuple(v.signer, v.view(), uint8_t(Kind::kNullify)))) {
        violation("honest node " + std::to_string(from) +
                  " signed notarize after nullify at view " + std::to_string(v.view()));
      }
    } else if (ch == Channel::kCertificate) {
      Certificate c = decode_certificate(payload);
      if (c.signers.size() < quorum(opts_.n)) violation("certificate with fewer than q signers");
    }
  } catch (const codec::DecodeError&) {
    violation("honest node sent an undecodable message");
  }
}

// ---------------------------------------------------------------- byzantine actors

std::vector<Outbound> Simulation::byzantine_filter(Node& node, Outbound o) {
  std::vector<Outbound> out;
  if (node.behavior == Behavior::kHonest || node.behavior == Behavior::kWrongNamespace ||
      node.behavior == Behavior::kWrongEpoch || o.channel != Channel::kVote) {
    out.push_back(std::move(o));
    return out;
  }
  Vote v = decode_vote(o.payload);
  const Config& cfg = node.engine->config();
  auto conflicting = [&](Kind kind) {
    Proposal p = v.proposal;
    p.payload = crypto::sha256(ByteView(p.payload));
    return sign_vote(node.key, cfg.ns, kind, node.idx, p);
  };
  auto msg = [&](std::optional<uint32_t> to, const Vote& x) {
    out.push_back({to, Channel::kVote, encode_vote(x)});
  };
  switch (node.behavior) {
    case Behavior::kConflicter:
      msg(o.to, v);
      if (v.kind != Kind::kNullify) msg(o.to, conflicting(v.kind));
      break;
    case Behavior::kEquivocator:
      if (v.kind == Kind::kNotarize && !o.to && node.engine->leader(v.view()) == node.idx) {
        Vote b = conflicting(Kind::kNotarize);
        for (uint32_t j = 0; j < opts_.n; ++j) {
          if (j == node.idx) continue;
          msg(j, j % 2 == 0 ? v : b);
        }
      } else {
        msg(o.to, v);
      }
      break;
    case Behavior::kImpersonator: {
      Vote f = v;
      f.signer = (node.idx + 1) % opts_.n;
      msg(o.to, f);
      break;
    }
    case Behavior::kCorruptSignature: {
      Vote f = v;
      f.signature[7] ^= 0x20;
      msg(o.to, f);
      break;
    }
    case Behavior::kNuller:
      msg(o.to, v);
      if (v.kind == Kind::kFinalize) {
        msg(o.to, sign_vote(node.key, cfg.ns, Kind::kNullify, node.idx, v.proposal));
      }
      break;
    case Behavior::kOutdated: {
      msg(o.to, v);
      node.sent_votes.push_back(v);
      // Replay two of our own votes from well behind the current view.
      for (int k = 0; k < 2 && node.sent_votes.size() > 8; ++k) {
        const Vote& old = node.sent_votes[rng_.uniform(node.sent_votes.size() - 6)];
        if (old.view() + 3 <= v.view()) msg(o.to, old);
      }
      if (node.sent_votes.size() > 256) node.sent_votes.erase(node.sent_votes.begin());
      break;
    }
    default:
      msg(o.to, v);
  }
  return out;
}

}  // namespace guts::consensus::sim
