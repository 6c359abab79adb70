#pragma once

#include <filesystem>
#include <memory>

#include "crypto/ed25519.h"
#include "state/chain.h"
#include "storage/db.h"
#include "tests/support/keys.h"

namespace guts::state::testing {

inline crypto::SigningKey key(uint8_t b) {
  return test_support::fixed_key(b);
}

constexpr uint64_t kT0 = 1795000000000;  // fixed "now" for deterministic tests

inline Transaction make_tx(const crypto::SigningKey& signer, const crypto::PublicKey& author,
                           uint64_t nonce, TxBody body, uint64_t ts = kT0,
                           std::string chain = "test-chain") {
  Transaction tx;
  tx.chain_id = std::move(chain);
  tx.author = author;
  tx.nonce = nonce;
  tx.timestamp_ms = ts;
  tx.body = std::move(body);
  tx.sign(signer);
  return tx;
}
inline Transaction own_tx(const crypto::SigningKey& k, uint64_t nonce, TxBody body,
                          uint64_t ts = kT0) {
  return make_tx(k, k.public_key(), nonce, std::move(body), ts);
}

struct TempDb {
  std::filesystem::path dir;
  std::unique_ptr<storage::Db> db;
  explicit TempDb(const std::string& name) {
    dir = std::filesystem::temp_directory_path() /
          ("guts-state-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    db = storage::Db::open(dir, Schema::families());
  }
  ~TempDb() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
};

inline Genesis test_genesis() {
  Genesis g;
  g.chain_id = "test-chain";
  g.genesis_time_ms = kT0 - 1000;
  g.validators.push_back({key(200).public_key(), ""});
  return g;
}

}  // namespace guts::state::testing
