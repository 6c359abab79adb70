// SSH public keys (state/ssh_keys.h): the OpenSSH key parser, kinds 60-61 and their validity
// rules (one owner per key, only the owner deletes, identity keys, bounds, no partial effect).
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "state/executor.h"
#include "state/ssh_keys_state.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

// Made with ssh-keygen (OpenSSH 9.2).
const std::string kEd =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAt1gWqpFiW3c/Uikr93i2Sr7baRU6yWJu5zH/cBBZuh ed@test";
const std::string kEcdsa =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPmz5kS4C34YjEHQLS5YGSa8g03a4qFFqk7LbEPGPM"
    "gZhmvsOFIXtE1rd/DfDsIcF359WT5IxR+F5F0OlSSgF5s= ec@test";
const std::string kEcdsa384 =
    "ecdsa-sha2-nistp384 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBDWK/um1zBf0MZHxuZwpf/"
    "ptaUbDHHrseG43qcxxRi46mUd+r+vgzso09qONVom/"
    "6QolfxG35j9c1cLxUDf4UKz45dJIcPtOM8RWRRpmfSh4EJKfDURfW6qAeH/PAm6b2A== root@vm";
const std::string kRsa2048 =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAABAQDtqXUkm88fkf2V1kP0rgeqDoPpETjMGQs0bJlTxaNw1zv0ucw/"
    "j6Ldvw9GQJAjM8kaAry6eW9pGyCiErE2eTHsdXOdpSGjKtwN5tTVg4vi71HDFEUTgIUbuob4tozYfxTH62k2vtFKnSHV2h"
    "pcZCaBu/vsW12uIyAp2WwdhWmW6g35F/kYF25rG3AN7GtKI+P0npVKisOuAPDWNBumas0UeZOhAhSVsSAYH58/"
    "AkNF+"
    "RJKIH6zQInH9P36RhKtHXslckt7YP3ZVpwywLXuOR8b8fDj281QOb2wVU7AfLIxcylzQbEhIgm75okEP9hl9MVKJhyBNuq"
    "RoB9fhrsOW9Lh rsa@test";
const std::string kRsa1024 =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDjLxH2Lg3+SXJw7IIhkhtPOBYuWqoFRhXjO/"
    "wuqbhi6HUf+eUzcOuxjdlrirNJC6edcCS4rhjNag6Il7XkQ4C/V0/Hpc8yxwqs8wUVpfXyD4EcF/PGk629D/RRN0/"
    "QUCvZobTEh8OP08+WBqC5JX+G0+51+GIu02YtjiWHh8V2lw== small";

struct Env : ExecEnv {
  crypto::SigningKey alice = key(1), bob = key(2), nobody = key(3);
  Env() : ExecEnv("sshkeys") {
    ok(alice, RegisterUser{"alice"});
    ok(bob, RegisterUser{"bob"});
  }
};

std::string ssh_line(const crypto::PublicKey& pk) {
  SshPublicKey k;
  k.type = "ssh-ed25519";
  k.blob = ssh_ed25519_blob(pk);
  return k.canonical();
}

}  // namespace

TEST(SshKeys, ParsesTheKeyTypesOpenSshMakes) {
  auto ed = parse_ssh_public_key(kEd);
  ASSERT_TRUE(ed);
  EXPECT_EQ(ed->type, "ssh-ed25519");
  EXPECT_EQ(ed->bits, 256u);
  EXPECT_EQ(ed->comment, "ed@test");
  EXPECT_EQ(ed->canonical() + " ed@test", kEd);
  EXPECT_TRUE(ed->ed25519().has_value());
  // The same fingerprint as `ssh-keygen -lf`.
  EXPECT_EQ(ed->fingerprint(), "SHA256:tLHY8qf+6WORATEkGtr6LK/MJcSkdNXurbsWODlW8mI");
  auto ec = parse_ssh_public_key(kEcdsa);
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec->bits, 256u);
  EXPECT_FALSE(ec->ed25519().has_value());
  ASSERT_TRUE(parse_ssh_public_key(kEcdsa384));
  auto rsa = parse_ssh_public_key("  " + kRsa2048 + "  \n");
  ASSERT_TRUE(rsa);
  EXPECT_EQ(rsa->bits, 2048u);
}

TEST(SshKeys, RefusesBadKeysWithAReason) {
  std::string why;
  EXPECT_FALSE(parse_ssh_public_key(kRsa1024, &why));
  EXPECT_EQ(why, "RSA keys must have at least 2048 bits");
  EXPECT_FALSE(parse_ssh_public_key("", &why));
  EXPECT_FALSE(parse_ssh_public_key("ssh-ed25519", &why));
  EXPECT_FALSE(parse_ssh_public_key("ssh-ed25519 !!!notbase64", &why));
  EXPECT_EQ(why, "key data is not valid base64");
  // Type on the line differs from the encoded one.
  EXPECT_FALSE(parse_ssh_public_key("ssh-rsa " + kEd.substr(12), &why));
  EXPECT_EQ(why, "key type does not match the encoded key");
  EXPECT_FALSE(parse_ssh_public_key("ssh-dss AAAAB3NzaC1kc3MAAACBAP", &why));
  // Two lines, truncated data, too long.
  EXPECT_FALSE(parse_ssh_public_key(kEd + "\n" + kEd, &why));
  EXPECT_FALSE(parse_ssh_public_key(kEd.substr(0, 40), &why));
  EXPECT_FALSE(parse_ssh_public_key(std::string(kMaxSshKeyText + 1, 'A'), &why));
  EXPECT_EQ(why, "key too long");
  // A private key pasted by mistake.
  EXPECT_FALSE(parse_ssh_public_key("-----BEGIN OPENSSH PRIVATE KEY-----", &why));
}

