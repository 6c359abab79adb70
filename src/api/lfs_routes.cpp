// The Git LFS HTTP API (docs/lfs.md), for the stock git-lfs client:
//
//   POST /{owner}/{repo}/info/lfs/objects/batch        repo:read (upload: repo:write, decided
//                                                      by the auth middleware from the body)
//   PUT  /{owner}/{repo}/info/lfs/objects/{oid}        repo:write  upload (basic transfer)
//   GET  /{owner}/{repo}/info/lfs/objects/{oid}        repo:read   download
//   POST /{owner}/{repo}/info/lfs/verify               repo:write  {oid, size}
//   POST /{owner}/{repo}/info/lfs/locks                repo:write  {path, ref}
//   GET  /{owner}/{repo}/info/lfs/locks                repo:read   ?path= &id= &cursor= &limit=
//   POST /{owner}/{repo}/info/lfs/locks/verify         repo:write  {ref, cursor, limit}
//   POST /{owner}/{repo}/info/lfs/locks/{id}/unlock    repo:write  {force}
//
// An upload is streamed into the BlobStore with the oid of the URL and the size of its
// Content-Length; bytes that do not match are refused (422) and nothing is kept. Then the node
// submits kind 49 lfs_add_objects as the uploader and answers once it is applied: the object is
// part of the repository only through state, so a download (and the batch's download actions)
// serves only objects state records for THAT repository — knowing an oid of another repository
// gives nothing.
#include "api/lfs_routes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/github.h"
#include "api/lfs_batch.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/lfs_state.h"

