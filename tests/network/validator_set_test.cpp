// Validator set changes by quorum (issue 14 point 4; docs/consensus.md "Epochs",
// docs/governance.md "Validator set changes"): four guts-node validators whose genesis names a
// governing organization (alice and bob own it, epochs of 6 blocks), a fifth node started as a
// validator outside the set, and a full node. The organization's quorum policy asks 2 of 2
// owners for `change_validator_set`: alice, with the CLI (`guts validators set` is refused by
// the policy, `guts validators propose` creates the proposal), proposes to replace validator 0
// by the spare node; bob approves. Validator 3 is killed before the boundary and restarted after it
// (it must catch up across the hand-over). The test checks that every block from the
// activation height on is proposed by the new set, that the spare node proposes some of them
// and reports itself a validator while node 0 reports itself a full node, that node 0 and the
// full node keep following (a transaction submitted to node 0 is applied everywhere), that a
// light client trusting only the genesis verifies a proof certified by the new set by following
// the hand-over chain, and that every node ends at one state root.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "cli/http_client.h"
#include "cli/trust.h"
#include "core/time.h"
#include "crypto/did.h"
#include "crypto/keyfile.h"
#include "state/tx.h"
#include "tests/support/cluster_harness.h"
#include "verify/verify.h"

using namespace guts;
using namespace guts::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t kEpochLength = 6;

struct Account : TxAccount {
  std::string did() const { return crypto::did_from_key(key.public_key()); }
};

state::Transaction signed_tx(const std::string& chain_id, Account& a, state::TxBody body) {
  return a.sign_next(chain_id, std::move(body));
}

json get_json(const std::string& url, const std::string& path) {
  cli::HttpClient c(url);
  c.set_timeout(5s);
  auto r = c.get(path);
  if (r.status != 200) throw std::runtime_error(path + ": HTTP " + std::to_string(r.status));
  return json::parse(r.body);
}

}  // namespace

