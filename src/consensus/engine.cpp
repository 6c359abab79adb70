#include "consensus/engine.h"

#include <algorithm>

#include "core/status.h"

namespace guts::consensus {

const char* fault_name(FaultKind k) {
  switch (k) {
    case FaultKind::kConflictingNotarize:
      return "conflicting-notarize";
    case FaultKind::kConflictingFinalize:
      return "conflicting-finalize";
    case FaultKind::kNullifyFinalize:
      return "nullify-finalize";
  }
  return "?";
}

namespace {
// Upper bounds on work per input, so a hostile proposal cannot make one step unbounded.
constexpr size_t kMaxFetchesPerStep = 16;
constexpr size_t kMaxFetches = 256;
}  // namespace

Engine::Engine(Config config) : cfg_(std::move(config)) {
  if (!cfg_.verify) {
    cfg_.verify = [](const crypto::PublicKey& pk, ByteView m, const crypto::Signature& s) {
      return crypto::verify_raw(pk, m, s);
    };
  }
  uint32_t n = static_cast<uint32_t>(cfg_.participants.size());
  if (n == 0 || n > kMaxParticipants) throw Error(Code::kInvalidArgument, "bad participant count");
  auto idx = index_of(cfg_.key.public_key());
  if (!idx) throw Error(Code::kInvalidArgument, "signing key is not a participant");
  if (!(cfg_.leader_timeout > 0 && cfg_.certification_timeout > cfg_.leader_timeout &&
        cfg_.skip_timeout > cfg_.certification_timeout && cfg_.skip_timeout > cfg_.timeout_retry &&
        cfg_.fetch_timeout > 0)) {
    throw Error(Code::kInvalidArgument, "inconsistent consensus timeouts");
  }
  self_ = *idx;
  q_ = quorum(n);
  last_finalized_payload_ = cfg_.genesis;
  last_active_.resize(n);
}

uint32_t Engine::leader(View v) const {
  return static_cast<uint32_t>((cfg_.epoch + v) % n());
}

std::optional<uint32_t> Engine::index_of(const crypto::PublicKey& pk) const {
  for (uint32_t i = 0; i < cfg_.participants.size(); ++i) {
    if (cfg_.participants[i] == pk) return i;
  }
  return std::nullopt;
}

Engine::ViewState& Engine::vs(View v) {
  auto [it, inserted] = views_.try_emplace(v);
  if (inserted) {
    it->second.view = v;
    it->second.leader = leader(v);
  }
  return it->second;
}

Engine::ViewState* Engine::find(View v) {
  auto it = views_.find(v);
  return it == views_.end() ? nullptr : &it->second;
}
const Engine::ViewState* Engine::find(View v) const {
  auto it = views_.find(v);
  return it == views_.end() ? nullptr : &it->second;
}

bool Engine::advances(const ViewState& s) const {
  return s.finalization || s.nullification || (s.notarization && s.certified == true);
}

std::optional<Time> Engine::next_deadline() const {
  std::optional<Time> best;
  auto take = [&](std::optional<Time> t) {
    if (t && (!best || *t < *best)) best = t;
  };
  if (const ViewState* s = find(view_)) {
    take(s->leader_deadline);
    take(s->certification_deadline);
    take(s->retry_deadline);
  }
  for (const auto& [v, f] : fetches_) take(f.next);
  return best;
}

// ---------------------------------------------------------------- replay / start

void Engine::replay(ByteView record) {
  Artifact a;
  try {
    a = decode_artifact(record);
  } catch (const codec::DecodeError&) {
    return;  // CRC-valid but undecodable: written by a different version; skip.
  }
  if (a.tag == ArtifactTag::kCertification) {
    if (a.round.epoch != cfg_.epoch || a.round.view == 0) return;
  } else if (a.tag == ArtifactTag::kNotarize || a.tag == ArtifactTag::kNullify ||
             a.tag == ArtifactTag::kFinalize) {
    if (a.vote.round().epoch != cfg_.epoch || a.vote.view() == 0 || a.vote.signer != self_) {
      return;
    }
  } else if (a.certificate.round().epoch != cfg_.epoch || a.certificate.view() == 0) {
    return;
  }
  ViewState& s = vs(a.view());
  switch (a.tag) {
    case ArtifactTag::kNotarize:
      s.bc_notarize = true;
      s.my_notarize = a.vote;
      s.notarizes[self_] = a.vote;
      if (!s.proposal) {
        s.proposal = a.vote.proposal;
        s.pstate = PState::kVerified;
      }
      break;
    case ArtifactTag::kNullify:
      s.bc_nullify = true;
      s.my_nullify = a.vote;
      s.nullifies[self_] = a.vote;
      break;
    case ArtifactTag::kFinalize:
      s.bc_finalize = true;
      s.my_finalize = a.vote;
      s.finalizes[self_] = a.vote;
      break;
    case ArtifactTag::kNotarization:
      if (!s.notarization) s.notarization = a.certificate;
      s.bc_notarization = true;
      break;
    case ArtifactTag::kNullification:
      if (!s.nullification) s.nullification = a.certificate;
      s.bc_nullification = true;
      break;
    case ArtifactTag::kFinalization:
      if (!s.finalization) s.finalization = a.certificate;
      s.bc_finalization = true;
      if (a.certificate.view() > last_finalized_) {
        last_finalized_ = a.certificate.view();
        last_finalized_payload_ = a.certificate.proposal.payload;
        last_finalization_ = a.certificate;
      }
      break;
    case ArtifactTag::kCertification:
      s.certified = a.certified;
      s.cstate = CState::kDone;
      break;
  }
}

void Engine::set_signing_floor(View floor) {
  floor_ = floor;
  observing_ = floor > 0 && n() > 1;
  heard_.clear();
}

Output Engine::start(Time now) {
  started_ = true;
  if (observing_) {
    for (const auto& [v, s] : views_) observe_view(v);  // replayed: only raises the bound
  }
  for (auto& [v, s] : views_) {
    if (v <= last_finalized_ && s.cstate == CState::kOutstanding) s.cstate = CState::kDone;
  }
  prune();
  // Replayed votes may already form a certificate whose record was lost (n = 1, or a torn tail).
  std::vector<Vote> replayed;
  for (auto& [v, s] : views_) {
    for (const auto* m : {&s.notarizes, &s.nullifies, &s.finalizes}) {
      for (const auto& [i, vote] : *m) replayed.push_back(vote);
    }
  }
  for (const Vote& vote : replayed) {
    if (vote.view() > last_finalized_) check_quorum(now, vs(vote.view()), vote.kind, vote);
  }
  advance(now);
  // Re-send our votes of the current view: a crash may have eaten them in flight (nothing at or
  // below the signing floor leaves the node).
  ViewState& s = vs(view_);
  if (s.my_notarize && !s.bc_nullify && may_sign(view_)) broadcast_vote(*s.my_notarize);
  return finish(now);
}

// ---------------------------------------------------------------- messages

Output Engine::on_message(Time now, const crypto::PublicKey& from, Channel channel,
                          ByteView payload) {
  auto idx = index_of(from);
  if (!idx) {
    out_.block.push_back(from);
    return finish(now);
  }
  if (!started_ || blocked_.count(*idx) || *idx == self_) return finish(now);
  try {
    switch (channel) {
      case Channel::kVote:
        recv_vote(now, *idx, decode_vote(payload));
        break;
      case Channel::kCertificate:
        recv_certificate(now, *idx, decode_certificate(payload));
        break;
      case Channel::kResolver:
        handle_resolver(now, *idx, decode_resolver(payload));
        break;
      default:
        block(*idx);
    }
  } catch (const codec::DecodeError&) {
    block(*idx);
  }
  advance(now);
  return finish(now);
}

Output Engine::on_vote(Time now, const crypto::PublicKey& from, const Vote& vote) {
  auto idx = index_of(from);
  if (!idx) {
    out_.block.push_back(from);
    return finish(now);
  }
  if (started_ && !blocked_.count(*idx) && *idx != self_) recv_vote(now, *idx, vote);
  advance(now);
  return finish(now);
}

Output Engine::on_certificate(Time now, const crypto::PublicKey& from, const Certificate& cert) {
  auto idx = index_of(from);
  if (!idx) {
    out_.block.push_back(from);
    return finish(now);
  }
  if (started_ && !blocked_.count(*idx) && *idx != self_) recv_certificate(now, *idx, cert);
  advance(now);
  return finish(now);
}

void Engine::block(uint32_t idx) {
  if (idx == self_) return;
  if (blocked_.insert(idx).second) out_.block.push_back(cfg_.participants[idx]);
}

void Engine::recv_vote(Time now, uint32_t from, const Vote& v) {
  // Another epoch's vote: an honest validator that switched sets before or after us sends
  // those at the boundary (docs/consensus.md "Epochs"); it is dropped without penalty.
  if (v.round().epoch != cfg_.epoch) return;
  if (v.signer != from) return block(from);  // forged signer
  if (v.view() == 0) return block(from);     // voting starts at view 1
  if (v.kind != Kind::kNullify && v.proposal.parent >= v.view()) return block(from);
  if (observing_ && !observe_vote(from, v)) return block(from);
  View w = v.view();
  // Old votes are dropped without penalty (an honest straggler sends them).
  if (w <= last_finalized_ || w + cfg_.view_retention < view_) return;
  if (w > view_ + 1) {
    // The sender is ahead of us: ask it for a certificate that lets us leave our view.
    request_fetch(now, view_, from);
    return;
  }
  if (const ViewState* s = find(w)) {
    const auto& m = v.kind == Kind::kNotarize  ? s->notarizes
                    : v.kind == Kind::kNullify ? s->nullifies
                                               : s->finalizes;
    auto it = m.find(v.signer);
    if (it != m.end() && it->second == v) return;  // exact duplicate: already verified
  }
  if (!verify_vote(cfg_.verify, cfg_.ns, cfg_.participants[from], v)) return block(from);
  last_active_[from] = now;
  handle_vote(now, v, false);
}

void Engine::handle_vote(Time now, const Vote& v, bool own) {
  ViewState& s = vs(v.view());
  auto& m = v.kind == Kind::kNotarize  ? s.notarizes
            : v.kind == Kind::kNullify ? s.nullifies
                                       : s.finalizes;
  if (!own) {
    const std::map<uint32_t, Vote>* other = v.kind == Kind::kNullify    ? &s.finalizes
                                            : v.kind == Kind::kFinalize ? &s.nullifies
                                                                        : nullptr;
    if (other) {
      auto it = other->find(v.signer);
      if (it != other->end()) {
        out_.reports.push_back(Fault{FaultKind::kNullifyFinalize, v.signer, it->second, v});
        block(v.signer);
        return;
      }
    }
  }
  auto it = m.find(v.signer);
  if (it != m.end()) {
    if (same_subject(it->second, v)) return;  // duplicate (perhaps another valid signature)
    out_.reports.push_back(Fault{v.kind == Kind::kNotarize ? FaultKind::kConflictingNotarize
                                                           : FaultKind::kConflictingFinalize,
                                 v.signer, it->second, v});
    block(v.signer);
    return;
  }
  m.emplace(v.signer, v);
  if (own) last_active_[self_] = now;
  if (v.kind == Kind::kNotarize && v.signer == s.leader && !s.proposal) {
    // The leader's notarize is the proposal.
    s.proposal = v.proposal;
    s.pstate = PState::kReceived;
    if (v.view() == view_) s.leader_deadline.reset();
    check_equivocation(s);
  }
  if (v.kind == Kind::kNullify && v.signer == s.leader && v.signer != self_ && v.view() == view_) {
    timeout(now, s);  // the leader itself gave up on this view
  }
  check_quorum(now, s, v.kind, v);
}

void Engine::check_quorum(Time now, ViewState& s, Kind kind, const Vote& v) {
  std::vector<Vote> votes;
  if (kind == Kind::kNotarize) {
    if (s.notarization) return;
    for (const auto& [i, x] : s.notarizes) {
      if (x.proposal == v.proposal) votes.push_back(x);
    }
  } else if (kind == Kind::kNullify) {
    if (s.nullification) return;
    for (const auto& [i, x] : s.nullifies) votes.push_back(x);
  } else {
    if (s.finalization) return;
    for (const auto& [i, x] : s.finalizes) {
      if (x.proposal == v.proposal) votes.push_back(x);
    }
  }
  if (votes.size() < q_) return;
  add_certificate(now, assemble(kind, v.proposal, n(), std::move(votes)), std::nullopt);
}

void Engine::check_equivocation(ViewState& s) {
  if (s.equivocated || !s.proposal || !s.notarization) return;
  if (s.notarization->proposal == *s.proposal) return;
  // A quorum notarized something other than what the leader showed us: the leader signed two
  // proposals for one view. Never finalize in this view; report and block when provable.
  s.equivocated = true;
  const Certificate& c = *s.notarization;
  auto pos = std::find(c.signers.begin(), c.signers.end(), s.leader);
  auto mine = s.notarizes.find(s.leader);
  if (pos != c.signers.end() && mine != s.notarizes.end() && s.leader != self_) {
    Vote other;
    other.kind = Kind::kNotarize;
    other.proposal = c.proposal;
    other.signer = s.leader;
    other.signature = c.signatures[pos - c.signers.begin()];
    out_.reports.push_back(Fault{FaultKind::kConflictingNotarize, s.leader, mine->second, other});
    block(s.leader);
  }
}

void Engine::recv_certificate(Time now, uint32_t from, const Certificate& c) {
  if (c.round().epoch != cfg_.epoch) return;  // another epoch's (see recv_vote)
  if (c.view() == 0) return block(from);
  if (c.kind != Kind::kNullify && c.proposal.parent >= c.view()) return block(from);
  if (c.view() <= last_finalized_) return;
  if (const ViewState* s = find(c.view())) {
    if (c.kind == Kind::kNotarize && s->notarization) return;
    if (c.kind == Kind::kNullify && s->nullification) return;
    if (c.kind == Kind::kFinalize && s->finalization) return;
  }
  if (!verify_certificate(cfg_.verify, cfg_.ns, cfg_.participants, c)) return block(from);
  add_certificate(now, c, from);
}

void Engine::add_certificate(Time now, const Certificate& c, std::optional<uint32_t> from) {
  if (observing_) observe_view(c.view());
  ViewState& s = vs(c.view());
  switch (c.kind) {
    case Kind::kNotarize:
      if (s.notarization) return;
      s.notarization = c;
      check_equivocation(s);
      if (!s.bc_notarization) {
        s.bc_notarization = true;
        journal(certificate_artifact(c));
        broadcast_certificate(c);
      }
      break;
    case Kind::kNullify:
      if (s.nullification) return;
      s.nullification = c;
      if (!s.bc_nullification) {
        s.bc_nullification = true;
        journal(certificate_artifact(c));
        broadcast_certificate(c);
      }
      break;
    case Kind::kFinalize:
      if (s.finalization) return;
      s.finalization = c;
      if (!s.bc_finalization) {
        s.bc_finalization = true;
        journal(certificate_artifact(c));
        broadcast_certificate(c);
      }
      finalize(now, c);
      break;
  }
}

void Engine::finalize(Time now, const Certificate& c) {
  View v = c.view();
  if (v <= last_finalized_) return;
  // Ancestors between the previous floor and v are final too; report those we know.
  std::vector<Finalized> chain;
  View p = c.proposal.parent;
  while (p > last_finalized_) {
    const ViewState* s = find(p);
    if (!s) break;
    const std::optional<Certificate>& cert = s->finalization ? s->finalization : s->notarization;
    if (!cert) break;
    chain.push_back(Finalized{cert->proposal, *cert, true});
    p = cert->proposal.parent;
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) out_.reports.push_back(*it);
  out_.reports.push_back(Finalized{c.proposal, c, false});
  last_finalized_ = v;
  last_finalized_payload_ = c.proposal.payload;
  last_finalization_ = c;
  // A finalization at or above a view aborts its certification.
  for (auto& [w, s] : views_) {
    if (w > v) break;
    if (s.cstate == CState::kOutstanding) s.cstate = CState::kDone;
  }
  if (cfg_.view_retention < last_finalized_) {
    out_.prune_journal_below = last_finalized_ - cfg_.view_retention;
  }
  prune();
}

void Engine::prune() {
  View keep = last_finalized_ > cfg_.view_retention ? last_finalized_ - cfg_.view_retention : 0;
  while (!views_.empty() && views_.begin()->first < keep && views_.begin()->first < view_) {
    views_.erase(views_.begin());
  }
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    it = it->first <= last_finalized_ ? fetches_.erase(it) : std::next(it);
  }
}

