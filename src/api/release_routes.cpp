// Releases and release assets (api/release_routes.h; docs/releases.md). The middleware resolved
// the repository and checked the route's access (repo:read / repo:write); drafts are hidden
// here from callers without write access (404, as GitHub).
#include "api/release_routes.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "api/auth.h"
#include "api/collab_common.h"
#include "core/status.h"
#include "core/time.h"
#include "state/view.h"
#include "storage/blob_store.h"

namespace guts::api {

using collab::number_param;

namespace {

constexpr size_t kChunk = 1 << 20;  // streamed reads and writes of asset bytes

struct ReleaseEnv {
  Services& svc;
  storage::BlobStore& blobs;
  ReleaseOptions opt;
};

Response not_found() {
  return error_response(404, "Not Found");
}

bool can_write(const Request& req) {
  return repo_context(req).permission >= state::Permission::kWrite;
}

// The release of the path's {release_id} in the request's repository, if the caller may see it.
std::optional<state::Release> path_release(Services& svc, const Request& req) {
  auto id = number_param(req, "release_id");
  if (!id) return std::nullopt;
  auto rel = state::releases::get(svc.chain().schema(), svc.chain().view().kv(), *id);
  if (!rel || rel->repo_id != repo_context(req).repo.id) return std::nullopt;
  if (rel->draft && !can_write(req)) return std::nullopt;
  return rel;
}

// The asset of {asset_id} and its release, in the request's repository and visible.
std::optional<std::pair<state::Release, state::ReleaseAsset>> path_asset(Services& svc,
                                                                         const Request& req) {
  auto id = number_param(req, "asset_id");
  if (!id) return std::nullopt;
  auto view = svc.chain().view();
  auto a = state::releases::asset(svc.chain().schema(), view.kv(), *id);
  if (!a || a->repo_id != repo_context(req).repo.id) return std::nullopt;
  auto rel = state::releases::get(svc.chain().schema(), view.kv(), a->release_id);
  if (!rel || (rel->draft && !can_write(req))) return std::nullopt;
  return std::make_pair(*rel, *a);
}

json full_release(Services& svc, const Request& req, const state::Release& rel) {
  const auto& ctx = repo_context(req);
  auto assets = state::releases::assets_of(svc.chain().schema(), svc.chain().view().kv(), rel.id);
  return release_json(svc, ctx.repo, ctx.owner, rel, assets);
}

Response release_after(Services& svc, const Request& req, uint64_t id, int status) {
  auto rel = state::releases::get(svc.chain().schema(), svc.chain().view().kv(), id);
  if (!rel) return not_found();
  return json_response(status, full_release(svc, req, *rel));
}

// Answers a streaming request with a buffered response.
void send(const Request& req, Exchange& ex, Response resp) {
  resp.headers.set("Content-Length", std::to_string(resp.body.size()));
  if (!resp.headers.get("Content-Type"))
    resp.headers.set("Content-Type", "application/json; charset=utf-8");
  ex.begin_response(resp.status, resp.headers);
  if (req.method != "HEAD") ex.write(resp.body);
  ex.finish();
}

// GitHub renames asset files with special characters: anything but letters, digits and
// "._-+@" becomes '.', and leading or trailing dots go.
std::string clean_asset_name(std::string_view name) {
  std::string out;
  for (unsigned char c : name)
    out.push_back(std::isalnum(c) || std::string_view("._-+@").find(static_cast<char>(c)) !=
                                         std::string_view::npos
                      ? static_cast<char>(c)
                      : '.');
  auto first = out.find_first_not_of('.');
  if (first == std::string::npos) return "";
  auto last = out.find_last_not_of('.');
  return out.substr(first, last - first + 1);
}

// A write through the caller, blocking (worker routes only); the failure as GitHub answers it.
std::optional<Response> submit_or_error(Services& svc, const Request& req, state::TxBody body,
                                        state::TxOutcome* out = nullptr) {
  auto o = collab::submit_wait(svc, req.principal, std::move(body));
  if (out) *out = o;
  if (!o.applied) return status_response(o.status, "Release");
  return std::nullopt;
}

// A published release needs its tag in git: when the tag does not exist, it is created at the
// head of target_commitish (a branch), as GitHub does, before the release is written.
std::optional<Response> ensure_tag(Services& svc, const Request& req, const std::string& tag,
                                   const std::string& target) {
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  if (view.ref(ctx.repo.id, "refs/tags/" + tag)) return std::nullopt;
  std::optional<Bytes> head = view.ref(ctx.repo.id, "refs/heads/" + target);
  if (!head && target.size() == 40) {
    // A commit id: accepted when a branch or tag of the repository points at it.
    for (const auto& [name, oid] : view.refs(ctx.repo.id))
      if (hex_encode(oid) == target) head = oid;
  }
  if (!head)
    return validation_failed("Release", "target_commitish", "invalid",
                             "target_commitish must name a branch (or a commit a ref points at) "
                             "when the tag does not exist yet");
  state::UpdateRefs u{ctx.repo.id, {{"refs/tags/" + tag, {}, *head}}, false};
  return submit_or_error(svc, req, u);
}

// GET /releases
void list_releases(ReleaseEnv& env, Request& req, Responder respond) {
  auto& svc = env.svc;
  const auto& ctx = repo_context(req);
  json arr = json::array();
  for (const auto& rel :
       state::releases::of_repo(svc.chain().schema(), svc.chain().view().kv(), ctx.repo.id))
    if (!rel.draft || can_write(req)) arr.push_back(full_release(svc, req, rel));
  respond(collab::page_response(req, svc, arr));
}

// GET /releases/{release_id}
void get_release(ReleaseEnv& env, Request& req, Responder respond) {
  auto rel = path_release(env.svc, req);
  if (!rel) return respond(not_found());
  respond(collab::get_response(req, full_release(env.svc, req, *rel)));
}

// GET /releases/latest: the newest published release that is neither a draft nor a prerelease.
void latest_release(ReleaseEnv& env, Request& req, Responder respond) {
  auto& svc = env.svc;
  std::optional<state::Release> best;
  for (auto& rel : state::releases::of_repo(svc.chain().schema(), svc.chain().view().kv(),
                                            repo_context(req).repo.id)) {
    if (rel.draft || rel.prerelease) continue;
    if (!best || rel.published_ms > best->published_ms) best = std::move(rel);
  }
  if (!best) return respond(not_found());
  respond(collab::get_response(req, full_release(svc, req, *best)));
}

// GET /releases/tags/{tag}
void release_by_tag(ReleaseEnv& env, Request& req, Responder respond) {
  auto& svc = env.svc;
  auto rel = state::releases::by_tag(svc.chain().schema(), svc.chain().view().kv(),
                                     repo_context(req).repo.id, req.param("tag"));
  if (!rel || (rel->draft && !can_write(req))) return respond(not_found());
  respond(collab::get_response(req, full_release(svc, req, *rel)));
}

// The fields of a create/update body.
std::optional<Response> release_fields(const nlohmann::json& body, state::UpsertRelease* u) {
  u->tag_name = string_field(body, "tag_name");
  u->target_commitish = string_field(body, "target_commitish");
  u->name = string_field(body, "name");
  u->body = string_field(body, "body");
  u->draft = bool_field(body, "draft");
  u->prerelease = bool_field(body, "prerelease");
  if (u->tag_name)
    if (auto e = state::release_tag_error(*u->tag_name))
      return validation_failed("Release", "tag_name", "invalid", "tag_name " + *e);
  if (u->body && u->body->size() > state::kMaxReleaseBody)
    return validation_failed("Release", "body", "invalid",
                             "body is too long (maximum is 125000 characters)");
  if (u->name && u->name->size() > state::kMaxReleaseName)
    return validation_failed("Release", "name", "invalid", "name is too long");
  if (u->target_commitish && u->target_commitish->size() > state::kMaxReleaseCommitish)
    return validation_failed("Release", "target_commitish", "invalid",
                             "target_commitish is too long");
  return std::nullopt;
}

// POST /releases {tag_name, target_commitish, name, body, draft, prerelease} (worker)
Response create_release(ReleaseEnv& env, Request& req) {
  auto& svc = env.svc;
  Response err;
  auto body = collab::read_body(req, &err, "Release",
                                {{"tag_name", BodyField::kString, true},
                                 {"target_commitish", BodyField::kString},
                                 {"name", BodyField::kString},
                                 {"body", BodyField::kString},
                                 {"draft", BodyField::kBoolean},
                                 {"prerelease", BodyField::kBoolean},
                                 {"generate_release_notes", BodyField::kBoolean}});
  if (!body) return err;
  const auto& ctx = repo_context(req);
  state::UpsertRelease u;
  u.repo_id = ctx.repo.id;
  if (auto e = release_fields(*body, &u)) return *e;
  auto view = svc.chain().view();
  if (state::releases::by_tag(svc.chain().schema(), view.kv(), ctx.repo.id, *u.tag_name))
    return validation_failed("Release", "tag_name", "already_exists", "");
  if (!u.draft.value_or(false))
    if (auto e =
            ensure_tag(svc, req, *u.tag_name, u.target_commitish.value_or(ctx.repo.default_branch)))
      return *e;
  state::TxOutcome o;
  if (auto e = submit_or_error(svc, req, u, &o)) return *e;
  auto id = svc.chain().view().receipt(o.id);
  return id ? release_after(svc, req, *id, 201) : not_found();
}

// PATCH /releases/{release_id} (worker)
Response update_release(ReleaseEnv& env, Request& req) {
  auto& svc = env.svc;
  Response err;
  auto body = collab::read_body(req, &err, "Release",
                                {{"tag_name", BodyField::kString},
                                 {"target_commitish", BodyField::kString},
                                 {"name", BodyField::kString},
                                 {"body", BodyField::kString},
                                 {"draft", BodyField::kBoolean},
                                 {"prerelease", BodyField::kBoolean}});
  if (!body) return err;
  auto rel = path_release(svc, req);
  if (!rel) return not_found();
  state::UpsertRelease u;
  u.release_id = rel->id;
  u.repo_id = rel->repo_id;
  if (auto e = release_fields(*body, &u)) return *e;
  bool draft = u.draft.value_or(rel->draft);
  if (!draft)
    if (auto e = ensure_tag(svc, req, u.tag_name.value_or(rel->tag_name),
                            u.target_commitish.value_or(rel->target_commitish)))
      return *e;
  if (auto e = submit_or_error(svc, req, u)) return *e;
  return release_after(svc, req, rel->id, 200);
}

// DELETE /releases/{release_id}
void delete_release(ReleaseEnv& env, Request& req, Responder respond) {
  auto rel = path_release(env.svc, req);
  if (!rel) return respond(not_found());
  collab::submit(env.svc, req, std::move(respond), state::DeleteRelease{rel->id}, "Release",
                 collab::no_content);
}

// GET /releases/{release_id}/assets
void list_assets(ReleaseEnv& env, Request& req, Responder respond) {
  auto& svc = env.svc;
  auto rel = path_release(svc, req);
  if (!rel) return respond(not_found());
  const auto& ctx = repo_context(req);
  json arr = json::array();
  for (const auto& a :
       state::releases::assets_of(svc.chain().schema(), svc.chain().view().kv(), rel->id))
    arr.push_back(release_asset_json(svc, ctx.repo, ctx.owner, *rel, a));
  respond(collab::page_response(req, svc, arr));
}

// Streams an asset's bytes: Content-Length, a strong ETag (its SHA-256), 304 on If-None-Match.
void send_bytes(ReleaseEnv& env, const Request& req, Exchange& ex, const state::ReleaseAsset& a) {
  storage::Sha256 sha{};
  std::copy(a.sha256.begin(), a.sha256.end(), sha.begin());
  const std::string etag = "\"" + storage::sha256_hex(sha) + "\"";
  if (!env.blobs.contains(sha)) {
    // Named by finalized state but not here yet (being fetched from a peer).
    Response r = error_response(503, "The asset's bytes are not on this node yet");
    r.headers.set("Retry-After", "5");
    return send(req, ex, std::move(r));
  }
  Headers h;
  h.set("ETag", etag);
  h.set("Cache-Control", "private, max-age=60");
  if (auto inm = req.headers.get("If-None-Match");
      inm && (inm->find(etag) != std::string::npos || inm->find('*') != std::string::npos)) {
    h.set("Content-Length", "0");
    ex.begin_response(304, h);
    ex.finish();
    return;
  }
  h.set("Content-Type", "application/octet-stream");
  h.set("Content-Disposition", "attachment; filename=" + a.name);
  h.set("Content-Length", std::to_string(a.size));
  ex.begin_response(200, h);
  if (req.method != "HEAD") {
    for (uint64_t off = 0; off < a.size;) {
      Bytes chunk = env.blobs.read_range(sha, off, kChunk);
      if (chunk.empty()) throw Error(Code::kInternal, "asset blob is shorter than its size");
      ex.write(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()));
      off += chunk.size();
    }
  }
  ex.finish();
}

bool wants_bytes(const Request& req) {
  auto accept = req.headers.get("Accept");
  return accept && accept->find("application/octet-stream") != std::string::npos;
}

// GET /releases/assets/{asset_id}: the asset's JSON, or with Accept: application/octet-stream
// its bytes (streaming route).
void get_asset(ReleaseEnv& env, Request& req, Exchange& ex) {
  auto found = path_asset(env.svc, req);
  if (!found) return send(req, ex, not_found());
  if (wants_bytes(req)) return send_bytes(env, req, ex, found->second);
  const auto& ctx = repo_context(req);
  auto j = release_asset_json(env.svc, ctx.repo, ctx.owner, found->first, found->second);
  send(req, ex, with_etag(req, json_response(200, j)));
}

// GET /{owner}/{repo}/releases/download/{tag}/{name}: browser_download_url (streaming route).
void download_by_name(ReleaseEnv& env, Request& req, Exchange& ex) {
  auto rest = req.param("rest");
  auto slash = rest.rfind('/');
  if (slash == std::string::npos) return send(req, ex, not_found());
  auto& svc = env.svc;
  auto view = svc.chain().view();
  auto rel = state::releases::by_tag(svc.chain().schema(), view.kv(), repo_context(req).repo.id,
                                     rest.substr(0, slash));
  if (!rel || (rel->draft && !can_write(req))) return send(req, ex, not_found());
  for (const auto& a : state::releases::assets_of(svc.chain().schema(), view.kv(), rel->id))
    if (a.name == rest.substr(slash + 1)) return send_bytes(env, req, ex, a);
  send(req, ex, not_found());
}

// PATCH /releases/assets/{asset_id} {name, label}
void update_asset(ReleaseEnv& env, Request& req, Responder respond) {
  auto& svc = env.svc;
  auto body = collab::read_body(
      req, respond, "ReleaseAsset",
      {{"name", BodyField::kString}, {"label", BodyField::kString}, {"state", BodyField::kString}});
  if (!body) return;
  auto found = path_asset(svc, req);
  if (!found) return respond(not_found());
  state::SetReleaseAsset s;
  s.asset_id = found->second.id;
  s.repo_id = found->second.repo_id;
  s.name = string_field(*body, "name");
  s.label = string_field(*body, "label");
  if (s.name)
    if (auto e = state::asset_name_error(*s.name))
      return respond(validation_failed("ReleaseAsset", "name", "invalid", "name " + *e));
  if (s.label && s.label->size() > state::kMaxAssetLabel)
    return respond(validation_failed("ReleaseAsset", "label", "invalid", "label is too long"));
  uint64_t id = s.asset_id;
  collab::submit(
      svc, req, std::move(respond), s, "ReleaseAsset", [&svc, req, id](const state::TxOutcome&) {
        auto view = svc.chain().view();
        auto a = state::releases::asset(svc.chain().schema(), view.kv(), id);
        auto rel =
            a ? state::releases::get(svc.chain().schema(), view.kv(), a->release_id) : std::nullopt;
        if (!rel) return not_found();
        const auto& ctx = repo_context(req);
        return json_response(200, release_asset_json(svc, ctx.repo, ctx.owner, *rel, *a));
      });
}

// DELETE /releases/assets/{asset_id}
void delete_asset(ReleaseEnv& env, Request& req, Responder respond) {
  auto found = path_asset(env.svc, req);
  if (!found) return respond(not_found());
  state::SetReleaseAsset s;
  s.asset_id = found->second.id;
  s.repo_id = found->second.repo_id;
  s.remove = true;
  collab::submit(env.svc, req, std::move(respond), s, "ReleaseAsset", collab::no_content);
}

// POST /releases/{release_id}/assets?name=&label= with the bytes as the body (streaming route):
// the body goes to the BlobStore in chunks, bounded by max_asset_bytes (413, nothing kept),
// then one set_release_asset transaction names the blob.
void upload_asset(ReleaseEnv& env, Request& req, Exchange& ex) {
  auto& svc = env.svc;
  // An answer before the body was read: the server closes the connection after it.
  auto fail = [&](Response r) { send(req, ex, std::move(r)); };
  auto rel = path_release(svc, req);
  if (!rel) return fail(not_found());
  if (!req.principal.authenticated) return fail(error_response(401, "Requires authentication"));
  auto raw = req.query_param("name");
  if (!raw || raw->empty())
    return fail(validation_failed("ReleaseAsset", "name", "missing_field", "name is required"));
  std::string name = clean_asset_name(*raw);
  if (auto e = state::asset_name_error(name))
    return fail(validation_failed("ReleaseAsset", "name", "invalid", "name " + *e));
  auto label = req.query_param("label");
  if (label && label->size() > state::kMaxAssetLabel)
    return fail(validation_failed("ReleaseAsset", "label", "invalid", "label is too long"));
  for (const auto& a :
       state::releases::assets_of(svc.chain().schema(), svc.chain().view().kv(), rel->id))
    if (a.name == name)
      return fail(validation_failed("ReleaseAsset", "name", "already_exists", ""));
  std::string content_type = req.headers.get("Content-Type").value_or("application/octet-stream");
  if (content_type.empty() || content_type.size() > state::kMaxAssetContentType)
    content_type = "application/octet-stream";
  const uint64_t max = std::min(env.opt.max_asset_bytes, state::kMaxAssetBytes);
  const std::string too_large =
      "Asset is larger than this node accepts (" + std::to_string(max) + " bytes)";
  if (auto cl = req.headers.get("Content-Length")) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), n);
    if (ec != std::errc() || p != cl->data() + cl->size())
      return fail(error_response(400, "Invalid Content-Length"));
    if (n > max) return fail(error_response(413, too_large));
  }

  storage::Sha256 sha{};
  uint64_t size = 0;
  {
    auto writer = env.blobs.begin(max);
    std::vector<uint8_t> buf(kChunk);
    try {
      while (size_t n = ex.read_body(buf.data(), buf.size()))
        writer->write(ByteView(buf.data(), n));
    } catch (const Error& e) {
      if (e.code() == Code::kTooLarge) return fail(error_response(413, too_large));
      throw;
    }
    size = writer->size();
    sha = writer->commit();
  }

  state::SetReleaseAsset s;
  s.repo_id = rel->repo_id;
  s.release_id = rel->id;
  s.name = name;
  if (label && !label->empty()) s.label = *label;
  s.content_type = content_type;
  s.size = size;
  std::copy(sha.begin(), sha.end(), s.sha256.begin());
  state::TxOutcome o;
  if (auto e = submit_or_error(svc, req, s, &o)) return send(req, ex, *e);
  auto id = svc.chain().view().receipt(o.id);
  auto a = id ? state::releases::asset(svc.chain().schema(), svc.chain().view().kv(), *id)
              : std::nullopt;
  if (!a) return send(req, ex, not_found());
  const auto& ctx = repo_context(req);
  send(req, ex, json_response(201, release_asset_json(svc, ctx.repo, ctx.owner, *rel, *a)));
}

