// Releases as replicated state (issue 17 point 3; docs/releases.md).
//
// A release names a tag of a repository, with notes (Markdown), draft/prerelease flags and
// assets. It is created, changed and deleted by signed transactions:
//   46 upsert_release     create (release_id 0) or update a release
//   47 delete_release     delete a release and its assets
//   48 set_release_asset  add (asset_id 0), rename/relabel or remove an asset
// Every change needs write permission on the repository (state::effective_permission); a tag
// names at most one release per repository; asset names are unique within a release. Times
// come from the block (deterministic). An asset's bytes are a blob (storage::BlobStore) named
// by its SHA-256; the add transaction names it in state::blob_refs, so every node holds the
// bytes before it applies the block. Drafts are replicated like the rest; that users without
// push access do not see them is a rule of the readers (api/release_routes.cpp).
//
// Layout, in the `governance` family, under the multi-byte prefix "release/" (no one-byte tag
// of state/org_view.cpp and others is followed by "elease/"):
//   release/r be64(id)                 -> encode_release(Release)
//   release/i be64(repo) be64(id)      -> ""        (releases of a repository)
//   release/t be64(repo) tag           -> be64(id)  (the one release of a tag)
//   release/a be64(asset)              -> encode_release_asset(ReleaseAsset)
//   release/A be64(release) be64(asset)-> ""        (assets of a release)
//   release/x be64(id)                 -> encode_release(Release): the last state of a deleted
//                                         release (for the "deleted" webhook payload)
//   release/n -> be64(next release id)   release/m -> be64(next asset id)
// The id a create assigns is the transaction's receipt (the `receipts` family).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "crypto/ed25519.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

struct Schema;
class KvReader;
class Overlay;
struct Transaction;

inline constexpr size_t kMaxReleaseTag = 255;
inline constexpr size_t kMaxReleaseCommitish = 255;
inline constexpr size_t kMaxReleaseName = 1024;
inline constexpr size_t kMaxReleaseBody = 125000;  // GitHub's limit on release notes
inline constexpr size_t kMaxAssetName = 255;
inline constexpr size_t kMaxAssetLabel = 1024;
inline constexpr size_t kMaxAssetContentType = 255;
inline constexpr size_t kMaxAssetsPerRelease = 1000;  // GitHub's limit
inline constexpr size_t kMaxReleasesPerRepo = 10000;
// The largest asset the state accepts (GitHub's limit: 2 GiB). A node may accept less
// (option release-asset-max-bytes).
inline constexpr uint64_t kMaxAssetBytes = uint64_t{2} << 30;

// ---- transaction bodies ----

struct UpsertRelease {
  uint64_t release_id = 0;              // 0: create in repo_id
  uint64_t repo_id = 0;                 // the repository (checked against the release on update)
  std::optional<std::string> tag_name;  // required on create
  std::optional<std::string> target_commitish, name, body;
  std::optional<bool> draft, prerelease;
};
struct DeleteRelease {
  uint64_t release_id = 0;
};
struct SetReleaseAsset {
  uint64_t asset_id = 0;    // 0: add a new asset to release_id
  uint64_t repo_id = 0;     // the repository whose seeds host the blob (state::blob_refs)
  uint64_t release_id = 0;  // add: the release
  bool remove = false;      // with asset_id: delete the asset
  std::optional<std::string> name, label;  // name required on add
  std::string content_type;                // add only
  uint64_t size = 0;                       // add only
  Digest sha256{};                         // add only: the blob
};

template <typename T>
inline constexpr bool kIsReleaseBody =
    std::is_same_v<T, UpsertRelease> || std::is_same_v<T, DeleteRelease> ||
    std::is_same_v<T, SetReleaseAsset>;

void encode_release_body(codec::Writer& w, const UpsertRelease& b);
void encode_release_body(codec::Writer& w, const DeleteRelease& b);
void encode_release_body(codec::Writer& w, const SetReleaseAsset& b);
template <typename T>
T decode_release_body(codec::Reader& r);

// ---- records ----

struct Release {
  uint64_t id = 0;
  uint64_t repo_id = 0;
  std::string tag_name, target_commitish, name, body;
  bool draft = false, prerelease = false;
  crypto::PublicKey author{};
  uint64_t created_ms = 0;
  uint64_t published_ms = 0;  // 0: not published (a draft)
  uint64_t updated_ms = 0;
};
struct ReleaseAsset {
  uint64_t id = 0;
  uint64_t release_id = 0;
  uint64_t repo_id = 0;
  std::string name, label, content_type;
  uint64_t size = 0;
  Digest sha256{};
  crypto::PublicKey uploader{};
  uint64_t created_ms = 0, updated_ms = 0;
};
std::string encode_release(const Release& r);
Release decode_release(std::string_view data);  // throws codec::DecodeError
std::string encode_release_asset(const ReleaseAsset& a);
ReleaseAsset decode_release_asset(std::string_view data);

// Pure validity of names: nullopt when valid, else the reason.
std::optional<std::string> release_tag_error(const std::string& tag);
std::optional<std::string> asset_name_error(const std::string& name);

namespace releases {
std::optional<Release> get(const Schema& s, const KvReader& kv, uint64_t id);
// The deleted release's last state (webhooks), if it was deleted.
std::optional<Release> deleted(const Schema& s, const KvReader& kv, uint64_t id);
std::optional<Release> by_tag(const Schema& s, const KvReader& kv, uint64_t repo_id,
                              const std::string& tag);
// Newest first (descending id), drafts included.
std::vector<Release> of_repo(const Schema& s, const KvReader& kv, uint64_t repo_id);
std::optional<ReleaseAsset> asset(const Schema& s, const KvReader& kv, uint64_t asset_id);
// Ascending id.
std::vector<ReleaseAsset> assets_of(const Schema& s, const KvReader& kv, uint64_t release_id);
}  // namespace releases

// Validity and application of kinds 46-48. Rejections leave `state` untouched.
Status apply_release(const Schema& s, Overlay& state, const Transaction& tx, uint64_t now_ms);

}  // namespace guts::state