// ---------------------------------------------------------------- resolver

void Engine::request_fetch(Time now, View v, std::optional<uint32_t> preferred, Need need) {
  if (n() == 1) return;
  if (fetch_settled(v, need)) return;
  if (auto it = fetches_.find(v); it != fetches_.end()) {
    it->second.need = need;  // the latest purpose decides what is still missing
    return;
  }
  if (fetches_.size() >= kMaxFetches) return;
  Fetch f;
  f.next = now;
  f.purpose = view_;
  f.preferred = preferred;
  f.need = need;
  fetches_.emplace(v, f);
}

bool Engine::fetch_settled(View v, Need need) const {
  if (v <= last_finalized_) return true;
  const ViewState* s = find(v);
  if (!s) return false;
  if (s->finalization) return true;
  switch (need) {
    case Need::kNotarization:
      return s->notarization.has_value();
    case Need::kNullification:
      return s->nullification.has_value();
    case Need::kAny:
      break;
  }
  return s->nullification || s->notarization;
}

void Engine::run_fetches(Time now) {
  size_t sent = 0;
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    if (fetch_settled(it->first, it->second.need) || view_ > it->second.purpose) {
      it = fetches_.erase(it);
      continue;
    }
    Fetch& f = it->second;
    if (f.next <= now && sent < kMaxFetchesPerStep) {
      std::optional<uint32_t> peer;
      if (f.attempt == 0 && f.preferred && *f.preferred != self_ && !blocked_.count(*f.preferred)) {
        peer = f.preferred;
      } else {
        for (uint32_t k = 0; k < n(); ++k) {
          uint32_t c = static_cast<uint32_t>((it->first + f.attempt + k) % n());
          if (c != self_ && !blocked_.count(c)) {
            peer = c;
            break;
          }
        }
      }
      if (peer) {
        ResolverMessage m;
        m.id = next_request_id_++;
        m.type = ResolverMessage::Type::kRequest;
        m.view = it->first;
        out_.sends.push_back({*peer, Channel::kResolver, encode_resolver(m)});
        ++sent;
      }
      ++f.attempt;
      f.next = now + cfg_.fetch_timeout;
    }
    ++it;
  }
}

