// SSH public keys as replicated state (issue 17 point 1; docs/git.md "Git over SSH"): every node
// must be able to authenticate a user's key, so keys are transactions.
//
//   kind 60 add_ssh_key     title str(≤ kMaxSshKeyTitle) | key str(≤ kMaxSshKeyText)
//   kind 61 delete_ssh_key  key_id varint
//
// Validity rules (apply_add_ssh_key / apply_delete_ssh_key in ssh_keys_exec.cpp):
//   * the author is a registered user;
//   * the key parses (parse_ssh_public_key below: OpenSSH one-line form "type base64 [comment]",
//     bounded) and is ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa of 2048-16384 bits;
//   * a key belongs to at most one user: the same key blob (any comment) registered by anyone
//     is "key is already in use" — and so is an ssh-ed25519 key equal to a registered account's
//     identity key (that key already authenticates its owner, see below);
//   * at most kMaxSshKeysPerUser keys per user;
//   * only the user deletes their own keys (another user's key id is "not found").
// A user's Ed25519 identity key is accepted as their SSH key without registration: an
// ssh-ed25519 key whose 32 bytes are an account's identity public key authenticates that
// account (ssh_key_owner in ssh_keys_state.h).
//
// Layout, in the `governance` family (tag 'K', not used by other features):
//   Ki·be64(id)              → encode_ssh_key(record)
//   Ku·user pk32·be64(id)    → ""            (a user's keys, by id)
//   Kf·sha256(blob)          → be64(id)      (uniqueness and lookup at authentication)
//   Kn                       → be64(next id) (ids start at 1, never reused)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "codec/codec.h"
#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::state {

inline constexpr size_t kMaxSshKeyText = 16 * 1024;  // the OpenSSH line
inline constexpr size_t kMaxSshKeyBlob = 4096;       // decoded wire blob (RSA-16384 is ~2 KiB)
inline constexpr size_t kMaxSshKeyTitle = 256;
inline constexpr size_t kMaxSshKeysPerUser = 100;
inline constexpr uint32_t kMinRsaBits = 2048;
inline constexpr uint32_t kMaxRsaBits = 16384;

// A public key in OpenSSH's one-line form, checked structurally (no libssh: every validator must
// decide alike). ECDSA points are checked for length and form (uncompressed), not for being on
// the curve; such a key can never authenticate (the SSH server's libssh refuses it).
struct SshPublicKey {
  std::string type;     // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
  Bytes blob;           // the SSH wire encoding (what "base64" decodes to)
  uint32_t bits = 0;    // 256 for ed25519, curve size for ECDSA, modulus bits for RSA
  std::string comment;  // the rest of the line, trimmed (not stored in state)

  // "type base64" without the comment: the canonical form stored and shown.
  std::string canonical() const;
  // OpenSSH's fingerprint: "SHA256:" + base64 of sha256(blob), no padding.
  std::string fingerprint() const;
  // The Ed25519 public key of an ssh-ed25519 key.
  std::optional<crypto::PublicKey> ed25519() const;
};

// Parses "type base64 [comment]" (leading/trailing spaces allowed, one line, ≤ kMaxSshKeyText).
// nullopt with the reason in *error when it is not an acceptable key.
std::optional<SshPublicKey> parse_ssh_public_key(std::string_view text,
                                                 std::string* error = nullptr);
// The wire blob of ssh-ed25519 for a raw Ed25519 public key.
Bytes ssh_ed25519_blob(const crypto::PublicKey& key);

struct AddSshKey {
  std::string title;
  std::string key;  // the OpenSSH line as sent (the comment is dropped when stored)
};
struct DeleteSshKey {
  uint64_t key_id = 0;
};

// A registered key (the state record).
struct SshKey {
  uint64_t id = 0;
  crypto::PublicKey user{};
  std::string title;
  std::string key;  // canonical "type base64"
  uint64_t created_ms = 0;
  bool operator==(const SshKey&) const = default;
};

void encode_ssh_key_body(codec::Writer& w, const AddSshKey& b);
void encode_ssh_key_body(codec::Writer& w, const DeleteSshKey& b);
// Throw codec::DecodeError (over a bound).
AddSshKey decode_add_ssh_key_body(codec::Reader& r);
DeleteSshKey decode_delete_ssh_key_body(codec::Reader& r);

Bytes encode_ssh_key(const SshKey& k);
SshKey decode_ssh_key(ByteView data);  // throws codec::DecodeError

std::string ssh_key_record_key(uint64_t id);
std::string ssh_key_user_prefix(const crypto::PublicKey& user);
std::string ssh_key_user_key(const crypto::PublicKey& user, uint64_t id);
std::string ssh_key_fingerprint_key(ByteView blob);
inline constexpr std::string_view kSshKeyNextId = "Kn";

template <typename T>
inline constexpr bool kIsSshKeyBody =
    std::is_same_v<T, AddSshKey> || std::is_same_v<T, DeleteSshKey>;

}  // namespace guts::state
