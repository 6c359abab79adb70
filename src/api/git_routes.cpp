// Smart HTTP for the stock git client (docs/git.md "Smart HTTP").
#include "api/git_routes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "api/auth.h"
#include "git/pktline.h"
#include "git/receive.h"
#include "git/refs.h"
#include "git/repo_store.h"
#include "git/upload.h"

namespace guts::api {

namespace fs = std::filesystem;

std::string git_repo_key(uint64_t repo_id) {
  return std::to_string(repo_id);
}

// ---- PendingPushes ----

PendingPushes::Id PendingPushes::add(uint64_t repo_id, std::vector<state::RefChange> changes,
                                     std::shared_ptr<git::IncomingPush> push) {
  std::lock_guard lock(mu_);
  Id id = next_++;
  entries_.emplace(id, Entry{repo_id, std::move(changes), std::move(push)});
  return id;
}

std::shared_ptr<git::IncomingPush> PendingPushes::take(
    uint64_t repo_id, const std::vector<state::RefChange>& changes) {
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.repo_id == repo_id && it->second.changes == changes) {
      auto push = std::move(it->second.push);
      entries_.erase(it);
      return push;
    }
  }
  return nullptr;
}

void PendingPushes::drop(Id id) {
  std::shared_ptr<git::IncomingPush> push;  // released outside the lock
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  push = std::move(it->second.push);
  entries_.erase(it);
}

size_t PendingPushes::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