const RouteSpec<ReleaseEnv> kReleaseRoutes[] = {
    {"GET", "/releases", "repo:read", &list_releases},
    {"POST", "/releases", "repo:write", nullptr, &collab::worker<ReleaseEnv, &create_release>},
    {"GET", "/releases/latest", "repo:read", &latest_release},
    {"GET", "/releases/tags/{tag}", "repo:read", &release_by_tag},
    {"GET", "/releases/{release_id}", "repo:read", &get_release},
    {"PATCH", "/releases/{release_id}", "repo:write", nullptr,
     &collab::worker<ReleaseEnv, &update_release>},
    {"DELETE", "/releases/{release_id}", "repo:write", &delete_release},
    {"GET", "/releases/{release_id}/assets", "repo:read", &list_assets},
    {"POST", "/releases/{release_id}/assets", "repo:write", nullptr, &upload_asset},
    {"GET", "/releases/assets/{asset_id}", "repo:read", nullptr, &get_asset},
    {"PATCH", "/releases/assets/{asset_id}", "repo:write", &update_asset},
    {"DELETE", "/releases/assets/{asset_id}", "repo:write", &delete_asset},
};
// GitHub's uploads host, served by this node under /api/uploads (upload_url).
const RouteSpec<ReleaseEnv> kUploadRoutes[] = {
    {"POST", "/releases/{release_id}/assets", "repo:write", nullptr, &upload_asset},
};
// browser_download_url.
const RouteSpec<ReleaseEnv> kDownloadRoutes[] = {
    {"GET", "/releases/download/{rest...}", "repo:read", nullptr, &download_by_name},
};

}  // namespace

