#include "crypto/keyfile.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdio>

#include "codec/codec.h"
#include "core/fs.h"
#include "core/status.h"
#include "crypto/hash.h"

namespace guts::crypto {

static constexpr std::string_view kHeader = "guts-ed25519-seed-v1\n";
static constexpr std::string_view kSchnorrHeader = "guts-secp256k1-secret-v1\n";

static std::string fmt_mode(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

namespace {

void write_secret_file(const std::filesystem::path& path, std::string_view header,
                       const std::array<uint8_t, 32>& secret) {
  std::string text = std::string(header) + hex_encode(secret) + "\n";
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  atomic_write_file(path, as_bytes(text), 0600);
  sodium_memzero(text.data(), text.size());
}

// The 32 secret bytes of a key file: HEADER, 64 hex characters, a newline; mode 0600.
std::array<uint8_t, 32> read_secret_file(const std::filesystem::path& path,
                                         std::string_view header) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(Code::kNotFound, "no key file at " + path.string());
  if (st.st_mode & 077)
    throw Error(Code::kPermissionDenied,
                "key file " + path.string() + " is accessible by group or others (mode " +
                    fmt_mode(st.st_mode) + "); run: chmod 600 " + path.string());
  Bytes data = read_file(path, 4096);
  std::string text(data.begin(), data.end());
  sodium_memzero(data.data(), data.size());
  if (text.size() != header.size() + 65 || text.compare(0, header.size(), header) != 0 ||
      text.back() != '\n')
    throw Error(Code::kInvalidArgument, "malformed key file " + path.string());
  auto secret = hex_decode_fixed<32>(std::string_view(text).substr(header.size(), 64));
  sodium_memzero(text.data(), text.size());
  if (!secret) throw Error(Code::kInvalidArgument, "malformed key file " + path.string());
  return *secret;
}

}  // namespace

void write_key_file(const std::filesystem::path& path, const SigningKey& key) {
  write_secret_file(path, kHeader, key.seed());
}

SigningKey create_key_file(const std::filesystem::path& path) {
  if (std::filesystem::exists(path))
    throw Error(Code::kConflict, "key file already exists: " + path.string());
  auto key = SigningKey::generate();
  write_key_file(path, key);
  return key;
}

SigningKey load_key_file(const std::filesystem::path& path) {
  auto seed = read_secret_file(path, kHeader);
  auto key = SigningKey::from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

SchnorrKey create_schnorr_key_file(const std::filesystem::path& path) {
  if (std::filesystem::exists(path))
    throw Error(Code::kConflict, "key file already exists: " + path.string());
  auto key = SchnorrKey::generate();
  write_secret_file(path, kSchnorrHeader, key.secret());
  return key;
}

SchnorrKey load_schnorr_key_file(const std::filesystem::path& path) {
  auto secret = read_secret_file(path, kSchnorrHeader);
  auto key = SchnorrKey::from_secret(secret);
  sodium_memzero(secret.data(), secret.size());
  return key;
}

SigningKey load_or_create_key_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return create_key_file(path);
  return load_key_file(path);
}

namespace {

// OpenSSH's wire strings: u32 big-endian length + bytes.
class SshReader {
 public:
  explicit SshReader(ByteView d) : r_(d) {}
  uint32_t u32() { return r_.u32be(); }
  ByteView string() {
    uint32_t n = r_.u32be();
    if (n > r_.remaining()) throw Error(Code::kInvalidArgument, "malformed OpenSSH key: truncated");
    return r_.fixed(n);
  }
  size_t remaining() const { return r_.remaining(); }

 private:
  codec::Reader r_;
};

}  // namespace

SigningKey parse_openssh_private_key(std::string_view pem) {
  static constexpr std::string_view kBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
  static constexpr std::string_view kEnd = "-----END OPENSSH PRIVATE KEY-----";
  auto b = pem.find(kBegin);
  auto e = pem.find(kEnd);
  if (b == std::string_view::npos || e == std::string_view::npos || e < b)
    throw Error(Code::kInvalidArgument,
                "not an OpenSSH private key (expected '-----BEGIN OPENSSH PRIVATE KEY-----')");
  std::string b64;
  for (char c : pem.substr(b + kBegin.size(), e - b - kBegin.size()))
    if (!std::isspace(static_cast<unsigned char>(c))) b64.push_back(c);
  ensure_sodium();
  Bytes raw(b64.size());
  size_t raw_len = 0;
  if (sodium_base642bin(raw.data(), raw.size(), b64.data(), b64.size(), nullptr, &raw_len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    throw Error(Code::kInvalidArgument, "malformed OpenSSH key: bad base64");
  raw.resize(raw_len);
  static constexpr std::string_view kMagic{"openssh-key-v1\0", 15};
  if (raw.size() < kMagic.size() ||
      std::string_view(reinterpret_cast<char*>(raw.data()), kMagic.size()) != kMagic)
    throw Error(Code::kInvalidArgument, "malformed OpenSSH key: bad magic");
  try {
    SshReader r(ByteView(raw).subspan(kMagic.size()));
    auto cipher = to_string(r.string());
    auto kdf = to_string(r.string());
    r.string();  // kdf options
    if (cipher != "none" || kdf != "none")
      throw Error(Code::kInvalidArgument,
                  "the OpenSSH key is encrypted with a passphrase (cipher " + cipher +
                      "); decrypt a copy first: ssh-keygen -p -N '' -f <copy>");
    if (r.u32() != 1)
      throw Error(Code::kInvalidArgument, "OpenSSH key file holds more than one key");
    r.string();  // public key blob
    SshReader priv(r.string());
    if (priv.u32() != priv.u32())
      throw Error(Code::kInvalidArgument, "malformed OpenSSH key: check mismatch");
    auto type = to_string(priv.string());
    if (type != "ssh-ed25519")
      throw Error(Code::kInvalidArgument,
                  "unsupported OpenSSH key type " + type + " (need ssh-ed25519)");
    auto pub = priv.string();
    auto secret = priv.string();  // seed || public key
    if (pub.size() != 32 || secret.size() != 64)
      throw Error(Code::kInvalidArgument, "malformed OpenSSH ed25519 key: bad lengths");
    Seed seed;
    std::copy(secret.begin(), secret.begin() + 32, seed.begin());
    auto key = SigningKey::from_seed(seed);
    sodium_memzero(seed.data(), seed.size());
    bool matches = std::equal(pub.begin(), pub.end(), key.public_key().begin());
    sodium_memzero(raw.data(), raw.size());
    if (!matches)
      throw Error(Code::kInvalidArgument, "OpenSSH key's public half does not match its seed");
    return key;
  } catch (const codec::DecodeError&) {
    throw Error(Code::kInvalidArgument, "malformed OpenSSH key: truncated");
  }
}

}  // namespace guts::crypto
