// Webhooks end to end (docs/webhooks.md): a real HTTP receiver (tests/e2e/webhook_receiver.py)
// verifies X-Hub-Signature-256 and records every delivery; pushes with the stock git, issues,
// a receiver failure retried with backoff, redelivery, and a two-validator network that sends
// exactly one copy of each event.
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/webhook_receiver.h"
#include "tests/support/cluster_harness.h"

namespace guts::e2e {
namespace {

using json = nlohmann::ordered_json;
using namespace std::chrono_literals;

constexpr const char* kSecret = "It's a Secret to Everybody";

// The receiver (tests/e2e/webhook_receiver.h) with the hooks' secret.
class Receiver : public WebhookReceiver {
 public:
  explicit Receiver(const fs::path& dir) : WebhookReceiver(dir, kSecret) {}
};

json api_json(const User& u, const std::string& method, const std::string& path,
              const std::string& body, int expect) {
  std::string out;
  int st = u.api(method, path, body, &out);
  EXPECT_EQ(st, expect) << method << " " << path << ": " << out;
  return json::parse(out.empty() ? "null" : out, nullptr, false);
}

json hook_body(const std::string& url) {
  return {{"name", "web"},
          {"active", true},
          {"events", {"push", "issues", "issue_comment", "pull_request"}},
          {"config", {{"url", url}, {"content_type", "json"}, {"secret", kSecret}}}};
}

class Webhooks : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        std::make_unique<TempDir>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    node_ = std::make_unique<Node>(
        root_->path() / "node",
        std::vector<std::string>{"--webhook-allow-private", "--webhook-retry-base-ms", "200"});
    node_->start();
    alice_ = std::make_unique<User>(root_->path(), "alice", *node_);
    alice_->sign_up();
    receiver_ = std::make_unique<Receiver>(root_->path() / "receiver");
  }
  void TearDown() override {
    if (HasFailure() && node_) std::cerr << "---- node log ----\n" << node_->log() << "\n";
    receiver_.reset();
    if (node_) node_->stop();
  }
  std::unique_ptr<TempDir> root_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<User> alice_;
  std::unique_ptr<Receiver> receiver_;
};

