#include "replication/blob_sync_core.h"

#include <algorithm>

namespace guts::replication {

BlobFetch::BlobFetch(uint64_t size, std::vector<crypto::PublicKey> candidates, size_t chunk)
    : size_(size), candidates_(std::move(candidates)), chunk_(std::max<size_t>(chunk, 1)) {}

std::optional<BlobFetch::Ask> BlobFetch::next() {
  if (complete_ || exhausted()) return std::nullopt;
  Ask a;
  a.peer = candidates_[index_];
  a.offset = offset_;
  // An empty blob is asked as one byte: the answer is its size and no bytes.
  a.length = std::max<uint64_t>(1, std::min<uint64_t>(chunk_, size_ - offset_));
  a.restart = !started_;
  started_ = true;
  asked_ = a.length;
  return a;
}

BlobFetch::Verdict BlobFetch::on_data(uint64_t total, size_t bytes) {
  uint64_t expect = std::min<uint64_t>(asked_, size_ - offset_);
  if (total != size_ || bytes != expect) return Verdict::kViolation;
  offset_ += bytes;
  if (offset_ == size_) {
    complete_ = true;
    return Verdict::kComplete;
  }
  return Verdict::kMore;
}

void BlobFetch::on_failed() {
  ++index_;
  offset_ = 0;
  started_ = false;
  complete_ = false;
}

crypto::PublicKey BlobFetch::on_bad_bytes() {
  auto bad = candidates_.at(index_);
  on_failed();
  return bad;
}

std::optional<uint64_t> serve_length(uint64_t size, uint64_t offset, uint64_t length,
                                     size_t max_chunk) {
  if (offset > size) return std::nullopt;
  return std::min<uint64_t>({length, size - offset, max_chunk});
}

}  // namespace guts::replication
