// The server TLS context (api/tls_context.h): the PEM files are read and checked here, with a
// message per problem, before OpenSSL builds the context from what was parsed.
#include "api/tls_context.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "core/status.h"

namespace guts::api {

namespace {

constexpr size_t kMaxPemFile = 1 << 20;
constexpr const char* kCertWhat = "TLS certificate file";
constexpr const char* kKeyWhat = "TLS key file";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

[[noreturn]] void fail(const char* what, const std::filesystem::path& file,
                       const std::string& problem) {
  ERR_clear_error();
  throw Error(Code::kInvalidArgument, std::string(what) + " " + file.string() + ": " + problem);
}

// OpenSSL's reason for the last error queued ("no start line", "bad end line"); clears the queue.
std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  std::string out;
  if (e != 0) {
    const char* r = ERR_reason_error_string(e);
    if (r) {
      out = r;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      out = buf;
    }
  }
  ERR_clear_error();
  return out.empty() ? "unknown error" : out;
}

std::string read_bounded(const char* what, const std::filesystem::path& p) {
  std::error_code ec;
  auto st = std::filesystem::status(p, ec);
  if (ec || !std::filesystem::exists(st)) fail(what, p, "does not exist");
  if (std::filesystem::is_directory(st)) fail(what, p, "is a directory, not a PEM file");
  std::FILE* f = std::fopen(p.c_str(), "rb");
  if (!f) fail(what, p, std::string("cannot be read: ") + std::strerror(errno));
  std::string text;
  char buf[16 << 10];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxPemFile) {
      std::fclose(f);
      fail(what, p, "is larger than 1 MiB: not a certificate chain or key");
    }
  }
  bool err = std::ferror(f) != 0;
  int saved = errno;
  std::fclose(f);
  if (err) fail(what, p, std::string("cannot be read: ") + std::strerror(saved));
  if (text.empty()) fail(what, p, "is empty");
  return text;
}

BioPtr memory_bio(const std::string& text) {
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) throw Error(Code::kInternal, "BIO_new_mem_buf failed");
  return bio;
}

std::vector<X509Ptr> parse_certificates(const TlsFiles& files, const std::string& text) {
  auto bio = memory_bio(text);
  std::vector<X509Ptr> certs;
  for (;;) {
    ERR_clear_error();
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x) {
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) break;
      fail(kCertWhat, files.cert_file,
           "certificate " + std::to_string(certs.size() + 1) + " is malformed or truncated PEM (" +
               openssl_reason() + ")");
    }
    certs.push_back(std::move(x));
  }
  ERR_clear_error();
  if (certs.empty())
    fail(kCertWhat, files.cert_file,
         text.find("-----BEGIN") == std::string::npos
             ? "no PEM certificate found (expected '-----BEGIN CERTIFICATE-----')"
             : "its PEM blocks hold no certificate (expected '-----BEGIN CERTIFICATE-----')");
  // The chain as servers send it: the server's certificate first, then each issuer.
  for (size_t i = 1; i < certs.size(); ++i) {
    if (X509_check_issued(certs[i].get(), certs[i - 1].get()) != X509_V_OK)
      fail(kCertWhat, files.cert_file,
           "certificate " + std::to_string(i + 1) + " did not issue certificate " +
               std::to_string(i) +
               ": put the server's certificate first, then its intermediates in order");
  }
  return certs;
}

int no_passphrase(char*, int, int, void*) {
  return 0;
}

KeyPtr parse_key(const TlsFiles& files, const std::string& text) {
  if (text.find("-----BEGIN") == std::string::npos)
    fail(kKeyWhat, files.key_file,
         "no PEM private key found (expected '-----BEGIN PRIVATE KEY-----')");
  if (text.find("ENCRYPTED") != std::string::npos)
    fail(kKeyWhat, files.key_file,
         "the private key is encrypted; guts-node needs it unencrypted (openssl pkey -in <key> "
         "-out <new key>) in a file only the node's user can read");
  auto bio = memory_bio(text);
  ERR_clear_error();
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key)
    fail(kKeyWhat, files.key_file,
         "malformed or truncated PEM private key (" + openssl_reason() + ")");
  return key;
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "?";
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

std::string serial_text(const X509* x) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
  if (!bn) return "?";
  char* hex = BN_bn2hex(bn);
  std::string out = hex ? std::string("0x") + hex : "?";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string time_text(const ASN1_TIME* t) {
  std::tm tm{};
  if (!ASN1_TIME_to_tm(t, &tm)) return "?";
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return std::string(buf, n);
}

// ALPN: HTTP/1.1 when the client offers it (curl and browsers offer h2 first); no ALPN answer
// otherwise, which clients read as HTTP/1.1 as well.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::shared_ptr<const TlsContext> TlsContext::load(const TlsFiles& files) {
  if (files.cert_file.empty() || files.key_file.empty())
    throw Error(Code::kInvalidArgument,
                "TLS needs both a certificate file and a key file (tls-cert-file, tls-key-file)");
  auto certs = parse_certificates(files, read_bounded(kCertWhat, files.cert_file));
  auto key = parse_key(files, read_bounded(kKeyWhat, files.key_file));
  if (X509_check_private_key(certs[0].get(), key.get()) != 1)
    fail(kKeyWhat, files.key_file,
         "does not match the certificate in " + files.cert_file.string() +
             " (a key of another certificate?)");

  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw Error(Code::kInternal, "SSL_CTX_new failed: " + openssl_reason());
  auto check = [&](int ok, const char* step) {
    if (ok != 1)
      throw Error(Code::kInternal, std::string("TLS context: ") + step + ": " + openssl_reason());
  };
  check(SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION), "TLS 1.3 only");
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);  // idle keep-alive connections
  check(SSL_CTX_use_certificate(ctx.get(), certs[0].get()), "certificate");
  for (size_t i = 1; i < certs.size(); ++i)
    check(static_cast<int>(SSL_CTX_add1_chain_cert(ctx.get(), certs[i].get())), "chain");
  check(SSL_CTX_use_PrivateKey(ctx.get(), key.get()), "private key");
  check(SSL_CTX_check_private_key(ctx.get()), "key check");
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_alpn, nullptr);

  std::shared_ptr<TlsContext> out(new TlsContext());
  const X509* leaf = certs[0].get();
  out->files_ = files;
  out->expired_ = X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0;
  out->summary_ = "subject " + name_text(X509_get_subject_name(leaf)) + ", issuer " +
                  name_text(X509_get_issuer_name(leaf)) + ", serial " + serial_text(leaf) + ", " +
                  std::to_string(certs.size()) +
                  (certs.size() == 1 ? " certificate" : " certificates") + ", valid until " +
                  time_text(X509_get0_notAfter(leaf));
  out->ctx_ = ctx.release();
  return out;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

void* TlsContext::new_native_reference() const {
  SSL_CTX_up_ref(static_cast<SSL_CTX*>(ctx_));
  return ctx_;
}

}  // namespace guts::api
