#include "replication/messages.h"

#include "codec/codec.h"
#include "core/status.h"
#include "core/utf8.h"

namespace guts::replication::wire {

namespace {

void put_oids(codec::Writer& w, const std::vector<Oid>& oids) {
  w.varint(oids.size());
  for (const auto& o : oids) w.fixed(o);
}

std::vector<Oid> get_oids(codec::Reader& r, size_t max, const char* what) {
  // count() also checks the remaining input, so a huge count cannot allocate.
  size_t n = r.count(max, what);
  if (n > r.remaining() / 20) throw codec::DecodeError(std::string(what) + ": truncated");
  std::vector<Oid> out(n);
  for (auto& o : out) o = r.fixed<20>();
  return out;
}

}  // namespace

Bytes encode(const Message& m) {
  codec::Writer w;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Want>) {
          if (v.wants.empty() || v.wants.size() > kMaxWants || v.haves.size() > kMaxHaves)
            throw Error(Code::kInvalidArgument, "want: bad want/have count");
          w.u8(kWant).varint(v.request_id).varint(v.repo_id);
          put_oids(w, v.wants);
          put_oids(w, v.haves);
        } else if constexpr (std::is_same_v<T, PackChunk>) {
          if (v.data.size() > kMaxChunkBytes)
            throw Error(Code::kInvalidArgument, "chunk too large");
          w.u8(kPackChunk).varint(v.request_id).varint(v.seq).boolean(v.last).bytes(v.data);
        } else if constexpr (std::is_same_v<T, NotFound>) {
          // Reasons are diagnostics: printable ASCII keeps them valid UTF-8 when truncated.
          w.u8(kNotFound).varint(v.request_id).str(printable_excerpt(v.reason, kMaxReasonBytes));
        } else {
          if (v.repos.size() > kMaxInventoryRepos || (v.hosts_all && !v.repos.empty()))
            throw Error(Code::kInvalidArgument, "inventory: bad repository list");
          for (size_t i = 1; i < v.repos.size(); ++i)
            if (v.repos[i - 1] >= v.repos[i])
              throw Error(Code::kInvalidArgument, "inventory: repositories not sorted");
          w.u8(kInventory).boolean(v.hosts_all).varint(v.repos.size());
          for (auto id : v.repos) w.varint(id);
        }
      },
      m);
  return w.take();
}

Message decode(ByteView data) {
  codec::Reader r(data);
  Message out;
  switch (r.u8()) {
    case kWant: {
      Want v;
      v.request_id = r.varint();
      v.repo_id = r.varint();
      v.wants = get_oids(r, kMaxWants, "wants");
      if (v.wants.empty()) throw codec::DecodeError("want: no wants");
      v.haves = get_oids(r, kMaxHaves, "haves");
      out = std::move(v);
      break;
    }
    case kPackChunk: {
      PackChunk v;
      v.request_id = r.varint();
      v.seq = r.varint();
      v.last = r.boolean();
      v.data = r.bytes(kMaxChunkBytes, "chunk");
      out = std::move(v);
      break;
    }
    case kNotFound: {
      NotFound v;
      v.request_id = r.varint();
      v.reason = r.str(kMaxReasonBytes, "reason");
      // What encode() writes: printable ASCII only (one encoding per message).
      if (!is_printable_ascii(v.reason))
        throw codec::DecodeError("not found: reason must be printable ASCII");
      out = std::move(v);
      break;
    }
    case kInventory: {
      Inventory v;
      v.hosts_all = r.boolean();
      size_t n = r.count(kMaxInventoryRepos, "repositories");
      if (v.hosts_all && n != 0) throw codec::DecodeError("inventory: hosts_all with a list");
      v.repos.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        uint64_t id = r.varint();
        if (!v.repos.empty() && id <= v.repos.back())
          throw codec::DecodeError("inventory: repositories not strictly increasing");
        v.repos.push_back(id);
      }
      out = std::move(v);
      break;
    }
    default:
      throw codec::DecodeError("replication: unknown message type");
  }
  r.finish();
  return out;
}

std::string to_hex(const Oid& oid) {
  return hex_encode(ByteView(oid));
}

Oid from_hex(std::string_view hex) {
  auto b = hex_decode(hex);
  if (!b || b->size() != 20 || hex.size() != 40)
    throw Error(Code::kInvalidArgument, "bad object id");
  for (char c : hex)
    if (c >= 'A' && c <= 'F') throw Error(Code::kInvalidArgument, "object id not lower-case");
  Oid o;
  std::copy(b->begin(), b->end(), o.begin());
  return o;
}

}  // namespace guts::replication::wire
