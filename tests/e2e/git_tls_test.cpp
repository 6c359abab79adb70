// guts-node over HTTPS (docs/operator.md, "TLS"): the stock git clones and pushes and the guts
// CLI works against a node with a certificate of a test CA made at run time; SIGHUP rereads the
// certificate (a new connection sees it, an open one keeps working; a bad file keeps the old
// one); a missing, malformed, truncated or mismatched certificate or key refuses to start,
// naming the file, with nothing written.
#include <signal.h>
#include <stdlib.h>

#include <fstream>

#include "cli/http_client.h"
#include "tests/api/test_ca.h"
#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;
using testing::TestCa;

void install(const TestCa::Cert& c, const fs::path& cert, const fs::path& key) {
  fs::copy_file(c.cert, cert, fs::copy_options::overwrite_existing);
  fs::copy_file(c.key, key, fs::copy_options::overwrite_existing);
}

// The subject of the certificate a new connection to `url` gets ("" when curl fails).
std::string served_subject(const TestCa& ca, const std::string& url) {
  auto r = run({"curl", "-sS", "-v", "--cacert", ca.ca_file().string(), "--max-time", "20",
                url + "/api/guts/status"});
  if (!r.ok()) return "";
  auto at = r.err.find("subject: ");
  return at == std::string::npos ? "" : r.err.substr(at + 9, r.err.find('\n', at) - at - 9);
}