TEST_F(Webhooks, PushIssuesRetryRedeliverWithVerifiedSignatures) {
  ASSERT_TRUE(alice_->guts({"repo", "create", "hooked"}).ok());
  const std::string base = "/api/v3/repos/alice/hooked/hooks";

  // Bad input: refused, nothing created.
  api_json(*alice_, "POST", base, hook_body("ftp://example.com/x").dump(), 422);
  api_json(*alice_, "POST", base, json{{"config", json::object()}}.dump(), 422);
  auto events_bad = hook_body(receiver_->url());
  events_bad["events"] = {"nonsense"};
  api_json(*alice_, "POST", base, events_bad.dump(), 422);
  EXPECT_TRUE(api_json(*alice_, "GET", base, "", 200).empty());

  auto hook = api_json(*alice_, "POST", base, hook_body(receiver_->url()).dump(), 201);
  ASSERT_TRUE(hook.is_object());
  const std::string hook_path = base + "/" + std::to_string(hook["id"].get<uint64_t>());
  EXPECT_EQ(hook["config"]["secret"], "********");  // never returned
  EXPECT_EQ(hook["config"]["url"], receiver_->url());
  EXPECT_EQ(hook["type"], "Repository");
  auto got = api_json(*alice_, "GET", hook_path, "", 200);
  EXPECT_EQ(got["config"]["secret"], "********");
  EXPECT_EQ(api_json(*alice_, "GET", base, "", 200).size(), 1u);

  // The ping on creation, signed.
  ASSERT_TRUE(receiver_->wait_ok("ping", 1)) << receiver_->records().size();
  auto ping = receiver_->of("ping")[0];
  EXPECT_TRUE(ping["signature_ok"].get<bool>());
  EXPECT_EQ(ping["payload"]["hook_id"], hook["id"]);
  EXPECT_EQ(ping["content_type"], "application/json");
  EXPECT_EQ(ping["user_agent"].get<std::string>().rfind("GitHub-Hookshot/", 0), 0u);

  // Push with the stock git: one push event with before/after.
  auto work = root_->path() / "work";
  ASSERT_TRUE(alice_->git({"init", "-q", "-b", "main", work.string()}).ok());
  auto c1 = commit_file(*alice_, work, "README.md", "# hooked\n", "first commit");
  ASSERT_TRUE(
      alice_->git({"remote", "add", "origin", alice_->remote("alice", "hooked")}, work).ok());
  auto r = alice_->git({"push", "-q", "origin", "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  ASSERT_TRUE(receiver_->wait_ok("push", 1));
  auto push1 = receiver_->of("push")[0];
  EXPECT_TRUE(push1["signature_ok"].get<bool>());
  EXPECT_EQ(push1["payload"]["ref"], "refs/heads/main");
  EXPECT_EQ(push1["payload"]["before"], std::string(40, '0'));
  EXPECT_EQ(push1["payload"]["after"], c1);
  EXPECT_EQ(push1["payload"]["created"], true);
  EXPECT_EQ(push1["payload"]["repository"]["full_name"], "alice/hooked");
  EXPECT_EQ(push1["payload"]["sender"]["login"], "alice");
  ASSERT_EQ(push1["payload"]["commits"].size(), 1u);
  EXPECT_EQ(push1["payload"]["commits"][0]["id"], c1);
  EXPECT_EQ(push1["payload"]["commits"][0]["message"], "first commit\n");

  auto c2 = commit_file(*alice_, work, "a.txt", "a\n", "second");
  auto c3 = commit_file(*alice_, work, "b.txt", "b\n", "third");
  r = alice_->git({"push", "-q", "origin", "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  ASSERT_TRUE(receiver_->wait_ok("push", 2));
  auto push2 = receiver_->of("push")[1];
  EXPECT_EQ(push2["payload"]["before"], c1);
  EXPECT_EQ(push2["payload"]["after"], c3);
  ASSERT_EQ(push2["payload"]["commits"].size(), 2u);
  EXPECT_EQ(push2["payload"]["commits"][0]["id"], c2);  // oldest first
  EXPECT_EQ(push2["payload"]["head_commit"]["id"], c3);

  // The receiver fails once: the issues event is retried (backoff) and delivered, with one
  // GUID.
  receiver_->fail_next(1);
  api_json(*alice_, "POST", "/api/v3/repos/alice/hooked/issues",
           json{{"title", "Hooked issue"}, {"body", "hello"}}.dump(), 201);
  ASSERT_TRUE(receiver_->wait_ok("issues", 1));
  auto issues = receiver_->of("issues");
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0]["status"], 500);
  EXPECT_EQ(issues[1]["status"], 200);
  EXPECT_EQ(issues[0]["guid"], issues[1]["guid"]);
  EXPECT_EQ(issues[1]["payload"]["action"], "opened");
  EXPECT_EQ(issues[1]["payload"]["issue"]["title"], "Hooked issue");
  EXPECT_EQ(issues[1]["payload"]["issue"]["number"], 1);

  // Comment, then close: issue_comment created, issues closed.
  api_json(*alice_, "POST", "/api/v3/repos/alice/hooked/issues/1/comments",
           json{{"body", "a comment"}}.dump(), 201);
  api_json(*alice_, "PATCH", "/api/v3/repos/alice/hooked/issues/1",
           json{{"state", "closed"}}.dump(), 200);
  ASSERT_TRUE(receiver_->wait_ok("issue_comment", 1));
  ASSERT_TRUE(receiver_->wait_ok("issues", 2));
  EXPECT_EQ(receiver_->of("issue_comment")[0]["payload"]["comment"]["body"], "a comment");
  EXPECT_EQ(receiver_->of("issues").back()["payload"]["action"], "closed");

  // The delivery log: the issues delivery with its two attempts.
  auto list = api_json(*alice_, "GET", hook_path + "/deliveries", "", 200);
  ASSERT_TRUE(list.is_array());
  json issue_delivery;
  for (auto& d : list)
    if (d["event"] == "issues" && d["action"] == "opened") issue_delivery = d;
  ASSERT_TRUE(issue_delivery.is_object()) << list.dump();
  EXPECT_EQ(issue_delivery["status_code"], 200);
  EXPECT_EQ(issue_delivery["status"], "OK");
  EXPECT_EQ(issue_delivery["attempts"], 2);
  EXPECT_EQ(issue_delivery["guid"], issues[0]["guid"]);
  const std::string d_path =
      hook_path + "/deliveries/" + std::to_string(issue_delivery["id"].get<uint64_t>());
  auto full = api_json(*alice_, "GET", d_path, "", 200);
  EXPECT_EQ(full["request"]["payload"]["action"], "opened");
  EXPECT_EQ(full["request"]["headers"]["X-GitHub-Event"], "issues");

  // Redelivery: the same GUID again, marked as a redelivery in the log.
  api_json(*alice_, "POST", d_path + "/attempts", "{}", 202);
  ASSERT_TRUE(receiver_->wait_ok("issues", 3));
  auto again = receiver_->of("issues").back();
  EXPECT_EQ(again["guid"], issues[0]["guid"]);
  EXPECT_TRUE(again["signature_ok"].get<bool>());
  list = api_json(*alice_, "GET", hook_path + "/deliveries", "", 200);
  EXPECT_EQ(list[0]["redelivery"], true);

  // Exactly one copy of each push, after all this.
  EXPECT_EQ(receiver_->of("push").size(), 2u);

  // Restart: nothing already delivered is sent again.
  size_t before_restart = receiver_->records().size();
  node_->stop();
  node_->start();
  alice_->set_node(*node_);
  auto c4 = commit_file(*alice_, work, "c.txt", "c\n", "fourth");
  ASSERT_TRUE(
      alice_->git({"remote", "set-url", "origin", alice_->remote("alice", "hooked")}, work).ok());
  r = alice_->git({"push", "-q", "origin", "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  ASSERT_TRUE(receiver_->wait_ok("push", 3));
  EXPECT_EQ(receiver_->records().size(), before_restart + 1);
  EXPECT_EQ(receiver_->of("push").back()["payload"]["after"], c4);

  // Delete: no more deliveries.
  api_json(*alice_, "DELETE", hook_path, "", 204);
  api_json(*alice_, "GET", hook_path, "", 404);
}

// Two validators: the hook names the node that accepted it; every node lists it, one sends.
TEST(WebhooksNetwork, TwoNodesDeliverOneCopy) {
  testing::ClusterOptions opts;
  opts.validators = 2;
  opts.log_level = "info";
  opts.validator_args = {"--webhook-allow-private", "--webhook-retry-base-ms", "200"};
  testing::Cluster net(opts);
  net.start_all();
  TempDir root("WebhooksNetwork");
  Receiver receiver(root.path() / "receiver");
  User alice(root.path(), "alice", net.node(0));
  alice.sign_up();
  ASSERT_TRUE(alice.guts({"repo", "create", "net"}).ok());
  auto hook = api_json(alice, "POST", "/api/v3/repos/alice/net/hooks",
                       hook_body(receiver.url()).dump(), 201);
  ASSERT_TRUE(hook.is_object());
  EXPECT_EQ(hook["delivering_node"], net.did(0));
  ASSERT_TRUE(receiver.wait_ok("ping", 1));

  // The same user through node 1 (its own delegation and token).
  User alice1(root.path(), "alice", net.node(1));
  // (node 1 may not have applied alice's registration yet: retry until it has).
  testing::CmdResult login;
  ASSERT_TRUE(wait_until(
      [&] {
        login = alice1.guts({"auth", "login"});
        return login.ok();
      },
      30s, 200ms))
      << login.both();
  const std::string hook_path =
      "/api/v3/repos/alice/net/hooks/" + std::to_string(hook["id"].get<uint64_t>());
  ASSERT_TRUE(wait_until([&] { return alice1.api("GET", hook_path) == 200; }, 30s));
  // Deliveries are the delivering node's: node 1 names it.
  std::string out;
  EXPECT_EQ(alice1.api("GET", hook_path + "/deliveries", "", &out), 409);
  EXPECT_NE(out.find(net.did(0)), std::string::npos) << out;

  // A push through node 1 and an issue through node 0: one delivery each.
  auto work = root.path() / "work";
  ASSERT_TRUE(alice1.git({"init", "-q", "-b", "main", work.string()}).ok());
  auto c1 = commit_file(alice1, work, "README.md", "# net\n", "first");
  ASSERT_TRUE(alice1.git({"remote", "add", "origin", alice1.remote("alice", "net")}, work).ok());
  auto r = alice1.git({"push", "-q", "origin", "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  ASSERT_TRUE(receiver.wait_ok("push", 1)) << net.logs();
  api_json(alice, "POST", "/api/v3/repos/alice/net/issues", json{{"title", "one"}}.dump(), 201);
  ASSERT_TRUE(receiver.wait_ok("issues", 1));
  // Node 1 processed the same blocks (it applied the issue): had it sent anything, the
  // receiver would hold it by now — wait for node 1 to reach node 0's height to be sure.
  uint64_t h = net.height(0);
  ASSERT_TRUE(net.wait_reached({0, 1}, h, 30s));
  ASSERT_TRUE(wait_until(
      [&] { return alice1.api("GET", "/api/v3/repos/alice/net/issues/1") == 200; }, 30s));
  EXPECT_EQ(receiver.of("push").size(), 1u);
  EXPECT_EQ(receiver.of("issues").size(), 1u);
  EXPECT_EQ(receiver.of("ping").size(), 1u);
  EXPECT_EQ(receiver.of("push")[0]["payload"]["after"], c1);
  for (auto& rec : receiver.records()) EXPECT_TRUE(rec["signature_ok"].get<bool>());
}

}  // namespace
}  // namespace guts::e2e
