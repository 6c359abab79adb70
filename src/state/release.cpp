// Wire encodings of the release transactions and records (state/release.h).
#include "state/release.h"

#include "codec/codec.h"
#include "state/field_codec.h"

namespace guts::state {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;
using namespace field;  // state/field_codec.h

namespace {
constexpr uint8_t kReleaseRecordVersion = 1;
constexpr uint8_t kAssetRecordVersion = 1;
}  // namespace

void encode_release_body(Writer& w, const UpsertRelease& b) {
  w.varint(b.release_id).varint(b.repo_id);
  put_opt_str(w, b.tag_name);
  put_opt_str(w, b.target_commitish);
  put_opt_str(w, b.name);
  put_opt_str(w, b.body);
  put_opt_bool(w, b.draft);
  put_opt_bool(w, b.prerelease);
}
void encode_release_body(Writer& w, const DeleteRelease& b) {
  w.varint(b.release_id);
}
void encode_release_body(Writer& w, const SetReleaseAsset& b) {
  w.varint(b.asset_id).varint(b.repo_id).varint(b.release_id).boolean(b.remove);
  put_opt_str(w, b.name);
  put_opt_str(w, b.label);
  w.str(b.content_type).varint(b.size).fixed(b.sha256);
}

template <>
UpsertRelease decode_release_body<UpsertRelease>(Reader& r) {
  UpsertRelease b;
  b.release_id = r.varint();
  b.repo_id = r.varint();
  b.tag_name = get_opt_str(r, kMaxReleaseTag, "tag_name");
  b.target_commitish = get_opt_str(r, kMaxReleaseCommitish, "target_commitish");
  b.name = get_opt_str(r, kMaxReleaseName, "name");
  b.body = get_opt_str(r, kMaxReleaseBody, "body");
  b.draft = get_opt_bool(r);
  b.prerelease = get_opt_bool(r);
  return b;
}
template <>
DeleteRelease decode_release_body<DeleteRelease>(Reader& r) {
  return DeleteRelease{r.varint()};
}
template <>
SetReleaseAsset decode_release_body<SetReleaseAsset>(Reader& r) {
  SetReleaseAsset b;
  b.asset_id = r.varint();
  b.repo_id = r.varint();
  b.release_id = r.varint();
  b.remove = r.boolean();
  b.name = get_opt_str(r, kMaxAssetName, "name");
  b.label = get_opt_str(r, kMaxAssetLabel, "label");
  b.content_type = r.str(kMaxAssetContentType, "content_type");
  b.size = r.varint();
  b.sha256 = r.fixed<32>();
  return b;
}

std::string encode_release(const Release& x) {
  Writer w;
  w.u8(kReleaseRecordVersion).varint(x.id).varint(x.repo_id);
  w.str(x.tag_name).str(x.target_commitish).str(x.name).str(x.body);
  w.boolean(x.draft).boolean(x.prerelease).fixed(x.author);
  w.varint(x.created_ms).varint(x.published_ms).varint(x.updated_ms);
  return guts::to_string(w.data());
}

Release decode_release(std::string_view data) {
  Reader r(as_bytes(data));
  if (r.u8() != kReleaseRecordVersion) throw DecodeError("unsupported release record version");
  Release x;
  x.id = r.varint();
  x.repo_id = r.varint();
  x.tag_name = r.str(kMaxReleaseTag, "tag_name");
  x.target_commitish = r.str(kMaxReleaseCommitish, "target_commitish");
  x.name = r.str(kMaxReleaseName, "name");
  x.body = r.str(kMaxReleaseBody, "body");
  x.draft = r.boolean();
  x.prerelease = r.boolean();
  x.author = r.fixed<32>();
  x.created_ms = r.varint();
  x.published_ms = r.varint();
  x.updated_ms = r.varint();
  r.finish();
  return x;
}

std::string encode_release_asset(const ReleaseAsset& a) {
  Writer w;
  w.u8(kAssetRecordVersion).varint(a.id).varint(a.release_id).varint(a.repo_id);
  w.str(a.name).str(a.label).str(a.content_type).varint(a.size).fixed(a.sha256);
  w.fixed(a.uploader).varint(a.created_ms).varint(a.updated_ms);
  return guts::to_string(w.data());
}

ReleaseAsset decode_release_asset(std::string_view data) {
  Reader r(as_bytes(data));
  if (r.u8() != kAssetRecordVersion) throw DecodeError("unsupported asset record version");
  ReleaseAsset a;
  a.id = r.varint();
  a.release_id = r.varint();
  a.repo_id = r.varint();
  a.name = r.str(kMaxAssetName, "name");
  a.label = r.str(kMaxAssetLabel, "label");
  a.content_type = r.str(kMaxAssetContentType, "content_type");
  a.size = r.varint();
  a.sha256 = r.fixed<32>();
  a.uploader = r.fixed<32>();
  a.created_ms = r.varint();
  a.updated_ms = r.varint();
  r.finish();
  return a;
}

}  // namespace guts::state
