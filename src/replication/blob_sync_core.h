// The pure decisions of blob replication (replication/blob_sync.h): no threads, sockets, clocks
// or files inside; every input is an argument, every result a value.
//
//   BlobFetch    client side: one blob fetched in chunks from one candidate at a time, in the
//                order of replication::candidate_order (hints, validators, hosting peers). Each
//                answer is checked against what was asked (size, range); a violation or bytes
//                that fail SHA-256 verification block the candidate, a missing blob or a silent
//                candidate only moves on to the next. The whole blob comes from ONE candidate
//                per attempt, so a bad hash names its sender.
//   serve_length server side: how many bytes of a blob to answer for a BlobGet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/ed25519.h"

namespace guts::replication {

class BlobFetch {
 public:
  // `size`: the blob's size as named by state; `chunk`: bytes asked per BlobGet (≥ 1).
  BlobFetch(uint64_t size, std::vector<crypto::PublicKey> candidates, size_t chunk);

  struct Ask {
    crypto::PublicKey peer{};
    uint64_t offset = 0;
    uint64_t length = 0;
    bool restart = false;  // a new candidate: discard what an earlier one sent
  };
  // The next request to send; nullopt when every candidate failed (the attempt round is over)
  // or the blob is complete.
  std::optional<Ask> next();

  enum class Verdict {
    kMore,       // accepted, ask for the next range
    kComplete,   // accepted, every byte is here: verify the SHA-256
    kViolation,  // wrong total size or range length: block the candidate
  };
  // The current candidate answered `bytes` bytes, announcing a blob of `total` bytes.
  Verdict on_data(uint64_t total, size_t bytes);
  // The candidate does not have it, went silent or disconnected: the next candidate.
  void on_failed();
  // The complete bytes did not hash to the blob's id: the candidate is to be blocked (returned),
  // then the next one.
  crypto::PublicKey on_bad_bytes();

  bool complete() const { return complete_; }
  bool exhausted() const { return index_ >= candidates_.size(); }
  uint64_t received() const { return offset_; }
  const crypto::PublicKey& current() const { return candidates_.at(index_); }

 private:
  uint64_t size_;
  std::vector<crypto::PublicKey> candidates_;
  size_t chunk_;
  size_t index_ = 0;
  uint64_t offset_ = 0;
  uint64_t asked_ = 0;  // length of the outstanding request
  bool started_ = false;
  bool complete_ = false;
};

// Bytes to answer for a request of [offset, offset + length) of a blob of `size` bytes, bounded
// by `max_chunk`; nullopt when offset is past the end (answered BlobMissing). An offset equal to
// the size (an empty blob) answers 0 bytes.
std::optional<uint64_t> serve_length(uint64_t size, uint64_t offset, uint64_t length,
                                     size_t max_chunk);

}  // namespace guts::replication
