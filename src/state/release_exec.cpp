// Reads and validity rules of releases (state/release.h; docs/releases.md): write permission on
// the repository (state::effective_permission; none: 404, less: 403), one release per tag, asset
// names unique within a release, bounded sizes. Field errors are "<field>: <reason>" (422).
#include <set>

#include "state/kv.h"
#include "state/permission.h"
#include "state/rejections.h"
#include "state/release.h"
#include "state/rules.h"
#include "state/tx.h"
#include "state/view.h"
#include "storage/db.h"

namespace guts::state {

namespace {

using reject::denied;
using reject::invalid;
using reject::not_found;

const std::string kPrefix = "release/";

std::string release_key(uint64_t id) {
  return kPrefix + "r" + storage::be64(id);
}
std::string deleted_key(uint64_t id) {
  return kPrefix + "x" + storage::be64(id);
}
std::string repo_index_prefix(uint64_t repo) {
  return kPrefix + "i" + storage::be64(repo);
}
std::string repo_index_key(uint64_t repo, uint64_t id) {
  return repo_index_prefix(repo) + storage::be64(id);
}
std::string tag_key(uint64_t repo, const std::string& tag) {
  return kPrefix + "t" + storage::be64(repo) + tag;
}
std::string asset_key(uint64_t id) {
  return kPrefix + "a" + storage::be64(id);
}
std::string asset_index_prefix(uint64_t release) {
  return kPrefix + "A" + storage::be64(release);
}
std::string asset_index_key(uint64_t release, uint64_t asset) {
  return asset_index_prefix(release) + storage::be64(asset);
}
const std::string kNextRelease = kPrefix + "n";
const std::string kNextAsset = kPrefix + "m";

uint64_t next_id(const Schema& s, const KvReader& kv, const std::string& key) {
  auto v = kv.get(s.governance, key);
  return v ? storage::read_be64(*v) : 1;
}

Status field(const char* name, const std::string& why) {
  return invalid(std::string(name) + ": " + why);
}

bool has_control(const std::string& s, bool allow_newlines) {
  for (unsigned char c : s) {
    if (allow_newlines && (c == '\n' || c == '\r' || c == '\t')) continue;
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// The repository, if the author may write to it.
Result<Repo> writable_repo(const StateView& view, uint64_t repo_id,
                           const crypto::PublicKey& author) {
  auto repo = view.repo(repo_id);
  auto have = repo ? effective_permission(view, *repo, author) : Permission::kNone;
  if (!repo || have == Permission::kNone)
    return not_found("repository " + std::to_string(repo_id) + " does not exist");
  if (have < Permission::kWrite) return denied("requires write permission on the repository");
  return *repo;
}

Status check_release_fields(const UpsertRelease& b) {
  if (b.tag_name)
    if (auto e = release_tag_error(*b.tag_name)) return field("tag_name", *e);
  if (b.target_commitish) {
    if (b.target_commitish->empty() || has_control(*b.target_commitish, false))
      return field("target_commitish", "is invalid");
  }
  if (b.name && has_control(*b.name, false)) return field("name", "contains control characters");
  if (b.body && b.body->size() > kMaxReleaseBody)
    return field("body", "is too long (maximum is 125000 characters)");
  return Status::Ok();
}

}  // namespace

std::optional<std::string> release_tag_error(const std::string& tag) {
  if (tag.empty()) return "is empty";
  if (tag.size() > kMaxReleaseTag) return "is longer than 255 bytes";
  if (tag.front() == '-') return "may not begin with '-'";
  if (auto e = ref_name_error("refs/tags/" + tag)) return *e;
  return std::nullopt;
}

std::optional<std::string> asset_name_error(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxAssetName) return "is longer than 255 bytes";
  if (name == "." || name == "..") return "is not a file name";
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') return "contains '/', '\\' or controls";
  return std::nullopt;
}

namespace releases {

std::optional<Release> get(const Schema& s, const KvReader& kv, uint64_t id) {
  auto v = kv.get(s.governance, release_key(id));
  if (!v) return std::nullopt;
  return decode_release(*v);
}

std::optional<Release> deleted(const Schema& s, const KvReader& kv, uint64_t id) {
  auto v = kv.get(s.governance, deleted_key(id));
  if (!v) return std::nullopt;
  return decode_release(*v);
}

std::optional<Release> by_tag(const Schema& s, const KvReader& kv, uint64_t repo_id,
                              const std::string& tag) {
  auto v = kv.get(s.governance, tag_key(repo_id, tag));
  if (!v) return std::nullopt;
  return get(s, kv, storage::read_be64(*v));
}

std::vector<Release> of_repo(const Schema& s, const KvReader& kv, uint64_t repo_id) {
  std::vector<uint64_t> ids;
  kv.scan_prefix(s.governance, repo_index_prefix(repo_id),
                 [&](std::string_view k, std::string_view) {
                   ids.push_back(storage::read_be64(k.substr(k.size() - 8)));
                   return true;
                 });
  std::vector<Release> out;
  for (auto it = ids.rbegin(); it != ids.rend(); ++it)
    if (auto r = get(s, kv, *it)) out.push_back(std::move(*r));
  return out;
}

std::optional<ReleaseAsset> asset(const Schema& s, const KvReader& kv, uint64_t asset_id) {
  auto v = kv.get(s.governance, asset_key(asset_id));
  if (!v) return std::nullopt;
  return decode_release_asset(*v);
}

std::vector<ReleaseAsset> assets_of(const Schema& s, const KvReader& kv, uint64_t release_id) {
  std::vector<uint64_t> ids;
  kv.scan_prefix(s.governance, asset_index_prefix(release_id),
                 [&](std::string_view k, std::string_view) {
                   ids.push_back(storage::read_be64(k.substr(k.size() - 8)));
                   return true;
                 });
  std::vector<ReleaseAsset> out;
  for (uint64_t id : ids)
    if (auto a = asset(s, kv, id)) out.push_back(std::move(*a));
  return out;
}

}  // namespace releases

Status apply_release(const Schema& s, Overlay& state, const Transaction& tx, uint64_t now) {
  StateView view(s, state);
  const auto& author = tx.author;
  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, UpsertRelease>) {
          if (auto st = check_release_fields(b); !st.ok()) return st;
          Release rel;
          if (b.release_id == 0) {
            auto repo = writable_repo(view, b.repo_id, author);
            if (!repo.ok()) return repo.status();
            if (!b.tag_name) return field("tag_name", "is required");
            if (releases::of_repo(s, state, b.repo_id).size() >= kMaxReleasesPerRepo)
              return field("release", "limit of releases reached");
            rel.id = next_id(s, state, kNextRelease);
            rel.repo_id = b.repo_id;
            rel.tag_name = *b.tag_name;
            rel.target_commitish = b.target_commitish.value_or(repo->default_branch);
            rel.author = author;
            rel.created_ms = now;
            state.put(s.governance, kNextRelease, storage::be64(rel.id + 1));
            state.put(s.governance, repo_index_key(rel.repo_id, rel.id), "");
            state.put(s.receipts, key_of(tx.id()), storage::be64(rel.id));
          } else {
            auto cur = releases::get(s, state, b.release_id);
            if (!cur || (b.repo_id != 0 && cur->repo_id != b.repo_id))
              return not_found("release " + std::to_string(b.release_id) + " does not exist");
            auto repo = writable_repo(view, cur->repo_id, author);
            if (!repo.ok()) return repo.status();
            rel = *cur;
            if (b.tag_name && *b.tag_name != rel.tag_name)
              state.del(s.governance, tag_key(rel.repo_id, rel.tag_name));
            if (b.tag_name) rel.tag_name = *b.tag_name;
            if (b.target_commitish) rel.target_commitish = *b.target_commitish;
          }
          // One release per tag.
          auto holder = state.get(s.governance, tag_key(rel.repo_id, rel.tag_name));
          if (holder && storage::read_be64(*holder) != rel.id)
            return field("tag_name", "already_exists");
          if (b.name) rel.name = *b.name;
          if (b.body) rel.body = *b.body;
          if (b.draft) rel.draft = *b.draft;
          if (b.prerelease) rel.prerelease = *b.prerelease;
          rel.published_ms = rel.draft ? 0 : (rel.published_ms ? rel.published_ms : now);
          rel.updated_ms = now;
          state.put(s.governance, tag_key(rel.repo_id, rel.tag_name), storage::be64(rel.id));
          state.put(s.governance, release_key(rel.id), encode_release(rel));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, DeleteRelease>) {
          auto rel = releases::get(s, state, b.release_id);
          if (!rel) return not_found("release " + std::to_string(b.release_id) + " does not exist");
          auto repo = writable_repo(view, rel->repo_id, author);
          if (!repo.ok()) return repo.status();
          for (const auto& a : releases::assets_of(s, state, rel->id)) {
            state.del(s.governance, asset_key(a.id));
            state.del(s.governance, asset_index_key(rel->id, a.id));
          }
          state.del(s.governance, release_key(rel->id));
          state.del(s.governance, repo_index_key(rel->repo_id, rel->id));
          state.del(s.governance, tag_key(rel->repo_id, rel->tag_name));
          Release gone = *rel;
          gone.updated_ms = now;
          state.put(s.governance, deleted_key(rel->id), encode_release(gone));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SetReleaseAsset>) {
          if (b.name)
            if (auto e = asset_name_error(*b.name)) return field("name", *e);
          if (b.label && has_control(*b.label, false))
            return field("label", "contains control characters");
          if (b.asset_id == 0) {
            if (b.remove) return field("asset_id", "is required to remove an asset");
            auto rel = releases::get(s, state, b.release_id);
            if (!rel || rel->repo_id != b.repo_id)
              return not_found("release " + std::to_string(b.release_id) + " does not exist");
            auto repo = writable_repo(view, rel->repo_id, author);
            if (!repo.ok()) return repo.status();
            if (!b.name) return field("name", "is required");
            if (b.content_type.empty() || has_control(b.content_type, false))
              return field("content_type", "is invalid");
            if (b.size > kMaxAssetBytes) return field("size", "is larger than 2 GiB");
            auto existing = releases::assets_of(s, state, rel->id);
            if (existing.size() >= kMaxAssetsPerRelease)
              return field("asset", "limit of 1000 assets per release reached");
            for (const auto& a : existing)
              if (a.name == *b.name) return field("name", "already_exists");
            ReleaseAsset a;
            a.id = next_id(s, state, kNextAsset);
            a.release_id = rel->id;
            a.repo_id = rel->repo_id;
            a.name = *b.name;
            a.label = b.label.value_or("");
            a.content_type = b.content_type;
            a.size = b.size;
            a.sha256 = b.sha256;
            a.uploader = author;
            a.created_ms = a.updated_ms = now;
            state.put(s.governance, kNextAsset, storage::be64(a.id + 1));
            state.put(s.governance, asset_key(a.id), encode_release_asset(a));
            state.put(s.governance, asset_index_key(a.release_id, a.id), "");
            state.put(s.receipts, key_of(tx.id()), storage::be64(a.id));
            return Status::Ok();
          }
          auto a = releases::asset(s, state, b.asset_id);
          if (!a || (b.repo_id != 0 && a->repo_id != b.repo_id))
            return not_found("asset " + std::to_string(b.asset_id) + " does not exist");
          auto repo = writable_repo(view, a->repo_id, author);
          if (!repo.ok()) return repo.status();
          if (b.remove) {
            state.del(s.governance, asset_key(a->id));
            state.del(s.governance, asset_index_key(a->release_id, a->id));
            return Status::Ok();
          }
          if (b.name && *b.name != a->name) {
            for (const auto& other : releases::assets_of(s, state, a->release_id))
              if (other.name == *b.name) return field("name", "already_exists");
            a->name = *b.name;
          }
          if (b.label) a->label = *b.label;
          a->updated_ms = now;
          state.put(s.governance, asset_key(a->id), encode_release_asset(*a));
          return Status::Ok();
        } else {
          return invalid("not a release transaction");
        }
      },
      tx.body);
}

}  // namespace guts::state
