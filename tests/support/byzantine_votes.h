// Test double: an equivocating validator. Plugged into TestSeams::extra_votes (node/config.h),
// it makes a validator follow each notarize vote it sends with a second notarize, validly signed
// by its own key, for a different block in the same view. Honest validators must record the
// pair as evidence (node/evidence.h), block the sender and keep finalizing without it. Never
// linked into production binaries.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::testing {

std::function<std::vector<Bytes>(const crypto::SigningKey&, std::string_view, ByteView)>
equivocate_votes();

}  // namespace guts::testing
