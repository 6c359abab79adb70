// The wire side of reputation (state/reputation.h): the SetInteractionLimit body and the limit
// names, in guts_wire (the CLI links it without the state machine).
#include "codec/codec.h"
#include "state/reputation.h"

namespace guts::state {

const char* interaction_limit_name(uint8_t limit) {
  switch (limit) {
    case kLimitExistingUsers:
      return "existing_users";
    case kLimitContributorsOnly:
      return "contributors_only";
    case kLimitCollaboratorsOnly:
      return "collaborators_only";
    case kLimitCustom:
      return "custom";
    default:
      return "";
  }
}

std::optional<uint8_t> interaction_limit_of(std::string_view name) {
  for (uint8_t l = kLimitExistingUsers; l <= kLimitCustom; ++l)
    if (name == interaction_limit_name(l)) return l;
  return std::nullopt;
}

uint64_t default_min_reputation(uint8_t limit) {
  switch (limit) {
    case kLimitExistingUsers:
      return 1;  // one day of age, or any contribution
    case kLimitContributorsOnly:
    case kLimitCustom:
      return reputation::kWeightMergedPr;  // one merged pull request, or its worth
    default:
      return 0;
  }
}

void encode_reputation_body(codec::Writer& w, const SetInteractionLimit& b) {
  w.varint(b.repo_id).u8(b.limit).varint(b.min_reputation).varint(b.expires_ms);
}

SetInteractionLimit decode_interaction_limit_body(codec::Reader& r) {
  SetInteractionLimit b;
  b.repo_id = r.varint();
  b.limit = r.u8();
  b.min_reputation = r.varint();
  b.expires_ms = r.varint();
  return b;
}

}  // namespace guts::state
