// A throwaway certificate authority for TLS tests, made at run time with the openssl CLI in a
// directory: ca.pem (the root, for curl --cacert / GIT_SSL_CAINFO / GUTS_CA_FILE) and server
// certificates for 127.0.0.1 and localhost (EC P-256, valid two days), issued by the root or by
// an intermediate.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/node_harness.h"

namespace guts::testing {

class TestCa {
 public:
  struct Cert {
    fs::path cert, key;
  };

  explicit TestCa(fs::path dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "openssl.cnf")
        << "[req]\ndistinguished_name = dn\nprompt = no\n"
           "[dn]\nCN = unused\n"
           "[ca_ext]\nbasicConstraints = critical,CA:TRUE\n"
           "keyUsage = critical,keyCertSign,cRLSign\n"
           "subjectKeyIdentifier = hash\n"
           "[int_ext]\nbasicConstraints = critical,CA:TRUE,pathlen:0\n"
           "keyUsage = critical,keyCertSign,cRLSign\n"
           "subjectKeyIdentifier = hash\n"
           "authorityKeyIdentifier = keyid\n"
           "[server_ext]\nbasicConstraints = CA:FALSE\n"
           "keyUsage = critical,digitalSignature\n"
           "extendedKeyUsage = serverAuth\n"
           "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
           "subjectKeyIdentifier = hash\n"
           "authorityKeyIdentifier = keyid\n";
    openssl({"req", "-x509", "-config", cnf(), "-extensions", "ca_ext", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", (dir_ / "ca.key").string(), "-out",
             ca_file().string(), "-subj", "/CN=Guts Test CA", "-days", "2"});
  }

  fs::path ca_file() const { return dir_ / "ca.pem"; }
  const fs::path& dir() const { return dir_; }

  // A server certificate CN=<name> with the given serial, issued by `issuer` ("ca" or the name
  // of an intermediate()): <name>.pem (with the intermediate appended when there is one) and
  // <name>.key.
  Cert server(const std::string& name, int serial, const std::string& issuer = "ca") {
    issue(name, serial, issuer, "server_ext");
    if (issuer != "ca") {
      std::ofstream(dir_ / (name + ".pem"), std::ios::app) << read_file(dir_ / (issuer + ".pem"));
    }
    return {dir_ / (name + ".pem"), dir_ / (name + ".key")};
  }
  // An intermediate CA CN=<name>, issued by the root.
  void intermediate(const std::string& name, int serial) { issue(name, serial, "ca", "int_ext"); }

 private:
  std::string cnf() const { return (dir_ / "openssl.cnf").string(); }
  void issue(const std::string& name, int serial, const std::string& issuer,
             const std::string& ext) {
    auto p = [&](const std::string& suffix) { return (dir_ / (name + suffix)).string(); };
    openssl({"req", "-new", "-config", cnf(), "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", p(".key"), "-out", p(".csr"), "-subj",
             "/CN=" + name});
    openssl({"x509", "-req", "-in", p(".csr"), "-CA", (dir_ / (issuer + ".pem")).string(), "-CAkey",
             (dir_ / (issuer + ".key")).string(), "-set_serial", std::to_string(serial), "-days",
             "2", "-out", p(".pem"), "-extfile", cnf(), "-extensions", ext});
  }
  static void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    auto r = run(args, {}, {}, "", std::chrono::seconds(60));
    if (!r.ok()) throw std::runtime_error("openssl " + args[1] + " failed: " + r.both());
  }

  fs::path dir_;
};

}  // namespace guts::testing
