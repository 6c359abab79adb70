// A signed transaction for tests (header only: the unit-only sanitizer build has no
// tests/support library).
#pragma once

#include <cstdint>
#include <string>

#include "crypto/ed25519.h"
#include "state/tx.h"

namespace guts::test_support {

// `body` authored and signed by `key` on `chain_id`.
inline state::Transaction signed_tx(const crypto::SigningKey& key, std::string chain_id,
                                    uint64_t nonce, state::TxBody body,
                                    uint64_t timestamp_ms = 1000) {
  state::Transaction t;
  t.chain_id = std::move(chain_id);
  t.author = key.public_key();
  t.nonce = nonce;
  t.timestamp_ms = timestamp_ms;
  t.body = std::move(body);
  t.sign(key);
  return t;
}

}  // namespace guts::test_support
