// The git objects a proposal's action points at (state/proposal.h), for data availability.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "state/proposal.h"

namespace guts::state {

// The git objects the action of a proposal points at, as (repository id, object id): the new
// tips of an UpdateRefs, the merge commit of a MergePullRequest; empty for other actions or a
// body that does not decode. Data availability (ledger/core.cpp, replication/object_sync.cpp)
// fetches them with the creating block, so the vote that executes the action finds them on
// every validator and the git projection can move the ref.
std::vector<std::pair<uint64_t, Bytes>> proposal_object_tips(const CreateProposal& b);

}  // namespace guts::state
