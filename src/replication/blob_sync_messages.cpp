#include "replication/blob_sync_messages.h"

#include "codec/codec.h"
#include "core/status.h"
#include "core/utf8.h"

namespace guts::replication::blobwire {

Bytes encode(const Message& m) {
  codec::Writer w;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, BlobGet>) {
          if (v.length == 0 || v.length > kMaxBlobChunk)
            throw Error(Code::kInvalidArgument, "blob get: bad length");
          w.u8(kBlobGet).varint(v.request_id).varint(v.repo_id).fixed(v.sha256);
          w.varint(v.offset).varint(v.length);
        } else if constexpr (std::is_same_v<T, BlobData>) {
          if (v.data.size() > kMaxBlobChunk)
            throw Error(Code::kInvalidArgument, "blob data: chunk too large");
          w.u8(kBlobData).varint(v.request_id).varint(v.total).bytes(v.data);
        } else {
          w.u8(kBlobMissing).varint(v.request_id).str(printable_excerpt(v.reason, kMaxReasonBytes));
        }
      },
      m);
  return w.take();
}

Message decode(ByteView data) {
  codec::Reader r(data);
  Message out;
  switch (r.u8()) {
    case kBlobGet: {
      BlobGet v;
      v.request_id = r.varint();
      v.repo_id = r.varint();
      v.sha256 = r.fixed<32>();
      v.offset = r.varint();
      v.length = r.varint_max(kMaxBlobChunk, "length");
      if (v.length == 0) throw codec::DecodeError("blob get: empty range");
      out = v;
      break;
    }
    case kBlobData: {
      BlobData v;
      v.request_id = r.varint();
      v.total = r.varint();
      v.data = r.bytes(kMaxBlobChunk, "chunk");
      out = std::move(v);
      break;
    }
    case kBlobMissing: {
      BlobMissing v;
      v.request_id = r.varint();
      v.reason = r.str(kMaxReasonBytes, "reason");
      if (!is_printable_ascii(v.reason))
        throw codec::DecodeError("blob missing: reason must be printable ASCII");
      out = std::move(v);
      break;
    }
    default:
      throw codec::DecodeError("blob replication: unknown message type");
  }
  r.finish();
  return out;
}

}  // namespace guts::replication::blobwire
