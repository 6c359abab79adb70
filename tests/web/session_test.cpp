// Browser sessions (web/session.h) and the cookie/CSRF helpers of the auth middleware
// (api/auth.h): ids are hashed at rest, sessions expire and can be revoked, device codes are
// approved once, CSRF tokens are bound to the cookie.
#include "web/session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "api/auth.h"
#include "crypto/ed25519.h"
#include "storage/db.h"
#include "web/session_approval.h"

namespace guts::web {
namespace {

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("guts-websession-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    db_ = storage::Db::open(dir_, {"local"});
    store_ = std::make_unique<SessionStore>(*db_, db_->cf("local"));
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<SessionStore> store_;
  crypto::PublicKey alice_ = crypto::SigningKey::generate().public_key();
  crypto::PublicKey bob_ = crypto::SigningKey::generate().public_key();
};

constexpr uint64_t kHour = 3600 * 1000;

TEST_F(SessionTest, OpenLookupExpire) {
  SessionInfo info;
  std::string cookie =
      store_->open(alice_, SessionKind::kDevice, {}, "Chromium", 1000, kHour, &info);
  ASSERT_EQ(cookie.size(), 64u);
  EXPECT_EQ(info.id, SessionStore::id_of(cookie));
  // Only the hash is stored: no key or value holds the cookie.
  db_->scan_prefix(db_->cf("local"), "", [&](std::string_view k, std::string_view v) {
    EXPECT_EQ(k.find(cookie), std::string_view::npos);
    EXPECT_EQ(v.find(cookie), std::string_view::npos);
    return true;
  });
  auto s = store_->lookup(cookie, 2000);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->owner, alice_);
  EXPECT_EQ(s->agent, "Chromium");
  EXPECT_EQ(s->expires_ms, 1000 + kHour);
  // Malformed and unknown cookies name nothing.
  EXPECT_FALSE(store_->lookup("", 2000));
  EXPECT_FALSE(store_->lookup(std::string(64, 'z'), 2000));
  EXPECT_FALSE(store_->lookup(std::string(64, '0'), 2000));
  // Expired: refused, and the record is gone.
  EXPECT_FALSE(store_->lookup(cookie, 1000 + kHour));
  EXPECT_FALSE(store_->lookup(cookie, 2000));
}

TEST_F(SessionTest, ListRevokeAndClose) {
  std::string a1 = store_->open(alice_, SessionKind::kDevice, {}, "one", 1, kHour);
  std::string a2 =
      store_->open(alice_, SessionKind::kToken, std::string(32, '\xff'), "two", 2, kHour);
  std::string b1 = store_->open(bob_, SessionKind::kDevice, {}, "bob", 3, kHour);
  auto mine = store_->list(alice_, 10);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].agent, "one");
  EXPECT_EQ(mine[1].kind, SessionKind::kToken);
  EXPECT_EQ(mine[1].token_hash, std::string(32, '\xff'));
  // Bob cannot revoke Alice's session; Alice can.
  EXPECT_FALSE(store_->revoke_id(bob_, mine[0].id));
  EXPECT_TRUE(store_->revoke_id(alice_, mine[0].id));
  EXPECT_FALSE(store_->lookup(a1, 10));
  EXPECT_TRUE(store_->lookup(a2, 10));
  EXPECT_TRUE(store_->close(a2));
  EXPECT_FALSE(store_->lookup(a2, 10));
  EXPECT_FALSE(store_->close(a2));
  EXPECT_TRUE(store_->lookup(b1, 10));
}

