#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "crypto/ed25519.h"
#include "state/chain.h"
#include "state/executor.h"
#include "state/view.h"
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

inline Bytes oid(uint8_t b) {
  return Bytes(20, b);
}

// An executor over a fresh database and one overlay: each transaction is signed by its author
// with the next nonce and applied at height 1, time kT0. Tests derive their Env from it and
// set up users, organizations and repositories in their constructor.
struct ExecEnv {
  explicit ExecEnv(const std::string& name) : tmp(name) {}
  TempDb tmp;
  Schema schema{*tmp.db};
  DbReader base{*tmp.db};
  Overlay state{base};
  Executor ex{schema, {"test-chain", 1, kT0}};

  StateView view() { return StateView(schema, state); }
  Status as(const crypto::SigningKey& k, TxBody body) {
    uint64_t n = view().nonce(k.public_key(), k.public_key()) + 1;
    return ex.apply(state, own_tx(k, n, std::move(body)));
  }
  void ok(const crypto::SigningKey& k, TxBody body) {
    auto st = as(k, std::move(body));
    ASSERT_TRUE(st.ok()) << st.message();
  }
};

// A transaction body encodes, decodes to the same bytes and keeps its kind.
template <typename T>
void expect_roundtrip(const T& body) {
  TxBody b = body;
  Bytes enc = encode_body(b);
  TxBody back = decode_body(kind_of(b), enc);
  EXPECT_EQ(encode_body(back), enc);
  EXPECT_EQ(kind_of(back), kind_of(b));
}

inline Genesis test_genesis() {
  Genesis g;
  g.chain_id = "test-chain";
  g.genesis_time_ms = kT0 - 1000;
  g.validators.push_back({key(200).public_key(), ""});
  return g;
}

}  // namespace guts::state::testing
