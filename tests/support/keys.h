// Test identities every test folder shares (header only: the unit-only sanitizer build has no
// tests/support library).
#pragma once

#include <cstdint>

#include "crypto/ed25519.h"

namespace guts::test_support {

// The key of test identity b: its seed is 32 bytes of b.
inline crypto::SigningKey fixed_key(uint8_t b) {
  crypto::Seed s;
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

}  // namespace guts::test_support