void Engine::handle_resolver(Time now, uint32_t from, const ResolverMessage& m) {
  using T = ResolverMessage::Type;
  if (m.type == T::kRequest) {
    // Every certificate we hold for the view, one response each: the asker may need the
    // nullification while we also hold a notarization, or the other way round (the request
    // does not say which).
    std::vector<const Certificate*> certs;
    if (last_finalization_ && last_finalized_ >= m.view) {
      certs.push_back(&*last_finalization_);
    } else if (const ViewState* s = find(m.view)) {
      if (s->finalization) {
        certs.push_back(&*s->finalization);
      } else {
        if (s->notarization && s->certified == true) certs.push_back(&*s->notarization);
        if (s->nullification) certs.push_back(&*s->nullification);
      }
    }
    if (certs.empty() && last_finalization_) certs.push_back(&*last_finalization_);  // our floor
    if (certs.empty()) {
      ResolverMessage r;
      r.id = m.id;
      r.type = T::kError;
      out_.sends.push_back({from, Channel::kResolver, encode_resolver(r)});
    }
    for (const Certificate* c : certs) {
      ResolverMessage r;
      r.id = m.id;
      r.type = T::kResponse;
      r.certificate = encode_certificate(*c);
      out_.sends.push_back({from, Channel::kResolver, encode_resolver(r)});
    }
  } else if (m.type == T::kResponse) {
    recv_certificate(now, from, decode_certificate(m.certificate));
  }
}