TEST_F(SessionTest, DeviceCodeApprovedOnce) {
  std::string code;
  std::string secret = store_->start_device(1000, &code);
  ASSERT_EQ(code.size(), 9u);
  EXPECT_EQ(code[4], '-');
  EXPECT_EQ(SessionStore::normalize_code(code), code);
  auto d = store_->device(secret, 1001);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->approved_by);
  // Lower case, without the dash: the same code.
  std::string loose = code.substr(0, 4) + code.substr(5);
  for (auto& c : loose) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_TRUE(store_->approve(loose, alice_, 1002));
  EXPECT_FALSE(store_->approve(code, bob_, 1003));  // once
  d = store_->device(secret, 1004);
  ASSERT_TRUE(d && d->approved_by);
  EXPECT_EQ(*d->approved_by, alice_);
  store_->finish_device(secret);
  EXPECT_FALSE(store_->device(secret, 1005));
  // Expired codes can be neither read nor approved.
  std::string code2;
  std::string s2 = store_->start_device(1000, &code2);
  EXPECT_FALSE(store_->device(s2, 1000 + kDeviceCodeLifetimeMs));
  EXPECT_FALSE(store_->approve(code2, alice_, 1000 + kDeviceCodeLifetimeMs));
  EXPECT_FALSE(SessionStore::normalize_code("ABCD-EFGH"));  // vowels are not in the alphabet
  EXPECT_FALSE(SessionStore::normalize_code("BCD"));
  EXPECT_FALSE(SessionStore::normalize_code("BCDFGHJKL"));
}

TEST(WebSessionHelpers, CsrfCookiesAndPaths) {
  std::string t1 = api::csrf_token(std::string(64, 'a'));
  EXPECT_EQ(t1.size(), 64u);
  EXPECT_EQ(t1, api::csrf_token(std::string(64, 'a')));
  EXPECT_NE(t1, api::csrf_token(std::string(64, 'b')));

  api::Request req;
  req.headers.add("Cookie", "guts_pre=p1; guts_session=s1 ");
  req.headers.add("cookie", "other=x");
  EXPECT_EQ(api::cookie(req, "guts_session"), "s1");
  EXPECT_EQ(api::cookie(req, "guts_pre"), "p1");
  EXPECT_EQ(api::cookie(req, "other"), "x");
  EXPECT_FALSE(api::cookie(req, "guts"));

  EXPECT_TRUE(api::is_web_path("/"));
  EXPECT_TRUE(api::is_web_path("/alice/proj/issues/1/comments"));
  EXPECT_TRUE(api::is_web_path("/-/signin/token"));
  EXPECT_TRUE(api::is_web_path("/alice/my.github/issues"));
  EXPECT_FALSE(api::is_web_path("/api/v3/repos/alice/proj/issues"));
  EXPECT_FALSE(api::is_web_path("/api"));
  EXPECT_FALSE(api::is_web_path("/alice/proj.git/git-receive-pack"));
  EXPECT_FALSE(api::is_web_path("/alice/proj/git-receive-pack"));
  EXPECT_FALSE(api::is_web_path("/alice/proj.git/info/lfs/objects/batch"));
  EXPECT_FALSE(api::is_web_path("/alice/proj/info/lfs/objects/batch"));

  api::Principal p;
  p.token_id = "web:abcd";
  EXPECT_EQ(api::session_id(p), "abcd");
  p.token_id = "abcd";
  EXPECT_EQ(api::session_id(p), "");
}

TEST(WebSessionHelpers, ApprovalSignatureBindsTheCode) {
  auto user = crypto::SigningKey::generate();
  auto node = crypto::SigningKey::generate().public_key();
  auto payload = device_approval_payload("chain", node, user.public_key(), 5, "BCDF-GHJK");
  auto sig = user.sign(kDeviceApprovalDomain, payload);
  EXPECT_TRUE(crypto::verify(user.public_key(), kDeviceApprovalDomain, payload, sig));
  auto other = device_approval_payload("chain", node, user.public_key(), 5, "BCDF-GHJL");
  EXPECT_FALSE(crypto::verify(user.public_key(), kDeviceApprovalDomain, other, sig));
  EXPECT_FALSE(crypto::verify(user.public_key(), "guts/token-request", payload, sig));
}

}  // namespace
}  // namespace guts::web
