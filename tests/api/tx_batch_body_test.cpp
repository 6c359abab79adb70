// Bodies of POST /api/guts/transactions/batch (api/tx_batch_body.h) and the batch encoding they
// share with the p2p transactions channel (state/tx_batch.h).
#include "api/tx_batch_body.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "state/tx_batch.h"
#include "tests/support/keys.h"
#include "tests/support/signed_tx.h"

namespace guts::api {
namespace {

std::vector<state::Transaction> signed_txs(size_t n) {
  std::vector<state::Transaction> txs;
  for (size_t i = 0; i < n; ++i)
    txs.push_back(test_support::signed_tx(test_support::fixed_key(7), "test", i + 1,
                                          state::RegisterUser{"user" + std::to_string(i)}));
  return txs;
}

std::string json_body(const std::vector<state::Transaction>& txs) {
  nlohmann::json j{{"txs", nlohmann::json::array()}};
  for (const auto& tx : txs) j["txs"].push_back(hex_encode(tx.encode()));
  return j.dump();
}

TEST(TxBatch, EncodingRoundTripsInOrder) {
  auto txs = signed_txs(5);
  auto again = state::decode_transactions(state::encode_transactions(txs), 10);
  ASSERT_EQ(again.size(), txs.size());
  for (size_t i = 0; i < txs.size(); ++i) EXPECT_EQ(again[i].id(), txs[i].id());
  EXPECT_TRUE(state::decode_transactions(
                  state::encode_transactions(std::span<const state::Transaction>{}), 10)
                  .empty());
  // More than allowed, trailing bytes, a damaged transaction: refused, saying which.
  EXPECT_THROW(state::decode_transactions(state::encode_transactions(txs), 4), codec::DecodeError);
  auto trailing = state::encode_transactions(txs);
  trailing.push_back(0);
  EXPECT_THROW(state::decode_transactions(trailing, 10), codec::DecodeError);
  std::vector<Bytes> encoded;
  for (const auto& tx : txs) encoded.push_back(tx.encode());
  encoded[3].resize(encoded[3].size() / 2);
  try {
    state::decode_transactions(state::encode_transactions(encoded), 10);
    FAIL() << "a truncated transaction was decoded";
  } catch (const codec::DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("transaction 3: "), std::string::npos) << e.what();
  }
}

TEST(TxBatchBody, BinaryAndJsonBodiesGiveTheSameTransactions) {
  auto txs = signed_txs(3);
  auto binary = state::encode_transactions(txs);
  auto a = parse_tx_batch_body("application/octet-stream", to_string(binary));
  auto b = parse_tx_batch_body("application/json; charset=utf-8", json_body(txs));
  ASSERT_TRUE(a.ok()) << a.message;
  ASSERT_TRUE(b.ok()) << b.message;
  ASSERT_EQ(a.txs.size(), 3u);
  ASSERT_EQ(b.txs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a.txs[i].id(), txs[i].id());
    EXPECT_EQ(b.txs[i].id(), txs[i].id());
  }
}

TEST(TxBatchBody, BadBodiesAreRefusedWhole) {
  auto check = [](const TxBatchBody& b, int status, const std::string& field,
                  const std::string& code) {
    EXPECT_FALSE(b.ok());
    EXPECT_TRUE(b.txs.empty());
    EXPECT_EQ(b.status, status) << b.message;
    EXPECT_EQ(b.field, field) << b.message;
    EXPECT_EQ(b.code, code) << b.message;
  };
  check(parse_tx_batch_body("application/json", "{"), 400, "", "");
  check(parse_tx_batch_body("application/json", "[]"), 400, "", "");
  check(parse_tx_batch_body("application/json", "{}"), 422, "txs", "missing_field");
  check(parse_tx_batch_body("application/json", R"({"txs": []})"), 422, "txs", "invalid");
  check(parse_tx_batch_body("application/json", R"({"txs": "00"})"), 422, "txs", "invalid");
  check(parse_tx_batch_body("application/json", R"({"txs": ["zz"]})"), 422, "txs", "invalid");
  check(parse_tx_batch_body("application/json", R"({"txs": [7]})"), 422, "txs", "invalid");
  // One good transaction, then a damaged one: nothing is taken.
  auto txs = signed_txs(2);
  auto j = nlohmann::json::parse(json_body(txs));
  j["txs"][1] = j["txs"][1].get<std::string>().substr(0, 40);
  auto damaged = parse_tx_batch_body("application/json", j.dump());
  check(damaged, 400, "", "");
  EXPECT_NE(damaged.message.find("transaction 1"), std::string::npos) << damaged.message;
  check(parse_tx_batch_body("application/octet-stream", ""), 400, "", "");
  check(parse_tx_batch_body("application/octet-stream", std::string(1, '\0')), 422, "txs",
        "invalid");
  auto binary = state::encode_transactions(txs);
  binary.pop_back();
  check(parse_tx_batch_body("application/octet-stream", to_string(binary)), 400, "", "");
}

TEST(TxBatchBody, AtMostTheBoundInOneBody) {
  auto txs = signed_txs(1);
  std::vector<state::Transaction> many(kMaxApiBatchTxs + 1, txs[0]);
  EXPECT_EQ(parse_tx_batch_body("application/json", json_body(many)).status, 422);
  EXPECT_EQ(
      parse_tx_batch_body("application/octet-stream", to_string(state::encode_transactions(many)))
          .status,
      400);
  many.pop_back();
  auto full =
      parse_tx_batch_body("application/octet-stream", to_string(state::encode_transactions(many)));
  ASSERT_TRUE(full.ok()) << full.message;
  EXPECT_EQ(full.txs.size(), kMaxApiBatchTxs);
}

}  // namespace
}  // namespace guts::api
