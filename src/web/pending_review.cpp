#include "web/pending_review.h"

#include "codec/codec.h"
#include "core/bytes.h"
#include "core/time.h"

namespace guts::web {

namespace {

constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxBody = 65536;

void be64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out += static_cast<char>((v >> (i * 8)) & 0xff);
}

std::string prefix(const std::string& user, uint64_t repo_id, uint64_t number) {
  std::string p = "webpending/" + user + "/";
  be64(p, repo_id);
  be64(p, number);
  return p;
}

}  // namespace

bool PendingReviews::add(const std::string& user, uint64_t repo_id, uint64_t number,
                         const PendingComment& c) {
  std::string p = prefix(user, repo_id, number);
  size_t n = 0;
  std::string last;
  db_.scan_prefix(cf_, p, [&](std::string_view k, std::string_view) {
    ++n;
    last = std::string(k);
    return true;
  });
  if (n >= kMaxPending) return false;
  // Sequence: after the last one, and time-ordered across restarts.
  uint64_t seq = unix_millis() << 8;
  if (last.size() == p.size() + 8) {
    uint64_t prev = 0;
    for (size_t i = p.size(); i < last.size(); ++i)
      prev = (prev << 8) | static_cast<unsigned char>(last[i]);
    if (seq <= prev) seq = prev + 1;
  }
  std::string key = p;
  be64(key, seq);
  codec::Writer w;
  w.str(c.path.substr(0, kMaxPath)).u8(c.side).varint(c.line).str(c.body.substr(0, kMaxBody));
  db_.put(cf_, key, to_string(w.data()), /*sync=*/true);
  return true;
}

std::vector<PendingComment> PendingReviews::list(const std::string& user, uint64_t repo_id,
                                                 uint64_t number) const {
  std::vector<PendingComment> out;
  db_.scan_prefix(cf_, prefix(user, repo_id, number), [&](std::string_view, std::string_view v) {
    try {
      codec::Reader r(as_bytes(v));
      PendingComment c;
      c.path = r.str(kMaxPath, "path");
      c.side = r.u8();
      c.line = r.varint();
      c.body = r.str(kMaxBody, "body");
      r.finish();
      out.push_back(std::move(c));
    } catch (const std::exception&) {
      // A malformed record is skipped (node-local data; cleared with the rest).
    }
    return out.size() < kMaxPending;
  });
  return out;
}

void PendingReviews::clear(const std::string& user, uint64_t repo_id, uint64_t number) {
  std::vector<std::string> keys;
  db_.scan_prefix(cf_, prefix(user, repo_id, number), [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  });
  storage::Batch b;
  for (const auto& k : keys) b.del(cf_, k);
  if (!keys.empty()) db_.write(b, /*sync=*/true);
}

}  // namespace guts::web
