// TLS for the API and git port (api/http_server.h): a server certificate chain and its private
// key, read from PEM files and checked, as an OpenSSL context that speaks TLS 1.3 only. This
// header is Boost- and OpenSSL-free; tls_context.cpp is the only file with OpenSSL's API.
//
// TLS 1.3 only: every client Guts supports (git with libcurl/OpenSSL or GnuTLS, curl, Node.js
// for Octokit, browsers of the last years) speaks it, and it removes the cipher-suite and
// renegotiation choices of older versions.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace guts::api {

struct TlsFiles {
  std::filesystem::path cert_file;  // PEM: the server certificate, then its intermediates
  std::filesystem::path key_file;   // PEM: the private key of the first certificate, unencrypted
};

// An immutable server TLS context. Built with load(); shared by the connections that use it.
class TlsContext {
 public:
  // Reads and checks both files (each at most 1 MiB) and builds the context. Throws
  // guts::Error(kInvalidArgument) naming the file and the problem: missing or unreadable, no PEM
  // block, a malformed or truncated one, an encrypted key, a key that does not match the
  // certificate. Writes nothing.
  static std::shared_ptr<const TlsContext> load(const TlsFiles& files);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A new reference to the OpenSSL SSL_CTX (SSL_CTX_up_ref): the caller owns it (boost::asio's
  // ssl::context takes it over).
  void* new_native_reference() const;
  const TlsFiles& files() const { return files_; }
  // "subject CN=…, issuer CN=…, serial 0x…, 2 certificates, valid until 2027-01-01 00:00:00 UTC".
  const std::string& summary() const { return summary_; }
  bool expired() const { return expired_; }

 private:
  TlsContext() = default;
  void* ctx_ = nullptr;  // SSL_CTX*
  TlsFiles files_;
  std::string summary_;
  bool expired_ = false;
};

}  // namespace guts::api