namespace {

std::string_view as_text(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void set_no_cache(Headers& h) {
  h.set("Cache-Control", "no-cache, max-age=0, must-revalidate");
  h.set("Pragma", "no-cache");
  h.set("Expires", "Fri, 01 Jan 1980 00:00:00 GMT");
}

void plain(Exchange& ex, int status, std::string message) {
  message += "\n";
  Headers h;
  h.set("Content-Type", "text/plain; charset=utf-8");
  h.set("Content-Length", std::to_string(message.size()));
  set_no_cache(h);
  ex.begin_response(status, h);
  ex.write(message);
  ex.finish();
}

// A 200 response with git's content type, started at the first byte (so that an error before
// any output can still become a proper HTTP error).
class GitResponse {
 public:
  GitResponse(Exchange& ex, std::string content_type)
      : ex_(ex), content_type_(std::move(content_type)) {}
  void write(std::string_view data) {
    start();
    ex_.write(data);
    bytes_ += data.size();
  }
  git::Sink sink() {
    return [this](ByteView chunk) { write(as_text(chunk)); };
  }
  void finish() {
    start();
    ex_.finish();
  }
  bool started() const { return started_; }
  uint64_t bytes() const { return bytes_; }

 private:
  void start() {
    if (started_) return;
    started_ = true;
    Headers h;
    h.set("Content-Type", content_type_);
    set_no_cache(h);
    ex_.begin_response(200, h);
  }
  Exchange& ex_;
  std::string content_type_;
  bool started_ = false;
  uint64_t bytes_ = 0;
};

bool content_type_is(const Request& req, std::string_view want) {
  auto ct = req.headers.get("Content-Type").value_or("");
  auto semi = ct.find(';');
  if (semi != std::string::npos) ct.resize(semi);
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  return ct == want;
}

// The request body as a Source; throws Error(kTooLarge) past `limit` bytes (0: unlimited).
git::Source body_source(Exchange& ex, uint64_t limit) {
  auto total = std::make_shared<uint64_t>(0);
  return [&ex, limit, total](uint8_t* buf, size_t cap) {
    size_t n = ex.read_body(buf, cap);
    *total += n;
    if (limit > 0 && *total > limit) throw Error(Code::kTooLarge, "request body too large");
    return n;
  };
}

// Answers (and returns true) when this node cannot serve the repository's git data: not hosted
// under its seeding policy (404), or its objects are still being replicated here (503).
bool refuse_unavailable(const Request& req, Exchange& ex, const GitHttpOptions& opts) {
  const auto& ctx = repo_context(req);
  std::string full = ctx.owner.username + "/" + ctx.repo.name;
  if (opts.hosts && !opts.hosts(ctx.repo.id)) {
    plain(ex, 404,
          "this node does not host " + full + " (seeding policy); clone it from a node that does");
    return true;
  }
  if (opts.replicating && opts.replicating(ctx.repo.id)) {
    std::string message =
        "repository " + full + " is still being replicated to this node; retry shortly\n";
    Headers h;
    h.set("Content-Type", "text/plain; charset=utf-8");
    h.set("Content-Length", std::to_string(message.size()));
    h.set("Retry-After", std::to_string(opts.replicating_retry_after.count()));
    set_no_cache(h);
    ex.begin_response(503, h);
    ex.write(message);
    ex.finish();
    return true;
  }
  return false;
}

fs::path repo_dir(const Request& req, git::RepoStore& store) {
  const auto& ctx = repo_context(req);
  auto key = git_repo_key(ctx.repo.id);
  if (!store.exists(key)) throw Error(Code::kNotFound, "Repository not found");
  return store.path_for(key);
}

Bytes oid_bytes(std::string_view hex) {
  if (git::is_zero_oid(hex)) return {};
  auto b = hex_decode(hex);
  if (!b) throw Error(Code::kInvalidArgument, "bad object id");
  return *b;
}

// The ng reason git shows for a rejected transaction.
std::string rejection_reason(const Status& st, bool forced) {
  if (st.code() == Code::kConflict) return "stale info";
  if (st.code() == Code::kPermissionDenied && forced) return "non-fast-forward";
  std::string m = st.message();
  auto nl = m.find('\n');
  if (nl != std::string::npos) m.resize(nl);
  return m.empty() ? std::string(code_name(st.code())) : m;
}

// guts_git_* (docs/metrics.md), looked up once.
struct GitMetrics {
  explicit GitMetrics(metrics::Registry& r)
      : pushes(r.counter("guts_git_pushes_total",
                         "git pushes with ref updates, by result (accepted: every ref moved)",
                         {"result"})),
        accepted(pushes.labels({"accepted"})),
        rejected(pushes.labels({"rejected"})),
        upload_packs(r.counter("guts_git_upload_pack_requests_total",
                               "git-upload-pack requests (clones and fetches)")
                         .get()),
        advertisements(r.counter("guts_git_ref_advertisements_total",
                                 "info/refs requests, by service", {"service"})),
        received(r.counter("guts_git_received_bytes_total", "Pack bytes received by pushes").get()),
        sent(r.counter("guts_git_sent_bytes_total", "Bytes sent by git-upload-pack responses")
                 .get()),
        push_seconds(r.histogram("guts_git_push_duration_seconds",
                                 "git-receive-pack requests, receive to acknowledgement "
                                 "(finalization included)",
                                 {}, metrics::long_latency_buckets())
                         .get()),
        upload_seconds(r.histogram("guts_git_upload_pack_duration_seconds",
                                   "git-upload-pack requests (clones and fetches), whole response",
                                   {}, metrics::long_latency_buckets())
                           .get()) {
    advertisements.labels({"git-upload-pack"});
    advertisements.labels({"git-receive-pack"});
  }
  metrics::Family<metrics::Counter>& pushes;
  metrics::Counter& accepted;
  metrics::Counter& rejected;
  metrics::Counter& upload_packs;
  metrics::Family<metrics::Counter>& advertisements;
  metrics::Counter& received;
  metrics::Counter& sent;
  metrics::Histogram& push_seconds;
  metrics::Histogram& upload_seconds;
};

// Observes the time since construction into `h` when the scope ends (also on a throw).
class ScopeTimer {
 public:
  explicit ScopeTimer(metrics::Histogram& h) : h_(h), t0_(std::chrono::steady_clock::now()) {}
  ~ScopeTimer() {
    h_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
  }
  ScopeTimer(const ScopeTimer&) = delete;
  ScopeTimer& operator=(const ScopeTimer&) = delete;

 private:
  metrics::Histogram& h_;
  std::chrono::steady_clock::time_point t0_;
};

// What the git routes work with.
struct GitEnv {
  Services& svc;
  git::RepoStore& store;
  PendingPushes& pending;
  GitHttpOptions opts;
  std::shared_ptr<metrics::Registry> registry;  // owns m's families
  GitMetrics m;
};

// GET /{owner}/{repo}/info/refs
void info_refs(GitEnv& env, Request& req, Exchange& ex) {
  git::RepoStore& store = env.store;
  const GitHttpOptions& opts = env.opts;
  auto service = req.query_param("service").value_or("");
  if (service != "git-upload-pack" && service != "git-receive-pack")
    return plain(ex, 403, "Only the smart HTTP protocol is supported (git 1.6.6 or later)");
  if (refuse_unavailable(req, ex, opts)) return;
  auto dir = repo_dir(req, store);
  env.m.advertisements.labels({service}).inc();
  auto proto = req.headers.get("Git-Protocol").value_or("");
  GitResponse out(ex, "application/x-" + service + "-advertisement");
  Status st;
  if (service == "git-upload-pack") {
    git::UploadOptions o;
    o.git_protocol = proto;
    st = git::upload_pack_advertise(dir, out.sink(), o);
  } else {
    st = git::receive_pack_advertise(dir, out.sink(), proto);
  }
  if (!st.ok()) {
    if (!out.started())
      return plain(ex, st.code() == Code::kNotFound ? 404 : 500, "git: " + st.message());
    throw Error(Code::kInternal, st.message());  // cuts the partial response
  }
  out.finish();
}

// POST /{owner}/{repo}/git-upload-pack
void upload_pack(GitEnv& env, Request& req, Exchange& ex) {
  git::RepoStore& store = env.store;
  const GitHttpOptions& opts = env.opts;
  if (!content_type_is(req, "application/x-git-upload-pack-request"))
    return plain(ex, 415, "Unsupported Media Type");
  if (refuse_unavailable(req, ex, opts)) return;
  auto dir = repo_dir(req, store);
  env.m.upload_packs.inc();
  ScopeTimer timer(env.m.upload_seconds);
  git::UploadOptions o;
  o.git_protocol = req.headers.get("Git-Protocol").value_or("");
  GitResponse out(ex, "application/x-git-upload-pack-result");
  struct CountSent {
    GitResponse& out;
    metrics::Counter& sent;
    ~CountSent() { sent.inc(out.bytes()); }
  } count_sent{out, env.m.sent};
  Status st;
  try {
    st = git::upload_pack_rpc(dir, body_source(ex, opts.max_upload_request_bytes), out.sink(), o);
  } catch (const Error& e) {
    if (out.started() || e.code() == Code::kUnavailable) throw;
    return plain(ex, e.code() == Code::kTooLarge ? 413 : 400, e.what());
  }
  if (!st.ok()) {
    if (!out.started()) return plain(ex, 400, "git upload-pack: " + st.message());
    throw Error(Code::kInternal, st.message());
  }
  out.finish();
}

struct PushOutcome {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  state::TxOutcome outcome;
};

}  // namespace

PushResult run_push(const PushCall& call, git::PushRequest preq, git::Source pack,
                    const git::Sink& out) {
  Services& svc = call.svc;
  PendingPushes& pending = call.pending;
  const GitHttpOptions& opts = call.opts;
  const state::Repo& repo = call.repo;
  PushResult result;
  auto write = [&](std::string_view s) { out(as_bytes(s)); };
  const bool sideband = preq.side_band();
  const bool report = preq.report_status();
  const bool atomic = preq.atomic();
  git::pkt::SidebandWriter w(write, sideband);
  git::ReceiveOptions ro;
  ro.max_pack_bytes = opts.max_pack_bytes;
  ro.pack_fd = call.pack_fd;
  if (sideband && !preq.quiet()) ro.progress = [&](std::string_view m) { w.progress(m); };

  const auto t0 = std::chrono::steady_clock::now();
  auto push = std::make_shared<git::IncomingPush>(
      git::IncomingPush::receive(call.dir, std::move(preq), std::move(pack), ro));
  const auto t1 = std::chrono::steady_clock::now();
  const auto& cmds = push->request().commands;
  const auto& checks = push->checks();

  // Local checks (the state machine re-checks permission, CAS and force-push policy).
  std::vector<git::RefStatus> results;
  bool force = false, any_failed = false;
  for (size_t i = 0; i < cmds.size(); ++i) {
    const auto& c = cmds[i];
    const auto& k = checks[i];
    git::RefStatus s{c.ref, {}};
    if (!push->unpack_error().empty())
      s.error = "unpacker error";
    else if (!k.ref_error.empty())
      s.error = "funny refname";
    else if (!k.connected)
      s.error = "missing necessary objects";
    else if (!k.new_is_commit)
      s.error = "branch must point at a commit";
    else if (!k.fast_forward && !repo.allow_force_push)
      s.error = "non-fast-forward";
    else if (!k.fast_forward)
      force = true;
    any_failed |= !s.ok();
    results.push_back(std::move(s));
  }
  if (any_failed && atomic)
    for (auto& s : results)
      if (s.ok()) s.error = "atomic push failed";

  state::UpdateRefs body_tx;
  body_tx.repo_id = repo.id;
  body_tx.force = force;
  for (size_t i = 0; i < cmds.size(); ++i)
    if (results[i].ok())
      body_tx.changes.push_back(
          {cmds[i].ref, oid_bytes(cmds[i].old_oid), oid_bytes(cmds[i].new_oid)});

  if (!body_tx.changes.empty()) {
    auto waiter = std::make_shared<PushOutcome>();
    auto id = pending.add(body_tx.repo_id, body_tx.changes, push);
    svc.submit_as(call.who, body_tx, [waiter, &pending, id](const state::TxOutcome& o) {
      pending.drop(id);  // applied: already migrated by the projection; rejected: discarded
      {
        std::lock_guard lock(waiter->mu);
        waiter->outcome = o;
        waiter->done = true;
      }
      waiter->cv.notify_all();
    });
    std::string failure;
    {
      std::unique_lock lock(waiter->mu);
      auto deadline = std::chrono::steady_clock::now() + opts.push_outcome_timeout;
      while (!waiter->done && !pending.stopping() && std::chrono::steady_clock::now() < deadline)
        waiter->cv.wait_for(lock, std::chrono::milliseconds(100));
      if (!waiter->done)
        failure = pending.stopping() ? "node shutting down"
                                     : "timed out waiting for the ref update to be finalized";
      else if (!waiter->outcome.applied)
        failure = rejection_reason(waiter->outcome.status, force);
    }
    if (!failure.empty()) {
      spdlog::info("push to repository {} rejected: {}", body_tx.repo_id, failure);
      for (auto& s : results)
        if (s.ok()) s.error = failure;
    }
  }
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  const auto& tm = push->timings();
  spdlog::debug(
      "push to repository {}: {} command(s), {} pack bytes; receive+checks {} ms (pack {} ms, "
      "connectivity {} ms, checks {} ms), transaction {} ms",
      repo.id, cmds.size(), push->pack_bytes(), ms(t1 - t0), ms(tm.pack), ms(tm.connectivity),
      ms(tm.checks), ms(std::chrono::steady_clock::now() - t1));
  const std::string unpack_error = push->unpack_error();
  result.pack_bytes = push->pack_bytes();
  result.accepted = std::all_of(results.begin(), results.end(), [](auto& s) { return s.ok(); });
  push.reset();  // a rejected push's quarantine goes now (unless the registry still holds it)

  if (report) w.data(git::report_status(unpack_error, results, false));
  w.finish();
  return result;
}

namespace {

// POST /{owner}/{repo}/git-receive-pack
void receive_pack(GitEnv& env, Request& req, Exchange& ex) {
  git::RepoStore& store = env.store;
  const GitHttpOptions& opts = env.opts;
  if (!content_type_is(req, "application/x-git-receive-pack-request"))
    return plain(ex, 415, "Unsupported Media Type");
  // A push to refs this node cannot show yet would only fail its compare-and-swap.
  if (refuse_unavailable(req, ex, opts)) return;
  const auto& ctx = repo_context(req);
  auto dir = repo_dir(req, store);
  ScopeTimer timer(env.m.push_seconds);
  GitResponse out(ex, "application/x-git-receive-pack-result");
  git::Source body = body_source(ex, 0);

  git::PushRequest preq;
  std::string rest;
  try {
    preq = git::read_push_request(body, rest);
  } catch (const Error& e) {
    if (e.code() != Code::kInvalidArgument && e.code() != Code::kTooLarge) throw;
    // No side-band negotiated yet: an ERR packet is what git understands ("remote error: …").
    out.write(git::pkt::encode(std::string("ERR ") + e.what() + "\n"));
    out.finish();
    env.m.rejected.inc();
    return;
  }
  if (preq.commands.empty()) {  // git's probe before a large chunked POST, or nothing to do
    out.finish();
    return;
  }
  auto r = run_push(PushCall{env.svc, env.pending, opts, req.principal, ctx.repo, dir},
                    std::move(preq), git::source_concat(std::move(rest), body), out.sink());
  env.m.received.inc(r.pack_bytes);
  (r.accepted ? env.m.accepted : env.m.rejected).inc();
  out.finish();
}

const RouteSpec<GitEnv> kGitRoutes[] = {
    {"GET", "/info/refs", "repo:read", nullptr, &info_refs},
    {"POST", "/git-upload-pack", "repo:read", nullptr, &upload_pack},
    {"POST", "/git-receive-pack", "repo:write", nullptr, &receive_pack},
};

}  // namespace

void add_git_routes(Router& router, Services& services, git::RepoStore& store,
                    PendingPushes& pending, GitHttpOptions options) {
  auto registry = options.metrics ? options.metrics : std::make_shared<metrics::Registry>();
  add_routes(router,
             std::make_shared<GitEnv>(GitEnv{services, store, pending, std::move(options), registry,
                                             GitMetrics(*registry)}),
             "/{owner}/{repo}", kGitRoutes);
}

}  // namespace guts::api