TEST(SshKeys, BodiesRoundTrip) {
  expect_roundtrip(AddSshKey{"laptop", kEd});
  expect_roundtrip(DeleteSshKey{7});
  EXPECT_STREQ(tx_kind_name(TxKind::kAddSshKey), "add_ssh_key");
  EXPECT_STREQ(tx_kind_name(TxKind::kDeleteSshKey), "delete_ssh_key");
  EXPECT_EQ(static_cast<uint32_t>(kind_of(TxBody{DeleteSshKey{1}})), 61u);
  codec::Writer w;
  w.str(std::string(kMaxSshKeyTitle + 1, 'x')).str(kEd);
  EXPECT_THROW(decode_body(TxKind::kAddSshKey, w.data()), codec::DecodeError);
  SshKey rec{3, key(1).public_key(), "t", "ssh-ed25519 AAAA", 99};
  EXPECT_EQ(decode_ssh_key(encode_ssh_key(rec)), rec);
}

TEST(SshKeys, AddListFindAndDelete) {
  Env e;
  e.ok(e.alice, AddSshKey{"laptop", kEd});
  e.ok(e.alice, AddSshKey{"rsa", kRsa2048});
  auto keys = ssh_keys_of(e.view(), e.alice.public_key());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, 1u);
  EXPECT_EQ(keys[0].title, "laptop");
  EXPECT_EQ(keys[0].key + " ed@test", kEd);  // the comment is not stored
  EXPECT_EQ(keys[0].created_ms, kT0);
  auto owner = ssh_key_owner(e.view(), *parse_ssh_public_key(kEd));
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->user, e.alice.public_key());
  EXPECT_EQ(owner->key_id, 1u);
  EXPECT_TRUE(ssh_keys_of(e.view(), e.bob.public_key()).empty());

  // Only alice deletes her keys; bob sees "not found".
  auto before = e.state.digest();
  EXPECT_EQ(e.as(e.bob, DeleteSshKey{1}).code(), Code::kNotFound);
  EXPECT_EQ(e.as(e.alice, DeleteSshKey{99}).code(), Code::kNotFound);
  EXPECT_EQ(e.state.digest(), before);
  e.ok(e.alice, DeleteSshKey{1});
  EXPECT_FALSE(ssh_key_owner(e.view(), *parse_ssh_public_key(kEd)));
  EXPECT_EQ(ssh_keys_of(e.view(), e.alice.public_key()).size(), 1u);
  // Freed: bob may now register it; ids are never reused.
  e.ok(e.bob, AddSshKey{"", kEd});
  EXPECT_EQ(ssh_keys_of(e.view(), e.bob.public_key())[0].id, 3u);
}

TEST(SshKeys, OneOwnerPerKeyAndBadInputHasNoEffect) {
  Env e;
  e.ok(e.alice, AddSshKey{"laptop", kEd});
  auto before = e.state.digest();
  // The same key (another comment) by anyone: already in use.
  EXPECT_EQ(e.as(e.bob, AddSshKey{"x", kEd.substr(0, kEd.size() - 8) + " other"}).code(),
            Code::kAlreadyExists);
  EXPECT_EQ(e.as(e.alice, AddSshKey{"again", kEd}).code(), Code::kAlreadyExists);
  // Another account's identity key.
  EXPECT_EQ(e.as(e.alice, AddSshKey{"", ssh_line(e.bob.public_key())}).code(),
            Code::kAlreadyExists);
  EXPECT_EQ(e.as(e.alice, AddSshKey{"", kRsa1024}).code(), Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.alice, AddSshKey{"bad\ntitle", kEcdsa}).code(), Code::kInvalidArgument);
  // Not registered: no keys.
  EXPECT_EQ(e.as(e.nobody, AddSshKey{"", kEcdsa}).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.state.digest(), before);
}

TEST(SshKeys, TheIdentityKeyAuthenticatesItsOwnerWithoutRegistration) {
  Env e;
  auto k = parse_ssh_public_key(ssh_line(e.bob.public_key()) + " bob-identity");
  ASSERT_TRUE(k);
  auto owner = ssh_key_owner(e.view(), *k);
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->user, e.bob.public_key());
  EXPECT_EQ(owner->key_id, 0u);
  // An identity key of nobody registered authenticates nobody.
  EXPECT_FALSE(ssh_key_owner(e.view(), *parse_ssh_public_key(ssh_line(e.nobody.public_key()))));
}

TEST(SshKeys, AtMostAHundredKeysPerUser) {
  Env e;
  for (size_t i = 0; i < kMaxSshKeysPerUser; ++i)
    e.ok(e.alice, AddSshKey{"k", ssh_line(key(static_cast<uint8_t>(100 + i)).public_key())});
  EXPECT_EQ(e.as(e.alice, AddSshKey{"", kEd}).code(), Code::kInvalidArgument);
}
