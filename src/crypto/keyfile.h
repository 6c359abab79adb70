// Key files. A Guts key file holds one 32-byte Ed25519 seed as text:
//   guts-ed25519-seed-v1
//   <64 hex characters>
// It is created with mode 0600 and refused when group or others may read it.
#pragma once

#include <filesystem>

#include "crypto/ed25519.h"
#include "crypto/schnorr.h"

namespace guts::crypto {

// Writes a new key file; throws if the file exists.
SigningKey create_key_file(const std::filesystem::path& path);
void write_key_file(const std::filesystem::path& path, const SigningKey& key);
// Throws guts::Error with a clear message: missing, permissions too open, malformed.
SigningKey load_key_file(const std::filesystem::path& path);
// Loads the key file, creating it first if it does not exist.
SigningKey load_or_create_key_file(const std::filesystem::path& path);

// Nostr (secp256k1) key files: the same form with the header "guts-secp256k1-secret-v1" and
// the 32-byte secret key (src/crypto/schnorr.h).
SchnorrKey create_schnorr_key_file(const std::filesystem::path& path);  // throws if it exists
SchnorrKey load_schnorr_key_file(const std::filesystem::path& path);

// Parses an unencrypted OpenSSH ed25519 private key ("-----BEGIN OPENSSH PRIVATE KEY-----").
// Throws guts::Error for encrypted keys, other key types, or malformed input.
SigningKey parse_openssh_private_key(std::string_view pem);

}  // namespace guts::crypto
