// Test double: a finality relay that forges heads (byzantine tests only, never in src/).
//
// Plugged into the relay's test seam (finality::Options::rewrite_head, or the 4th argument of
// finality::FinalityRelay's constructor), it answers and announces heads whose certificate is
// forged: signatures flipped, a block id of its own, a view far ahead. Honest full nodes must
// reject them and block the sender.
#pragma once

#include "finality/relay_core.h"

namespace guts::testing {

// The forged head message (tag included) standing for `real` (or for nothing); `nonce` varies
// the forged view, height and block id.
Bytes forged_head(const std::optional<consensus::FinalityHead>& real, uint64_t nonce);

// A rewriter for finality::Options::rewrite_head that replaces every outgoing head, and every
// get-head answer (even when the relay holds no head), with a forged one.
finality::HeadRewriter forge_heads();

}  // namespace guts::testing