// ---------------------------------------------------------------- the step function

Engine::ParentStatus Engine::parent_status(View v, View parent, Digest* parent_payload,
                                           std::vector<View>* missing) const {
  if (parent >= v || parent < last_finalized_) return ParentStatus::kInvalid;
  bool wait = false;
  for (View u = parent + 1; u < v; ++u) {
    const ViewState* s = find(u);
    if (s && s->nullification) continue;
    wait = true;
    if (missing && missing->size() < kMaxFetchesPerStep) missing->push_back(u);
  }
  if (parent == last_finalized_) {
    *parent_payload = last_finalized_payload_;
  } else {
    const ViewState* s = find(parent);
    if (s && s->finalization) {
      *parent_payload = s->finalization->proposal.payload;
    } else if (s && s->notarization && s->certified == true) {
      *parent_payload = s->notarization->proposal.payload;
    } else if (s && s->notarization && s->certified == false) {
      return ParentStatus::kInvalid;  // we refuse to build on what we could not certify
    } else if (s && s->notarization) {
      wait = true;  // certification outstanding
    } else {
      wait = true;
      if (missing) missing->push_back(parent);
    }
  }
  return wait ? ParentStatus::kMissing : ParentStatus::kValid;
}

void Engine::advance(Time now) {
  if (!started_) return;
  for (int guard = 0; guard < 64; ++guard) {
    // 1. Enter the highest view our certificates lead to.
    View target = std::max<View>({view_, View{1}, last_finalized_ + 1});
    for (auto it = views_.rbegin(); it != views_.rend() && it->first >= target; ++it) {
      if (advances(it->second)) {
        target = it->first + 1;
        break;
      }
    }
    for (const ViewState* s = find(target); s && advances(*s); s = find(target)) ++target;
    bool changed = false;
    if (target > view_) {
      enter_view(now, target);
      changed = true;
    }
    // 2. Certify every notarization above the floor; finalize what we certified.
    for (auto& [v, s] : views_) {
      if (v <= last_finalized_) continue;
      if (s.notarization && s.cstate == CState::kReady) {
        s.cstate = CState::kOutstanding;
        out_.requests.push_back(
            CertifyRequest{s.notarization->round(), s.notarization->proposal.payload});
      }
    }
    std::vector<View> to_finalize;
    for (auto& [v, s] : views_) {
      if (v > last_finalized_ && s.notarization && s.certified == true && !s.bc_finalize &&
          !s.bc_nullify && !s.equivocated && may_sign(v)) {
        to_finalize.push_back(v);
      }
    }
    for (View v : to_finalize) {
      ViewState* s = find(v);
      if (s && v > last_finalized_ && !s->bc_finalize) {
        cast(now, *s, Kind::kFinalize, s->notarization->proposal);
        changed = true;
      }
    }
    // 3. Propose or verify in the current view.
    ViewState& cur = vs(view_);
    if (cur.leader == self_ && cur.pstate == PState::kNone && !cur.bc_nullify && !cur.bc_notarize &&
        !cur.timed_out && may_sign(view_)) {
      // Parent: the highest certified/finalized view below, with nullifications in between.
      for (View u = view_ - 1;; --u) {
        std::optional<Digest> payload;
        const ViewState* s = find(u);
        if (u == last_finalized_) {
          payload = last_finalized_payload_;
        } else if (s && s->finalization) {
          payload = s->finalization->proposal.payload;
        } else if (s && s->notarization && s->certified == true) {
          payload = s->notarization->proposal.payload;
        } else if (s && s->nullification) {
          continue;
        } else {
          if (!(s && s->notarization && s->cstate != CState::kDone)) request_fetch(now, u, {});
          break;
        }
        cur.pstate = PState::kBuilding;
        cur.propose_parent = u;
        out_.requests.push_back(
            ProposeRequest{Context{Round{cfg_.epoch, view_}, self_, u, *payload}});
        break;
      }
    }
    if (cur.pstate == PState::kReceived && !cur.bc_nullify && !cur.bc_notarize &&
        !cur.equivocated) {
      Digest pp{};
      std::vector<View> missing;
      switch (parent_status(view_, cur.proposal->parent, &pp, &missing)) {
        case ParentStatus::kValid:
          cur.pstate = PState::kVerifying;
          out_.requests.push_back(
              VerifyRequest{Context{cur.proposal->round, cur.leader, cur.proposal->parent, pp},
                            cur.proposal->payload});
          break;
        case ParentStatus::kInvalid:
          cur.pstate = PState::kRejected;
          timeout(now, cur);
          break;
        case ParentStatus::kMissing:
          for (View m : missing) {
            request_fetch(now, m, cur.leader,
                          m == cur.proposal->parent ? Need::kNotarization : Need::kNullification);
          }
          break;
      }
    }
    // 4. Votes the signing floor held back (recovery after a lost journal), once it allows
    // them: a nullify for a view we timed out in, else a notarize for what we verified.
    if (may_sign(view_) && cur.timed_out && !cur.bc_nullify && !cur.bc_finalize) {
      timeout(now, cur);
      changed = true;
    } else if (may_sign(view_) && cur.pstate == PState::kVerified && cur.proposal &&
               !cur.bc_notarize && !cur.bc_nullify && !cur.equivocated) {
      cast(now, cur, Kind::kNotarize, *cur.proposal);
      changed = true;
    }
    if (!changed) break;
  }
}