namespace guts::api {

namespace {

using nlohmann::json;
constexpr const char* kLfsType = "application/vnd.git-lfs+json";

struct LfsEnv {
  Services& svc;
  storage::BlobStore& blobs;
  LfsOptions opts;
};

Response lfs_json(int status, const json& body) {
  Response r = Response::json(status, body.dump());
  r.headers.set("Content-Type", kLfsType);
  return r;
}
Response lfs_error(int status, std::string_view message) {
  return lfs_json(status, json{{"message", message}, {"documentation_url", kDocsUrl}});
}
Response lfs_status(const Status& st) {
  return lfs_error(http_status(st.code()), st.message());
}

std::string repo_base(LfsEnv& env, const RepoContext& ctx) {
  return env.svc.public_url() + "/" + ctx.owner.username + "/" + ctx.repo.name + ".git/info/lfs";
}

std::optional<storage::Sha256> oid_of(std::string_view hex) {
  if (!valid_lfs_oid(hex)) return std::nullopt;
  return storage::parse_sha256(hex);
}

json lock_json(const state::StateView& view, const state::LfsLock& l) {
  auto acct = view.account(l.owner);
  std::string name = acct ? acct->username : crypto::did_from_key(l.owner);
  return json{{"id", std::to_string(l.id)},
              {"path", l.path},
              {"locked_at", iso8601(l.locked_ms)},
              {"owner", {{"name", name}}}};
}

bool hosted(LfsEnv& env, const RepoContext& ctx) {
  return !env.opts.hosts || env.opts.hosts(ctx.repo.id);
}

// Quota check: nullopt when `extra` more bytes fit the owner's quota.
std::optional<std::string> over_quota(LfsEnv& env, const state::StateView& view,
                                      const RepoContext& ctx, uint64_t extra) {
  if (env.opts.quota_bytes == 0) return std::nullopt;
  uint64_t used = state::lfs_owner_usage(view, ctx.repo.owner);
  if (used + extra <= env.opts.quota_bytes) return std::nullopt;
  return "LFS quota exceeded for " + ctx.owner.username + ": " + std::to_string(used) +
         " bytes used + " + std::to_string(extra) + " > " + std::to_string(env.opts.quota_bytes) +
         " bytes (node option lfs-quota-bytes)";
}

// ---- batch ----

void batch(LfsEnv& env, Request& req, Responder respond) {
  LfsBatchRequest b;
  try {
    b = parse_lfs_batch(req.body);
  } catch (const Error& e) {
    return respond(lfs_error(http_status(e.code()), e.what()));
  }
  const auto& ctx = repo_context(req);
  if (!b.basic) return respond(lfs_error(422, "transfers: only the basic transfer is supported"));
  if (!hosted(env, ctx))
    return respond(lfs_error(404, "this node does not host " + ctx.owner.username + "/" +
                                      ctx.repo.name + " (seeding policy)"));
  auto view = env.svc.chain().view();
  const bool upload = b.operation == "upload";
  const std::string base = repo_base(env, ctx);
  json header = json::object();
  if (auto a = req.headers.get("Authorization")) header["Authorization"] = *a;
  // Quota: the new objects of this request, all together.
  uint64_t new_bytes = 0;
  json objects = json::array();
  for (const auto& o : b.objects) {
    json j{{"oid", o.oid}, {"size", o.size}};
    auto err = [&](int code, std::string msg) {
      j["error"] = {{"code", code}, {"message", std::move(msg)}};
    };
    if (!o.error.empty()) {
      err(422, o.error);
    } else if (o.size > env.opts.max_object_bytes) {
      err(422, "size: over this node's maximum object size (" +
                   std::to_string(env.opts.max_object_bytes) + " bytes)");
    } else {
      auto sha = *oid_of(o.oid);
      auto recorded = state::lfs_object_size(view, ctx.repo.id, sha);
      if (upload) {
        if (recorded && *recorded != o.size) {
          err(422, "size: the repository has this object with size " + std::to_string(*recorded));
        } else if (!recorded || !env.blobs.contains(sha)) {
          if (!recorded) new_bytes += o.size;
          std::string href = base + "/objects/" + o.oid;
          j["authenticated"] = true;
          j["actions"] = {{"upload", {{"href", href}, {"header", header}}},
                          {"verify", {{"href", base + "/verify"}, {"header", header}}}};
        }
        // else: already stored and recorded, no action (the spec's "already on the server")
      } else if (!recorded) {
        err(404, "Object does not exist");
      } else if (*recorded != o.size) {
        err(422, "size: the object's size is " + std::to_string(*recorded));
      } else if (!env.blobs.contains(sha)) {
        err(404, "Object is still being replicated to this node; retry shortly");
      } else {
        j["authenticated"] = true;
        j["actions"] = {{"download", {{"href", base + "/objects/" + o.oid}, {"header", header}}}};
      }
    }
    objects.push_back(std::move(j));
  }
  if (upload) {
    if (auto why = over_quota(env, view, ctx, new_bytes)) return respond(lfs_error(413, *why));
  }
  respond(
      lfs_json(200, json{{"transfer", "basic"}, {"objects", objects}, {"hash_algo", "sha256"}}));
}

// ---- basic transfers ----

void plain(Exchange& ex, int status, std::string_view message) {
  auto r = lfs_error(status, message);
  ex.begin_response(status, r.headers);
  ex.write(r.body);
  ex.finish();
}

void upload(LfsEnv& env, Request& req, Exchange& ex) {
  const auto& ctx = repo_context(req);
  auto sha = oid_of(req.param("oid"));
  if (!sha) return plain(ex, 422, "oid: must be 64 lower-case hex digits (SHA-256)");
  if (!hosted(env, ctx)) return plain(ex, 404, "this node does not host this repository");
  auto cl = req.headers.get("Content-Length");
  std::optional<uint64_t> size;
  if (cl) {
    try {
      size_t used = 0;
      size = std::stoull(*cl, &used);
      if (used != cl->size()) size.reset();
    } catch (const std::exception&) {
    }
    if (!size) return plain(ex, 400, "Content-Length: not a number");
  }
  uint64_t limit = env.opts.max_object_bytes;
  if (size && *size > limit) return plain(ex, 413, "object over this node's maximum size");
  {
    auto view = env.svc.chain().view();
    auto recorded = state::lfs_object_size(view, ctx.repo.id, *sha);
    if (!recorded) {
      if (auto why = over_quota(env, view, ctx, size.value_or(0))) return plain(ex, 413, *why);
    }
  }
  storage::Sha256 got{};
  uint64_t total = 0;
  try {
    auto w = env.blobs.begin(limit);
    std::vector<uint8_t> buf(256 << 10);
    for (;;) {
      size_t n = ex.read_body(buf.data(), buf.size());
      if (n == 0) break;
      w->write(ByteView(buf.data(), n));
    }
    total = w->size();
    got = w->commit(*sha, size);  // a mismatch throws kInvalidArgument: nothing is kept
  } catch (const Error& e) {
    if (e.code() == Code::kInvalidArgument)
      return plain(ex, 422,
                   std::string("the uploaded bytes do not match the object id: ") + e.what());
    return plain(ex, http_status(e.code()), e.what());
  }
  (void)got;
  auto view = env.svc.chain().view();
  if (!state::lfs_object_size(view, ctx.repo.id, *sha)) {
    if (auto why = over_quota(env, view, ctx, total)) return plain(ex, 413, *why);
    state::LfsAddObjects tx;
    tx.repo_id = ctx.repo.id;
    tx.objects.push_back({*sha, total});
    auto out = collab::submit_wait(env.svc, req.principal, tx);
    if (!out.applied) {
      const auto& st = out.status;
      return plain(ex, http_status(st.code()), st.message());
    }
  }
  Headers h;
  h.set("Content-Type", kLfsType);
  ex.begin_response(200, h);
  ex.finish();
}

void download(LfsEnv& env, Request& req, Exchange& ex) {
  const auto& ctx = repo_context(req);
  auto sha = oid_of(req.param("oid"));
  if (!sha) return plain(ex, 422, "oid: must be 64 lower-case hex digits (SHA-256)");
  auto recorded = state::lfs_object_size(env.svc.chain().view(), ctx.repo.id, *sha);
  if (!recorded) return plain(ex, 404, "Object does not exist");
  auto size = env.blobs.size(*sha);
  if (!size) return plain(ex, 404, "Object is still being replicated to this node; retry shortly");
  Headers h;
  h.set("Content-Type", "application/octet-stream");
  h.set("Content-Length", std::to_string(*size));
  ex.begin_response(200, h);
  constexpr size_t kChunk = 1 << 20;
  for (uint64_t off = 0; off < *size;) {
    auto bytes = env.blobs.read_range(*sha, off, kChunk);
    if (bytes.empty()) break;
    ex.write(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    off += bytes.size();
  }
  ex.finish();
}

void verify(LfsEnv& env, Request& req, Responder respond) {
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("oid") || !j["oid"].is_string() ||
      !j.contains("size") || !j["size"].is_number_unsigned())
    return respond(lfs_error(422, "verify: {\"oid\": string, \"size\": integer} required"));
  auto sha = oid_of(j["oid"].get<std::string>());
  if (!sha) return respond(lfs_error(422, "oid: must be 64 lower-case hex digits (SHA-256)"));
  const auto& ctx = repo_context(req);
  auto recorded = state::lfs_object_size(env.svc.chain().view(), ctx.repo.id, *sha);
  if (!recorded || !env.blobs.contains(*sha))
    return respond(lfs_error(404, "Object does not exist"));
  if (*recorded != j["size"].get<uint64_t>())
    return respond(lfs_error(422, "size: the object's size is " + std::to_string(*recorded)));
  respond(lfs_json(200, json::object()));
}

// ---- locks ----

std::optional<json> lfs_body(const Request& req, const Responder& respond) {
  if (req.body.size() > kMaxLfsBatchBodyBytes) {
    respond(lfs_error(413, "request body too large"));
    return std::nullopt;
  }
  json j = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    respond(lfs_error(400, "Problems parsing JSON"));
    return std::nullopt;
  }
  return j;
}

void submit_lfs(LfsEnv& env, const Request& req, Responder respond, state::TxBody body,
                std::function<Response()> on_applied) {
  if (!req.principal.authenticated) return respond(lfs_error(401, "Requires authentication"));
  env.svc.submit_as(req.principal, std::move(body),
                    [respond, on_applied](const state::TxOutcome& out) {
                      if (!out.applied) return respond(lfs_status(out.status));
                      respond(on_applied());
                    });
}

void create_lock(LfsEnv& env, Request& req, Responder respond) {
  auto j = lfs_body(req, respond);
  if (!j) return;
  auto p = j->find("path");
  if (p == j->end() || !p->is_string())
    return respond(lfs_error(422, "path: a string is required"));
  std::string path = p->get<std::string>();
  if (!state::valid_lfs_path(path)) return respond(lfs_error(422, "path: not a valid path"));
  const auto& ctx = repo_context(req);
  auto view = env.svc.chain().view();
  if (auto held = state::lfs_lock_by_path(view, ctx.repo.id, path))
    return respond(
        lfs_json(409, json{{"lock", lock_json(view, *held)}, {"message", "already created lock"}}));
  uint64_t repo = ctx.repo.id;
  submit_lfs(env, req, respond, state::LfsCreateLock{repo, path}, [&env, repo, path] {
    auto v = env.svc.chain().view();
    auto l = state::lfs_lock_by_path(v, repo, path);
    if (!l) return lfs_error(409, "the lock was released meanwhile");
    return lfs_json(201, json{{"lock", lock_json(v, *l)}});
  });
}

// Locks from `cursor` (a lock id; "" from the start), at most `limit` (1..100, default 100).
struct LockPage {
  std::vector<state::LfsLock> locks;
  std::string next_cursor;
};
std::optional<LockPage> page_locks(const std::vector<state::LfsLock>& all, std::string_view cursor,
                                   std::string_view limit_text) {
  uint64_t from = 0, limit = 100;
  try {
    if (!cursor.empty()) from = std::stoull(std::string(cursor));
    if (!limit_text.empty())
      limit = std::clamp<uint64_t>(std::stoull(std::string(limit_text)), 1, 100);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  LockPage out;
  for (const auto& l : all) {
    if (l.id < from) continue;
    if (out.locks.size() == limit) {
      out.next_cursor = std::to_string(l.id);
      break;
    }
    out.locks.push_back(l);
  }
  return out;
}

void list_locks(LfsEnv& env, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  auto view = env.svc.chain().view();
  auto all = state::lfs_locks(view, ctx.repo.id);
  auto path = req.query_param("path");
  auto id = req.query_param("id");
  std::erase_if(all, [&](const state::LfsLock& l) {
    return (path && l.path != *path) || (id && std::to_string(l.id) != *id);
  });
  auto page = page_locks(all, req.query_param("cursor").value_or(""),
                         req.query_param("limit").value_or(""));
  if (!page) return respond(lfs_error(422, "cursor and limit must be numbers"));
  json locks = json::array();
  for (const auto& l : page->locks) locks.push_back(lock_json(view, l));
  json out{{"locks", locks}};
  if (!page->next_cursor.empty()) out["next_cursor"] = page->next_cursor;
  respond(lfs_json(200, out));
}

void verify_locks(LfsEnv& env, Request& req, Responder respond) {
  auto j = lfs_body(req, respond);
  if (!j) return;
  auto str = [&](const char* k) -> std::string {
    auto it = j->find(k);
    if (it == j->end()) return "";
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
    return "x";  // answered 422 by page_locks
  };
  const auto& ctx = repo_context(req);
  auto view = env.svc.chain().view();
  auto page = page_locks(state::lfs_locks(view, ctx.repo.id), str("cursor"), str("limit"));
  if (!page) return respond(lfs_error(422, "cursor and limit must be numbers"));
  auto me = crypto::parse_did(req.principal.did);
  json ours = json::array(), theirs = json::array();
  for (const auto& l : page->locks)
    (me && l.owner == *me ? ours : theirs).push_back(lock_json(view, l));
  json out{{"ours", ours}, {"theirs", theirs}};
  if (!page->next_cursor.empty()) out["next_cursor"] = page->next_cursor;
  respond(lfs_json(200, out));
}

void unlock(LfsEnv& env, Request& req, Responder respond) {
  auto j = lfs_body(req, respond);
  if (!j) return;
  bool force = false;
  if (auto f = j->find("force"); f != j->end()) {
    if (!f->is_boolean()) return respond(lfs_error(422, "force: must be a boolean"));
    force = f->get<bool>();
  }
  uint64_t id = 0;
  try {
    size_t used = 0;
    std::string s = req.param("id");
    id = std::stoull(s, &used);
    if (used != s.size()) throw std::invalid_argument("id");
  } catch (const std::exception&) {
    return respond(lfs_error(404, "Lock not found"));
  }
  const auto& ctx = repo_context(req);
  auto view = env.svc.chain().view();
  auto lock = state::lfs_lock(view, ctx.repo.id, id);
  if (!lock) return respond(lfs_error(404, "Lock not found"));
  json before = lock_json(view, *lock);
  submit_lfs(env, req, respond, state::LfsDeleteLock{ctx.repo.id, id, force}, [before] {
    return lfs_json(200, json{{"lock", before}});
  });
}

const RouteSpec<LfsEnv> kLfsRoutes[] = {
    {"POST", "/objects/batch", "repo:read", &batch},
    {"PUT", "/objects/{oid}", "repo:write", nullptr, &upload},
    {"GET", "/objects/{oid}", "repo:read", nullptr, &download},
    {"POST", "/verify", "repo:write", &verify},
    {"POST", "/locks", "repo:write", &create_lock},
    {"GET", "/locks", "repo:read", &list_locks},
    {"POST", "/locks/verify", "repo:write", &verify_locks},
    {"POST", "/locks/{id}/unlock", "repo:write", &unlock},
};

}  // namespace

void add_lfs_routes(Router& router, Services& services, storage::BlobStore& blobs,
                    LfsOptions options) {
  add_routes(router, std::make_shared<LfsEnv>(LfsEnv{services, blobs, std::move(options)}),
             "/{owner}/{repo}/info/lfs", kLfsRoutes);
}

}  // namespace guts::api
