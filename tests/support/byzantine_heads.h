// Test double: a byzantine finality relay. Plugged into TestSeams::rewrite_finality_heads
// (node/config.h), it makes a node announce and answer heads whose certificate is forged
// (signatures flipped, a block id of its own, a view far ahead). Honest full nodes must reject
// them and block the sender. Never linked into production binaries.
#pragma once

#include <functional>
#include <optional>

#include "finality/relay_core.h"

namespace guts::testing {

std::function<std::optional<Bytes>(const finality::HeadSend&)> forge_heads();

}  // namespace guts::testing