void Engine::enter_view(Time now, View v) {
  view_ = v;
  ViewState& s = vs(v);
  if (s.bc_nullify) {  // replayed: we already gave up on this view; keep retrying
    s.timed_out = true;
    s.retry_deadline = now;
    return;
  }
  s.certification_deadline = now + cfg_.certification_timeout;
  if (!s.proposal) s.leader_deadline = now + cfg_.leader_timeout;
  if (s.leader == self_) return;
  if (s.nullifies.count(s.leader)) {
    timeout(now, s);
    return;
  }
  // Fast skip: the network is active but the leader has been silent for skip_timeout.
  auto active = [&](uint32_t i) {
    return last_active_[i] && now - *last_active_[i] < cfg_.skip_timeout;
  };
  uint32_t count = 0;
  for (uint32_t i = 0; i < n(); ++i) count += active(i) ? 1 : 0;
  if (!s.proposal && count >= q_ && !active(s.leader) && now >= cfg_.skip_timeout) timeout(now, s);
}

void Engine::timeout(Time now, ViewState& s) {
  if (s.view != view_) return;
  s.leader_deadline.reset();
  s.certification_deadline.reset();
  s.timed_out = true;
  if (!s.bc_nullify && !s.bc_finalize)
    cast(now, s, Kind::kNullify, Proposal{Round{cfg_.epoch, s.view}, 0, {}});
  if (s.bc_nullify && !s.retry_deadline) s.retry_deadline = now + cfg_.timeout_retry;
}