TEST(ValidatorSet, TheGoverningOrganizationReplacesAValidatorAtAnEpochBoundary) {
  Account alice, bob;
  ClusterOptions opts;
  // The genesis, as an operator writes it: alice (with a repository) and bob own the governing
  // organization; epochs of 6 blocks.
  opts.init_args = {"--account",      "alice=" + alice.did(),
                    "--repository",   "alice/hello",
                    "--account",      "bob=" + bob.did(),
                    "--governance",   "netgov",
                    "--owner",        "alice",
                    "--owner",        "bob",
                    "--epoch-length", std::to_string(kEpochLength)};
  Cluster net(opts);
  const int spare = net.add_spare_validator();
  const int full = net.add_full_node();
  net.start_all();
  const std::string chain = net.chain_id();
  const std::string url = net.node(1).url();
  ASSERT_EQ(net.status(spare)["role"], "full") << "not in the genesis set: it follows";

  // Every node answers with the same schedule: one epoch, the genesis set.
  auto before = get_json(url, "/api/guts/validators");
  ASSERT_EQ(before["governance"]["organization"], "netgov");
  ASSERT_EQ(before["epochs"].size(), 1u);

  // The genesis applied alice's and bob's registrations and alice's organization as their own
  // transactions: continue from the nonces the node expects.
  for (Account* a : {&alice, &bob})
    a->nonce = get_json(url, "/api/guts/identities/" + a->did())["next_nonce"].get<uint64_t>() - 1;
  EXPECT_EQ(alice.nonce, 4u);  // register, a repository, the organization, bob as an owner

  // The organization's quorum policy: 2 of 2 owners for change_validator_set.
  auto submit = [&](Account& a, state::TxBody body, int node = 1) {
    auto r = submit_tx(net.node(node).url(), signed_tx(chain, a, std::move(body)));
    EXPECT_EQ(r.status, 200) << r.body;
    return r;
  };
  // An organization's key is derived from its account id (state::org_key): no point on the curve.
  auto org = get_json(url, "/api/v3/orgs/netgov");
  const auto org_key = state::org_key(org["id"].get<uint64_t>());
  EXPECT_EQ(before["governance"]["did"], crypto::did_from_key(org_key));
  state::QuorumScope scope{state::kQuorumOnOrg, 0, org_key};
  submit(alice, state::SetQuorumPolicy{scope, {{state::kActChangeValidators, 2}}});

  // The new set: validators 1-3 and the spare node; validator 0 leaves.
  std::vector<state::Validator> next;
  for (int i : {1, 2, 3}) next.push_back({*crypto::parse_did(net.did(i)), net.p2p_addr(i)});
  next.push_back({*crypto::parse_did(net.did(spare)), net.p2p_addr(spare)});
  const uint64_t height = net.height(1);
  // Two epochs after the block that executes bob's vote (a few blocks from now), on a boundary.
  const uint64_t activation = ((height + 2 * kEpochLength + 4) / kEpochLength + 1) * kEpochLength;

  // Alice uses the CLI (her identity key in its home): the direct change is refused by the
  // policy, the proposal is created.
  const auto home = net.dir() / "alice-cli";
  fs::create_directories(home);
  crypto::write_key_file(home / "identity.key", alice.key);
  auto guts = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{(bin_dir() / "guts").string(), "--home", home.string(), "--node",
                                  url};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  };
  {
    auto r = guts({"auth", "login"});
    ASSERT_TRUE(r.ok()) << r.both();
  }
  std::vector<std::string> set_args{"--activation", std::to_string(activation)};
  for (const auto& v : next) {
    set_args.push_back("--validator");
    set_args.push_back(crypto::did_from_key(v.key) + "@" + v.p2p_address);
  }
  {
    std::vector<std::string> a{"validators", "set"};
    a.insert(a.end(), set_args.begin(), set_args.end());
    auto r = guts(a);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.both().find("change_validator_set requires a proposal"), std::string::npos)
        << r.both();
  }
  {
    std::vector<std::string> a{"validators", "propose", "--title",
                               "replace validator 0 by the spare node"};
    a.insert(a.end(), set_args.begin(), set_args.end());
    auto r = guts(a);
    ASSERT_TRUE(r.ok()) << r.both();
    EXPECT_NE(r.out.find("proposal #1 (open)"), std::string::npos) << r.out;
  }
  auto proposals = get_json(url, "/api/guts/proposals?org=netgov");
  ASSERT_EQ(proposals.size(), 1u) << proposals.dump();
  EXPECT_EQ(proposals[0]["action"]["type"], "change_validator_set");
  EXPECT_EQ(proposals[0]["action"]["activation_height"], activation);
  submit(bob, state::VoteProposal{proposals[0]["id"].get<uint64_t>(), true});
  auto scheduled = get_json(url, "/api/guts/validators");
  ASSERT_EQ(scheduled["epochs"].size(), 2u) << scheduled.dump();
  EXPECT_EQ(scheduled["epochs"][1]["first_height"], activation);
  EXPECT_EQ(scheduled["epochs"][0]["last_height"], activation - 1);
  EXPECT_EQ(scheduled["epochs"][1]["validators"][3]["did"], net.did(spare));

  // Validator 3 goes down before the boundary; the others carry the chain across it.
  net.node(3).kill9();
  // Filler transactions (a block each): a new user registers through `node`.
  uint64_t n = 0;
  auto one_block = [&](int node) {
    Account a;
    submit(a, state::RegisterUser{"filler" + std::to_string(n++)}, node);
  };
  const auto deadline = std::chrono::steady_clock::now() + 180s;
  while (net.height(1) < activation + 2 && std::chrono::steady_clock::now() < deadline)
    one_block(1);
  ASSERT_GE(net.height(1), activation + 2) << net.logs();
  ASSERT_TRUE(net.wait_reached({1, 2, spare}, activation + 2, 60s)) << net.logs();

  // Validator 3 comes back in the new epoch: it catches up across the hand-over and votes.
  net.node(3).start();
  // Node 0 left the set: a transaction submitted to it still reaches the validators.
  one_block(0);
  // Keep going until the spare node proposed a block (it leads one view in four).
  bool spare_proposed = false;
  std::set<std::string> new_set;
  for (const auto& v : next) new_set.insert(crypto::did_from_key(v.key));
  const auto deadline2 = std::chrono::steady_clock::now() + 120s;
  uint64_t checked = activation;
  while (!spare_proposed && std::chrono::steady_clock::now() < deadline2) {
    one_block(2);
    for (uint64_t h = checked; h <= net.height(1); ++h) {
      auto b = get_json(url, "/api/guts/blocks/" + std::to_string(h));
      EXPECT_TRUE(new_set.count(b["proposer"].get<std::string>()))
          << "block " << h << " proposed by " << b["proposer"] << " outside the new set";
      spare_proposed |= b["proposer"] == net.did(spare);
      checked = h + 1;
    }
  }
  EXPECT_TRUE(spare_proposed) << net.logs();
  // The last block of the old epoch was proposed by the old set.
  auto last_old = get_json(url, "/api/guts/blocks/" + std::to_string(activation - 1));
  EXPECT_TRUE(last_old["proposer"] != net.did(spare));

  const uint64_t tip = net.height(1);
  std::string root;
  ASSERT_TRUE(net.wait_converged(net.all(), tip, 120s, &root)) << net.logs();
  EXPECT_EQ(net.status(spare)["role"], "validator");
  EXPECT_EQ(net.status(0)["role"], "full");
  EXPECT_EQ(net.status(3)["role"], "validator");
  // Validator 3 crossed the boundary through the hand-over (its peers had left epoch 0).
  EXPECT_NE(net.node(3).log().find("for the hand-over of epoch 0"), std::string::npos);
  EXPECT_EQ(net.status(full)["role"], "full");
  // The CLI shows the same schedule (guts validators show).
  {
    auto r = run({(bin_dir() / "guts").string(), "--home", (net.dir() / "cli").string(), "--node",
                  url, "validators", "show"});
    ASSERT_TRUE(r.ok()) << r.both();
    EXPECT_NE(r.out.find("governed by netgov, epochs of 6 blocks"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("epoch 1 (heights " + std::to_string(activation) + "-), active"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find(net.did(spare)), std::string::npos) << r.out;
  }
  for (int i : net.all()) {
    auto v = get_json(net.node(i).url(), "/api/guts/validators");
    EXPECT_EQ(v["epoch"]["epoch"], 1) << i;
    EXPECT_EQ(v["epoch"]["validators"].size(), 4u) << i;
  }
  // A light client that trusts only the genesis verifies a proof certified by the new set: it
  // follows the hand-over chain the node serves (GET /api/guts/proofs/validators).
  {
    auto chain = get_json(url, "/api/guts/proofs/validators");
    ASSERT_EQ(chain["epochs"].size(), 1u) << chain.dump();
    EXPECT_EQ(chain["epochs"][0]["height"], activation - 1);
    auto anchor = verify::TrustAnchor::from_genesis(state::Genesis::load(net.genesis_file()));
    for (int i : {1, 0}) {
      auto got = cli::fetch_verified(net.node(i).url(), anchor, "alice", "hello");
      EXPECT_GE(got.height, activation) << i;
      ASSERT_TRUE(got.repo) << i;
      EXPECT_EQ(got.repo->name, "hello");
    }
  }
  // Validator 3 votes again: the network finalizes with it while another validator is down.
  net.node(1).kill9();
  one_block(2);
  ASSERT_TRUE(net.wait_converged({2, 3, spare, 0, full}, tip + 1, 60s)) << net.logs();
}
