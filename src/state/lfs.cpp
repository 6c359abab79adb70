#include "state/lfs.h"

#include "core/utf8.h"

namespace guts::state {

namespace {

std::string be64(uint64_t v) {
  std::string k;
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>(v >> shift));
  return k;
}

}  // namespace

void encode_lfs_body(codec::Writer& w, const LfsAddObjects& b) {
  w.varint(b.repo_id).varint(b.objects.size());
  for (const auto& o : b.objects) w.fixed(o.oid).varint(o.size);
}
void encode_lfs_body(codec::Writer& w, const LfsCreateLock& b) {
  w.varint(b.repo_id).str(b.path);
}
void encode_lfs_body(codec::Writer& w, const LfsDeleteLock& b) {
  w.varint(b.repo_id).varint(b.lock_id).boolean(b.force);
}

LfsAddObjects decode_lfs_add_objects(codec::Reader& r) {
  LfsAddObjects b;
  b.repo_id = r.varint();
  size_t n = r.count(kMaxLfsObjectsPerTx, "objects");
  if (n == 0) throw codec::DecodeError("objects: empty");
  b.objects.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    LfsObject o;
    o.oid = r.fixed<32>();
    o.size = r.varint_max(kMaxLfsObjectBytes, "object size");
    if (i > 0 && !(b.objects.back().oid < o.oid))
      throw codec::DecodeError("objects: oids not strictly increasing");
    b.objects.push_back(o);
  }
  return b;
}

LfsCreateLock decode_lfs_create_lock(codec::Reader& r) {
  LfsCreateLock b;
  b.repo_id = r.varint();
  b.path = r.str(kMaxLfsPathBytes, "path");
  return b;
}

LfsDeleteLock decode_lfs_delete_lock(codec::Reader& r) {
  LfsDeleteLock b;
  b.repo_id = r.varint();
  b.lock_id = r.varint();
  b.force = r.boolean();
  return b;
}

std::string encode_lfs_lock(const LfsLock& l) {
  codec::Writer w;
  w.varint(l.id).str(l.path).fixed(l.owner).varint(l.locked_ms);
  auto b = w.take();
  return std::string(b.begin(), b.end());
}

LfsLock decode_lfs_lock(std::string_view data) {
  codec::Reader r(as_bytes(data));
  LfsLock l;
  l.id = r.varint();
  l.path = r.str(kMaxLfsPathBytes, "path");
  l.owner = r.fixed<32>();
  l.locked_ms = r.varint();
  r.finish();
  return l;
}

std::string lfs_object_prefix(uint64_t repo_id) {
  return "lfs:o" + be64(repo_id);
}
std::string lfs_object_key(uint64_t repo_id, const std::array<uint8_t, 32>& oid) {
  return lfs_object_prefix(repo_id) + std::string(oid.begin(), oid.end());
}
std::string lfs_usage_key(uint64_t repo_id) {
  return "lfs:u" + be64(repo_id);
}
std::string lfs_lock_prefix(uint64_t repo_id) {
  return "lfs:l" + be64(repo_id);
}
std::string lfs_lock_key(uint64_t repo_id, uint64_t id) {
  return lfs_lock_prefix(repo_id) + be64(id);
}
std::string lfs_lock_path_key(uint64_t repo_id, std::string_view path) {
  return "lfs:p" + be64(repo_id) + std::string(path);
}
std::string lfs_next_lock_key(uint64_t repo_id) {
  return "lfs:n" + be64(repo_id);
}

bool valid_lfs_path(std::string_view path) {
  if (path.empty() || path.size() > kMaxLfsPathBytes || path.front() == '/') return false;
  if (!is_valid_utf8(path)) return false;
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace guts::state