void Engine::cast(Time now, ViewState& s, Kind kind, const Proposal& p) {
  // The one place votes are signed: nothing at or below the signing floor (docs §9). Callers
  // leave their state as if the vote were pending; advance() casts it once the floor allows.
  if (!may_sign(s.view)) return;
  Vote v = sign_vote(cfg_.key, cfg_.ns, kind, self_, p);
  out_.signed_through = std::max(out_.signed_through.value_or(0), s.view);
  switch (kind) {
    case Kind::kNotarize:
      s.bc_notarize = true;
      s.my_notarize = v;
      break;
    case Kind::kNullify:
      s.bc_nullify = true;
      s.my_nullify = v;
      break;
    case Kind::kFinalize:
      s.bc_finalize = true;
      s.my_finalize = v;
      break;
  }
  journal(vote_artifact(v));
  broadcast_vote(v);
  handle_vote(now, v, true);
}

// ---------------------------------------------------------------- recovery after a lost journal

bool Engine::observe_vote(uint32_t from, const Vote& v) {
  View w = v.view();
  // Notarize and nullify are only ever cast in the signer's current view (a finalize may be
  // for an older one), so they tell us where the sender is now.
  bool current = v.kind != Kind::kFinalize;
  auto it = heard_.find(from);
  bool news = w > observed_ || (current && (it == heard_.end() || w > it->second));
  if (!news) return true;
  if (!verify_vote(cfg_.verify, cfg_.ns, cfg_.participants[from], v)) return false;
  if (current) heard_[from] = std::max(heard_[from], w);
  observe_view(w);
  check_observation();
  return true;
}

