// HTTPS on the HTTP server (api/tls_context.h): the stock curl over TLS 1.3 with a test CA, TLS
// 1.2 refused, keep-alive, streaming routes, a certificate chain, reload_tls() (new connections
// get the new certificate, an open one keeps working; a bad file keeps the old one), and the
// file errors of TlsContext::load.
#include <gtest/gtest.h>

#include <fstream>

#include "api/http_server.h"
#include "api/tls_context.h"
#include "cli/http_client.h"
#include "core/status.h"
#include "tests/api/test_ca.h"

namespace {

using namespace guts;
using namespace guts::api;
using guts::cli::HttpClient;
using guts::testing::CmdResult;
using guts::testing::TempDir;
using guts::testing::TestCa;
namespace fs = std::filesystem;

struct TlsServer {
  TempDir dir{"tls-server"};
  TestCa ca{dir / "ca"};
  std::shared_ptr<Router> router = std::make_shared<Router>();
  std::unique_ptr<HttpServer> server;
  fs::path cert = dir / "server.pem", key = dir / "server.key";

  TlsServer() {
    router->add("GET", "/a", "public", [](Request&, Responder r) { r(Response::text(200, "A")); });
    router->add("GET", "/b", "public", [](Request&, Responder r) { r(Response::text(200, "B")); });
    // Streaming: counts the uploaded bytes, then answers chunked with `n` bytes.
    router->add_streaming("POST", "/upload", "public", [](Request&, Exchange& ex) {
      std::vector<uint8_t> buf(64 << 10);
      size_t total = 0, n = 0;
      while ((n = ex.read_body(buf.data(), buf.size())) > 0) total += n;
      ex.begin_response(200, Headers());
      std::string chunk(100000, 'x');
      for (int i = 0; i < 20; ++i) ex.write(chunk);
      ex.write(" " + std::to_string(total));
      ex.finish();
    });
  }
  void install(const TestCa::Cert& c) {
    fs::copy_file(c.cert, cert, fs::copy_options::overwrite_existing);
    fs::copy_file(c.key, key, fs::copy_options::overwrite_existing);
  }
  void start() {
    ServerOptions opt;
    opt.port = 0;
    opt.threads = 2;
    opt.streaming_threads = 2;
    opt.read_timeout = std::chrono::seconds(10);
    opt.tls_cert_file = cert;
    opt.tls_key_file = key;
    server = std::make_unique<HttpServer>(opt, router, std::vector<Middleware>{});
    server->start();
  }
  std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server->port()) + path;
  }
  CmdResult curl(std::vector<std::string> args) const {
    args.insert(args.begin(),
                {"curl", "-sS", "-v", "--cacert", ca.ca_file().string(), "--max-time", "30"});
    return guts::testing::run(args, {}, {}, "", std::chrono::seconds(60));
  }
  HttpClient client() const {
    HttpClient c("https://127.0.0.1:" + std::to_string(server->port()));
    c.set_ca_file(ca.ca_file().string());
    return c;
  }
};

TEST(TlsServer, CurlTls13KeepAliveAndOlderTlsRefused) {
  TlsServer s;
  s.install(s.ca.server("server-1", 1001));
  s.start();
  EXPECT_TRUE(s.server->tls());
  // Two URLs in one curl: one TLS 1.3 connection, reused.
  auto r = s.curl({"--tlsv1.3", s.url("/a"), s.url("/b")});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(r.out, "AB");
  EXPECT_NE(r.err.find("SSL connection using TLSv1.3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("subject: CN=server-1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ALPN: server accepted http/1.1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Re-using existing connection"), std::string::npos) << r.err;
  // Connection: close (HTTP/1.0): the response, then close_notify; curl does not hang.
  auto t0 = std::chrono::steady_clock::now();
  r = s.curl({"--http1.0", s.url("/a")});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(r.out, "A");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // A client limited to TLS 1.2 is refused in the handshake.
  r = s.curl({"--tls-max", "1.2", s.url("/a")});
  EXPECT_FALSE(r.ok()) << r.both();
  EXPECT_EQ(r.out, "");
  // Plain HTTP on the HTTPS port gets no answer; the server keeps serving.
  r = s.curl({"http://127.0.0.1:" + std::to_string(s.server->port()) + "/a"});
  EXPECT_FALSE(r.ok()) << r.both();
  // Without the test CA, curl refuses the certificate.
  r = guts::testing::run({"curl", "-sS", "--max-time", "30", s.url("/a")});
  EXPECT_FALSE(r.ok()) << r.both();
  r = s.curl({s.url("/b")});
  EXPECT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(r.out, "B");
}

TEST(TlsServer, StreamingRoutesAndKeepAliveThroughLibcurl) {
  TlsServer s;
  s.install(s.ca.server("server-1", 1001));
  s.start();
  auto c = s.client();
  std::string body(3 << 20, 'u');
  for (int i = 0; i < 3; ++i) {
    auto r = c.post("/upload", body, "application/octet-stream");
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
    EXPECT_EQ(r.body.size(), 2000000 + 1 + std::to_string(body.size()).size());
    EXPECT_EQ(r.body.substr(2000001), std::to_string(body.size()));
    if (i > 0) {
      EXPECT_EQ(c.last_new_connections(), 0) << "keep-alive over TLS";
    }
  }
  EXPECT_EQ(c.get("/a").body, "A");
  EXPECT_EQ(c.last_new_connections(), 0);
  s.server->stop();  // graceful with an idle TLS connection open
}

TEST(TlsServer, IntermediateChainVerifiesWithTheRootOnly) {
  TlsServer s;
  s.ca.intermediate("intermediate", 50);
  s.install(s.ca.server("leaf", 1002, "intermediate"));
  s.start();
  auto r = s.curl({s.url("/a")});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(r.out, "A");
  EXPECT_NE(r.err.find("issuer: CN=intermediate"), std::string::npos) << r.err;
}

TEST(TlsServer, ReloadServesTheNewCertificateToNewConnections) {
  TlsServer s;
  auto first = s.ca.server("server-1", 1001);
  auto second = s.ca.server("server-2", 2002);
  s.install(first);
  s.start();
  auto c = s.client();
  ASSERT_EQ(c.get("/a").status, 200);  // an open keep-alive connection with the first certificate

  s.install(second);
  std::string summary = s.server->reload_tls();
  EXPECT_NE(summary.find("CN=server-2"), std::string::npos) << summary;
  EXPECT_NE(summary.find("serial 0x07D2"), std::string::npos) << summary;
  auto r = s.curl({s.url("/a")});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_NE(r.err.find("subject: CN=server-2"), std::string::npos) << r.err;
  // The open connection keeps working (no new connection).
  EXPECT_EQ(c.get("/b").body, "B");
  EXPECT_EQ(c.last_new_connections(), 0);

  // A bad file: the reload fails naming it, and the server keeps the current certificate.
  std::ofstream(s.cert, std::ios::trunc) << "not a certificate\n";
  try {
    s.server->reload_tls();
    ADD_FAILURE() << "reload of a garbage certificate succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(s.cert.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no PEM certificate"), std::string::npos) << e.what();
  }
  r = s.curl({s.url("/b")});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_NE(r.err.find("subject: CN=server-2"), std::string::npos) << r.err;
  EXPECT_EQ(c.get("/a").body, "A");
}

