#include <gtest/gtest.h>

#include <filesystem>

#include "api/auth.h"
#include "api/routes.h"
#include "api/tokens.h"
#include "crypto/hash.h"
#include "state/kv.h"
#include "storage/db.h"
#include "tests/support/keys.h"

using namespace guts;

namespace {
crypto::SigningKey key(uint8_t b) {
  return test_support::fixed_key(b);
}
}  // namespace

TEST(Tokens, HashedAtRestAndRevocable) {
  auto dir = std::filesystem::temp_directory_path() / ("guts-tokens-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto db = storage::Db::open(dir, state::Schema::families());
    state::Schema schema(*db);
    api::TokenStore store(*db, schema.local);
    api::TokenInfo info;
    auto token = store.issue(key(1).public_key(), 1000, &info);
    EXPECT_EQ(token.size(), 69u);
    EXPECT_EQ(token.rfind("guts_", 0), 0u);
    EXPECT_NE(store.issue(key(1).public_key(), 1000), token);  // fresh randomness each time
    auto found = store.lookup(token);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->owner, key(1).public_key());
    EXPECT_EQ(found->id, info.id);
    // The token itself is not stored anywhere in the database, only its hash.
    bool plaintext = false, hashed = false;
    auto h = crypto::sha256(token);
    db->scan_prefix(schema.local, "", [&](std::string_view k, std::string_view v) {
      plaintext |=
          k.find(token) != std::string_view::npos || v.find(token) != std::string_view::npos;
      hashed |= k.find(std::string(h.begin(), h.end())) != std::string_view::npos;
      return true;
    });
    EXPECT_FALSE(plaintext);
    EXPECT_TRUE(hashed);
    auto altered = token;
    altered.back() = altered.back() == '0' ? '1' : '0';  // always a different token
    EXPECT_FALSE(store.lookup(altered));
    EXPECT_FALSE(store.lookup("guts_short"));
    EXPECT_TRUE(store.revoke(token));
    EXPECT_FALSE(store.lookup(token));
    EXPECT_FALSE(store.revoke(token));
  }
  std::filesystem::remove_all(dir);
}

TEST(Tokens, RequestPayloadGoldenVector) {
  auto user = key(1), node = key(2);
  auto payload =
      api::token_request_payload("guts-test", node.public_key(), user.public_key(), 1795000000000);
  EXPECT_EQ(hex_encode(payload),
            "09677574732d746573748139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3948a"
            "88e3dd7409f1"
            "95fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c80bcd9f29e34");
  EXPECT_EQ(hex_encode(user.sign(api::kTokenRequestDomain, payload)),
            "c202c5bb6098ec812df993e7d320872b1217775bd2234021c961e630c2822243d9acc6e9216d37dc6995b3"
            "d4efa9d80f07ca"
            "0159acbe1e4b50fcaecc69058000");
}

TEST(Auth, AuthorizationHeaderForms) {
  api::Request req;
  EXPECT_FALSE(api::bearer_token(req));
  req.headers.set("Authorization", "token abc");
  EXPECT_EQ(*api::bearer_token(req), "abc");
  req.headers.set("Authorization", "Bearer  xyz");
  EXPECT_EQ(*api::bearer_token(req), "xyz");
  req.headers.set("Authorization", "Basic dXNlcjpzZWNyZXQ=");  // user:secret
  EXPECT_EQ(*api::bearer_token(req), "secret");
  req.headers.set("Authorization", "Basic !!!");
  EXPECT_EQ(*api::bearer_token(req), "");  // present but unusable: answered 401, never anonymous
  req.headers.set("Authorization", "Digest x");
  EXPECT_EQ(*api::bearer_token(req), "");
}
