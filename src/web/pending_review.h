// Pending review comments: what a signed-in user has written on a pull request's lines but not
// yet submitted with "Submit review" (GitHub's pending review). Node-local (never replicated, no
// transaction): they become transactions only when the review is submitted, as the comments of
// one SubmitReview, exactly as POST /pulls/{n}/reviews with "comments" would.
//
// Layout in the node's `local` family:
//   "webpending/" + did + "/" + be64(repo id) + be64(number) + be64(sequence)
//       → path str | side u8 (state::kSideLeft/kSideRight) | line varint | body str
// At most kMaxPending per user and pull request (the SubmitReview bound).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/db.h"

namespace guts::web {

struct PendingComment {
  std::string path;
  uint8_t side = 0;
  uint64_t line = 0;
  std::string body;
};

class PendingReviews {
 public:
  static constexpr size_t kMaxPending = 100;
  PendingReviews(storage::Db& db, storage::Cf cf) : db_(db), cf_(cf) {}

  // Adds a comment; false when the user already has kMaxPending on this pull request.
  bool add(const std::string& user, uint64_t repo_id, uint64_t number, const PendingComment& c);
  // The user's pending comments on the pull request, in the order written.
  std::vector<PendingComment> list(const std::string& user, uint64_t repo_id,
                                   uint64_t number) const;
  // Forgets them (after the review was submitted, or discarded).
  void clear(const std::string& user, uint64_t repo_id, uint64_t number);

 private:
  storage::Db& db_;
  storage::Cf cf_;
};

}  // namespace guts::web