void Engine::observe_view(View v) {
  observed_ = std::max(observed_, v);
}

void Engine::check_observation() {
  // Safety (docs/consensus.md §9): every view we signed in before losing the journal is at most
  // V, the highest view we had entered, and a certificate for V - 1 exists: at least n - 2f - 1
  // honest validators other than us signed in V - 1 and (their journals intact) are in a view
  // >= V - 1 for good. Any 2f + 1 other validators include one of them, so the highest view
  // they vote in is >= V - 1: signing only above (that view + 1) never repeats a view.
  if (!observing_) return;
  size_t need = 2 * static_cast<size_t>(max_faults(n())) + 1;
  if (heard_.size() < need) return;
  View bound = observed_ >= kSignNothing - 1 ? kSignNothing : observed_ + 1;
  observing_ = false;
  heard_.clear();
  if (bound < floor_) {
    floor_ = bound;
    out_.signing_floor = floor_;
  }
}

void Engine::broadcast_vote(const Vote& v, std::optional<uint32_t> to) {
  out_.sends.push_back({to, Channel::kVote, encode_vote(v)});
}

void Engine::broadcast_certificate(const Certificate& c, std::optional<uint32_t> to) {
  out_.sends.push_back({to, Channel::kCertificate, encode_certificate(c)});
}