TEST(TlsServer, ReloadWithoutTlsIsRefused) {
  auto router = std::make_shared<Router>();
  ServerOptions opt;
  opt.port = 0;
  HttpServer server(opt, router, {});
  server.start();
  EXPECT_FALSE(server.tls());
  try {
    server.reload_tls();
    ADD_FAILURE() << "reload without TLS";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
  }
}

// Every problem names the file and says what is wrong.
TEST(TlsContext, BadFilesAreNamedWithTheProblem) {
  TempDir dir("tls-bad-files");
  TestCa ca(dir / "ca");
  auto good = ca.server("good", 1);
  auto other = ca.server("other", 2);
  auto text = guts::testing::read_file;
  auto write = [&](const std::string& name, const std::string& content) {
    auto p = dir / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    return p;
  };
  auto expect_error = [&](const fs::path& cert, const fs::path& key, const fs::path& named,
                          const std::string& problem) {
    try {
      TlsContext::load({cert, key});
      ADD_FAILURE() << "loaded " << cert << " " << key;
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_EQ(e.code(), Code::kInvalidArgument) << m;
      EXPECT_NE(m.find(named.string()), std::string::npos) << m;
      EXPECT_NE(m.find(problem), std::string::npos) << m;
    }
  };
  auto loaded = TlsContext::load({good.cert, good.key});
  EXPECT_NE(loaded->summary().find("subject CN=good, issuer CN=Guts Test CA, serial 0x01"),
            std::string::npos)
      << loaded->summary();
  EXPECT_FALSE(loaded->expired());

  expect_error(dir / "missing.pem", good.key, dir / "missing.pem", "does not exist");
  expect_error(good.cert, dir / "missing.key", dir / "missing.key", "does not exist");
  expect_error(dir.path(), good.key, dir.path(), "is a directory");
  auto empty = write("empty.pem", "");
  expect_error(empty, good.key, empty, "is empty");
  auto garbage = write("garbage.pem", "hello, this is not PEM\n");
  expect_error(garbage, good.key, garbage, "no PEM certificate found");
  expect_error(good.key, good.key, good.key, "hold no certificate");
  std::string cert_text = text(good.cert);
  auto truncated_cert = write("truncated.pem", cert_text.substr(0, cert_text.size() / 2));
  expect_error(truncated_cert, good.key, truncated_cert, "malformed or truncated");
  std::string key_text = text(good.key);
  auto truncated_key = write("truncated.key", key_text.substr(0, key_text.size() - 40));
  expect_error(good.cert, truncated_key, truncated_key, "malformed or truncated PEM private key");
  auto garbage_key = write("garbage.key", "\x01\x02 binary");
  expect_error(good.cert, garbage_key, garbage_key, "no PEM private key found");
  expect_error(good.cert, other.key, other.key, "does not match the certificate in");
  auto encrypted = write("encrypted.key",
                         "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
                         "-----END ENCRYPTED PRIVATE KEY-----\n");
  expect_error(good.cert, encrypted, encrypted, "encrypted");
  // The chain in the wrong order: issuer first.
  auto reversed = write("reversed.pem", text(ca.ca_file()) + cert_text);
  expect_error(reversed, good.key, reversed, "certificate 2 did not issue certificate 1");
  auto wrong_order = write("wrong-order.pem", cert_text + text(other.cert));
  expect_error(wrong_order, good.key, wrong_order, "did not issue certificate 1");
  auto huge = write("huge.pem", std::string((1 << 20) + 1, 'A'));
  expect_error(huge, good.key, huge, "larger than 1 MiB");
  try {
    TlsContext::load({good.cert, ""});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("both"), std::string::npos) << e.what();
  }
}

}  // namespace