TEST(GitTls, CloneAndPushOverHttpsAndReloadOnSighup) {
  TempDir root("git-tls");
  TestCa ca(root / "ca");
  auto first = ca.server("node-cert-1", 101);
  auto second = ca.server("node-cert-2", 202);
  fs::create_directories(root / "tls");
  auto cert = root / "tls" / "cert.pem", key = root / "tls" / "key.pem";
  install(first, cert, key);
  // git, the guts CLI and the harness's own client trust the test CA.
  ::setenv("GUTS_CA_FILE", ca.ca_file().c_str(), 1);
  ::setenv("GIT_SSL_CAINFO", ca.ca_file().c_str(), 1);

  Node node(root / "node", {"--tls-cert-file", cert.string(), "--tls-key-file", key.string()});
  node.scheme() = "https";
  node.start();
  EXPECT_THAT(node.log(), HasSubstr("TLS certificate: subject CN=node-cert-1"));
  const std::string host = "127.0.0.1:" + std::to_string(node.port());
  User alice(root.path(), "alice", node);
  alice.sign_up();
  auto created = alice.guts({"repo", "create", "hello", "--json"});
  ASSERT_TRUE(created.ok()) << created.both();
  auto id = nlohmann::json::parse(created.out)["id"].get<uint64_t>();
  // The public URL follows the scheme.
  std::string body;
  ASSERT_EQ(alice.api("GET", "/api/v3/repos/alice/hello", "", &body), 200);
  EXPECT_THAT(body, HasSubstr("\"clone_url\":\"https://" + host + "/alice/hello.git\""));

  // Push and clone with the stock git over HTTPS.
  auto work = root / "work";
  ASSERT_TRUE(alice.git({"init", "-q", "-b", "main", work.string()}).ok());
  auto c1 = commit_file(alice, work, "README.md", "# hello over TLS\n", "first");
  const std::string remote = "https://alice:" + alice.token() + "@" + host + "/alice/hello.git";
  auto r = alice.git({"push", remote, "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(bare_ref(bare_repo_dir(node, id), "refs/heads/main"), c1);
  auto clone = root / "clone";
  r = alice.git({"clone", "https://" + host + "/alice/hello.git", clone.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(read_file(clone / "README.md"), "# hello over TLS\n");
  // With another CA, git refuses the certificate.
  TestCa stranger(root / "other-ca");
  r = alice.git({"ls-remote", "https://" + host + "/alice/hello.git"}, {},
                {{"GIT_SSL_CAINFO", stranger.ca_file().string()}});
  EXPECT_FALSE(r.ok()) << r.both();
  // The CLI's clone passes GUTS_CA_FILE on to git.
  r = alice.guts({"repo", "clone", "alice/hello", (root / "cli-clone").string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(read_file(root / "cli-clone" / "README.md"), "# hello over TLS\n");

  // SIGHUP with a new certificate: new connections get it; an open connection keeps working.
  cli::HttpClient open("https://" + host);
  ASSERT_EQ(open.get("/api/guts/status").status, 200);
  EXPECT_EQ(served_subject(ca, "https://" + host), "CN=node-cert-1");
  install(second, cert, key);
  ASSERT_EQ(::kill(node.pid(), SIGHUP), 0);
  EXPECT_TRUE(wait_until([&] { return served_subject(ca, "https://" + host) == "CN=node-cert-2"; },
                         std::chrono::seconds(20)))
      << node.log();
  EXPECT_THAT(node.log(), HasSubstr("TLS certificate reloaded: subject CN=node-cert-2"));
  EXPECT_EQ(open.get("/api/guts/status").status, 200);
  EXPECT_EQ(open.last_new_connections(), 0);

  // A bad certificate file: the reload fails naming it, the node keeps serving the current one.
  std::ofstream(cert, std::ios::trunc) << "-----BEGIN CERTIFICATE-----\nMIIB\n";
  ASSERT_EQ(::kill(node.pid(), SIGHUP), 0);
  EXPECT_TRUE(wait_until([&] { return node.log().find("TLS reload failed") != std::string::npos; },
                         std::chrono::seconds(20)))
      << node.log();
  EXPECT_THAT(node.log(), HasSubstr("TLS certificate file " + cert.string()));
  EXPECT_FALSE(node.exited());
  EXPECT_EQ(served_subject(ca, "https://" + host), "CN=node-cert-2");
  auto c2 = commit_file(alice, work, "README.md", "# second\n", "second");
  r = alice.git({"push", remote, "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  r = alice.git({"pull", "-q", "--ff-only"}, clone);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(rev_parse(alice, clone, "HEAD"), c2);
  node.stop();
  EXPECT_EQ(node.exit_status(), "exit 0");
}

TEST(GitTls, BadCertificateOrKeyRefusesToStartAndWritesNothing) {
  TempDir root("git-tls-bad");
  TestCa ca(root / "ca");
  auto good = ca.server("good", 1);
  auto other = ca.server("other", 2);
  auto write = [&](const std::string& name, const std::string& text) {
    auto p = root / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    return p;
  };
  std::string key_text = read_file(good.key);
  auto garbage = write("garbage.pem", "this is not a certificate\n");
  auto truncated = write("truncated.key", key_text.substr(0, key_text.size() / 2));
  struct Case {
    std::vector<std::string> args;
    fs::path named;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert-file", (root / "missing.pem").string(), "--tls-key-file", good.key.string()},
       root / "missing.pem",
       "does not exist"},
      {{"--tls-cert-file", garbage.string(), "--tls-key-file", good.key.string()},
       garbage,
       "no PEM certificate found"},
      {{"--tls-cert-file", good.cert.string(), "--tls-key-file", truncated.string()},
       truncated,
       "malformed or truncated PEM private key"},
      {{"--tls-cert-file", good.cert.string(), "--tls-key-file", other.key.string()},
       other.key,
       "does not match the certificate in " + good.cert.string()},
      {{"--tls-cert-file", good.cert.string()}, "tls-cert-file", "only tls-cert-file is set"},
  };
  // A data directory that exists already stays as it is.
  auto data = root / "data";
  fs::create_directories(data);
  write("data/marker", "x");
  for (const auto& c : cases) {
    std::vector<std::string> argv{(bin_dir() / "guts-node").string(),
                                  "--data-dir",
                                  data.string(),
                                  "--api-addr",
                                  "127.0.0.1:0",
                                  "--p2p-addr",
                                  "127.0.0.1:0"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = run(argv, {}, {}, "", std::chrono::seconds(60));
    EXPECT_EQ(r.code, 2) << r.both();
    EXPECT_THAT(r.err, HasSubstr(c.named.string()));
    EXPECT_THAT(r.err, HasSubstr(c.problem));
    std::vector<std::string> entries;
    for (const auto& e : fs::directory_iterator(data)) entries.push_back(e.path().filename());
    EXPECT_EQ(entries, std::vector<std::string>{"marker"}) << "a refused start wrote to " << data;
    EXPECT_FALSE(fs::exists(root / "data" / "node.key"));
  }
  // `guts-node config check` reads the files too.
  auto r = run({(bin_dir() / "guts-node").string(), "config", "check", "--tls-cert-file",
                garbage.string(), "--tls-key-file", good.key.string()},
               {}, {}, "", std::chrono::seconds(60));
  EXPECT_EQ(r.code, 2) << r.both();
  EXPECT_THAT(r.err, HasSubstr(garbage.string()));
  r = run({(bin_dir() / "guts-node").string(), "config", "check", "--tls-cert-file",
           good.cert.string(), "--tls-key-file", good.key.string()},
          {}, {}, "", std::chrono::seconds(60));
  EXPECT_EQ(r.code, 0) << r.both();
  EXPECT_THAT(r.out, HasSubstr("tls-cert-file = \"" + good.cert.string() + "\""));
}

}  // namespace
}  // namespace guts::e2e