void Engine::journal(const Artifact& a) {
  out_.journal.push_back({a.view(), encode_artifact(a)});
}

Output Engine::on_timer(Time now) {
  if (!started_) return finish(now);
  ViewState& s = vs(view_);
  if ((s.leader_deadline && now >= *s.leader_deadline) ||
      (s.certification_deadline && now >= *s.certification_deadline)) {
    timeout(now, s);
  }
  if (s.retry_deadline && now >= *s.retry_deadline) {
    s.retry_deadline = now + cfg_.timeout_retry;
    if (s.my_nullify && may_sign(view_)) broadcast_vote(*s.my_nullify);
    // Carry the best entry certificate for this view so stragglers can follow.
    if (const ViewState* prev = find(view_ - 1)) {
      if (prev->finalization) {
        broadcast_certificate(*prev->finalization);
      } else if (prev->nullification) {
        broadcast_certificate(*prev->nullification);
      } else if (prev->notarization) {
        broadcast_certificate(*prev->notarization);
      }
    }
  }
  advance(now);
  run_fetches(now);
  return finish(now);
}

// ---------------------------------------------------------------- application answers

Output Engine::on_proposed(Time now, const Round& round, std::optional<Digest> payload) {
  ViewState* s = find(round.view);
  if (started_ && s && round.epoch == cfg_.epoch && round.view == view_ &&
      s->pstate == PState::kBuilding) {
    if (!payload) {
      s->pstate = PState::kRejected;
      timeout(now, *s);
    } else if (!s->bc_nullify && !s->bc_notarize) {
      Proposal p{round, s->propose_parent, *payload};
      s->proposal = p;
      s->pstate = PState::kVerified;
      s->leader_deadline.reset();
      cast(now, *s, Kind::kNotarize, p);
    }
  }
  advance(now);
  run_fetches(now);
  return finish(now);
}

Output Engine::on_verified(Time now, const Round& round, const Digest& payload, bool valid) {
  ViewState* s = find(round.view);
  if (started_ && s && round.epoch == cfg_.epoch && s->pstate == PState::kVerifying &&
      s->proposal && s->proposal->payload == payload) {
    if (valid) {
      s->pstate = PState::kVerified;
      if (round.view == view_ && !s->bc_notarize && !s->bc_nullify && !s->equivocated) {
        cast(now, *s, Kind::kNotarize, *s->proposal);
      }
    } else {
      s->pstate = PState::kRejected;
      timeout(now, *s);
    }
  }
  advance(now);
  run_fetches(now);
  return finish(now);
}

Output Engine::on_certified(Time now, const Round& round, const Digest& payload, bool certified) {
  ViewState* s = find(round.view);
  if (started_ && s && round.epoch == cfg_.epoch && s->cstate == CState::kOutstanding &&
      s->notarization && s->notarization->proposal.payload == payload) {
    s->cstate = CState::kDone;
    s->certified = certified;
    Artifact a;
    a.tag = ArtifactTag::kCertification;
    a.round = round;
    a.certified = certified;
    journal(a);
    if (!certified) timeout(now, *s);
  }
  advance(now);
  run_fetches(now);
  return finish(now);
}

Output Engine::finish(Time now) {
  if (started_) {
    // Fetches requested during this step go out now (their deadline is `now`).
    bool due = false;
    for (const auto& [v, f] : fetches_) due = due || f.next <= now;
    if (due) run_fetches(now);
  }
  std::optional<Time> next = next_deadline();
  if (next != armed_) {
    out_.timer = next;
    armed_ = next;
  }
  Output o = std::move(out_);
  out_ = Output{};
  return o;
}

}  // namespace guts::consensus
