// JSON of validator sets (state/validator_set.h), shared by the validator routes and the
// `change_validator_set` action of organization proposals.
#pragma once

#include <optional>

#include "api/github.h"
#include "api/http.h"
#include "state/validator_set.h"

namespace guts::api {

// [{"did", "p2p_address"}, ...]
json validators_json(const std::vector<state::Validator>& validators);

// {"activation_height": H, "validators": [{"did", "p2p_address"}, ...]} as a kind 74 body; on
// bad input nullopt with a 422 (`field_prefix` names the object, e.g. "action.") in *error.
std::optional<state::SetValidatorSet> parse_validator_set(const json& j,
                                                          const std::string& field_prefix,
                                                          Response* error);

}  // namespace guts::api