json release_asset_json(Services& svc, const state::Repo& repo, const state::Account& owner,
                        const state::Release& rel, const state::ReleaseAsset& a) {
  auto urls = collab::urls_of(svc, repo, owner);
  json uploader = nullptr;
  if (auto acct = svc.chain().view().account(a.uploader))
    uploader = user_json(*acct, svc.public_url());
  return {{"url", urls.api + "/releases/assets/" + std::to_string(a.id)},
          {"browser_download_url", urls.html + "/releases/download/" + rel.tag_name + "/" + a.name},
          {"id", a.id},
          {"node_id", node_id("ReleaseAsset", a.id)},
          {"name", a.name},
          {"label", a.label.empty() ? json(nullptr) : json(a.label)},
          {"state", "uploaded"},
          {"content_type", a.content_type},
          {"size", a.size},
          {"digest", "sha256:" + hex_encode(ByteView(a.sha256.data(), a.sha256.size()))},
          {"download_count", 0},
          {"created_at", iso8601(a.created_ms)},
          {"updated_at", iso8601(a.updated_ms)},
          {"uploader", uploader}};
}

json release_json(Services& svc, const state::Repo& repo, const state::Account& owner,
                  const state::Release& rel, const std::vector<state::ReleaseAsset>& assets) {
  auto urls = collab::urls_of(svc, repo, owner);
  const std::string url = urls.api + "/releases/" + std::to_string(rel.id);
  json author = nullptr;
  if (auto acct = svc.chain().view().account(rel.author))
    author = user_json(*acct, svc.public_url());
  json list = json::array();
  for (const auto& a : assets) list.push_back(release_asset_json(svc, repo, owner, rel, a));
  return {
      {"url", url},
      {"assets_url", url + "/assets"},
      {"upload_url", svc.public_url() + "/api/uploads/repos/" + owner.username + "/" + repo.name +
                         "/releases/" + std::to_string(rel.id) + "/assets{?name,label}"},
      {"html_url", urls.html + "/releases/tag/" + rel.tag_name},
      {"id", rel.id},
      {"author", author},
      {"node_id", node_id("Release", rel.id)},
      {"tag_name", rel.tag_name},
      {"target_commitish", rel.target_commitish},
      {"name", rel.name.empty() ? json(nullptr) : json(rel.name)},
      {"draft", rel.draft},
      {"prerelease", rel.prerelease},
      {"created_at", iso8601(rel.created_ms)},
      {"published_at", rel.published_ms ? json(iso8601(rel.published_ms)) : json(nullptr)},
      {"assets", list},
      {"tarball_url", urls.api + "/tarball/" + rel.tag_name},
      {"zipball_url", urls.api + "/zipball/" + rel.tag_name},
      {"body", rel.body}};
}

void add_release_routes(Router& router, Services& services, storage::BlobStore& blobs,
                        ReleaseOptions options) {
  auto env = std::make_shared<ReleaseEnv>(ReleaseEnv{services, blobs, options});
  add_routes(router, env, "/api/v3/repos/{owner}/{repo}", kReleaseRoutes);
  add_routes(router, env, "/api/uploads/repos/{owner}/{repo}", kUploadRoutes);
  add_routes(router, env, "/{owner}/{repo}", kDownloadRoutes);
}

}  // namespace guts::api
