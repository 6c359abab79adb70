// The real driver's signing guard (docs/consensus.md §9) with a one-validator network: the
// guard is reserved ahead and fsynced once per stretch of views, and a validator whose journal
// was lost does not sign where it may have signed before. One validator needs no peers: the
// transport is never started.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "consensus/signing_guard.h"
#include "crypto/hash.h"
#include "p2p/handshake.h"
#include "p2p/transport.h"
#include "runtime/simplex_driver.h"

using namespace guts;
using namespace guts::consensus;
namespace fs = std::filesystem;

namespace {

class App : public runtime::DrivenApplication {
 public:
  runtime::SimplexDriver* driver = nullptr;
  std::atomic<View> final_view{0};
  void propose(const Context& ctx) override {
    driver->proposed(ctx.round, crypto::sha256("block " + std::to_string(ctx.round.view)));
  }
  void verify(const Context& ctx, const Digest& payload) override {
    driver->verified(ctx.round, payload, true);
  }
  void certify(const Round& round, const Digest& payload) override {
    driver->certified(round, payload, true);
  }
  std::optional<bool> certify_now(const Round&, const Digest&) override { return true; }
  void finalized(const Finalized& f) override {
    View v = f.proposal.round.view;
    if (v > final_view.load()) final_view = v;
  }
};

struct Node {
  crypto::SigningKey key;
  fs::path dir;
  App app;
  std::unique_ptr<p2p::Transport> transport;
  std::unique_ptr<runtime::SimplexDriver> driver;

  Node(const crypto::SigningKey& k, fs::path d) : key(k), dir(std::move(d)) {
    transport = std::make_unique<p2p::Transport>(p2p::LocalIdentity::create(key, "guts/test"),
                                                 p2p::TransportConfig{});
    Config c(key);
    c.ns = "guts/test";
    c.participants = {key.public_key()};
    c.genesis = crypto::sha256("genesis");
    c.leader_timeout = 50;
    c.certification_timeout = 100;
    c.timeout_retry = 150;
    c.skip_timeout = 200;
    c.fetch_timeout = 50;
    runtime::SimplexDriver::Options o(std::move(c));
    o.journal_dir = dir;
    o.reserve_ahead = 8;
    driver = std::make_unique<runtime::SimplexDriver>(std::move(o), *transport, app);
    app.driver = driver.get();
    driver->start();
  }
  ~Node() { driver->stop(); }

  template <class Pred>
  bool wait(Pred pred, std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  }
};

crypto::SigningKey test_key() {
  crypto::Seed s;
  s.fill(7);
  return crypto::SigningKey::from_seed(s);
}

fs::path scratch() {
  auto d =
      fs::temp_directory_path() /
      ("guts-driver-guard-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
       "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  return d;
}

}  // namespace

TEST(DriverSigningGuard, ReservesAheadAndSurvivesRestart) {
  auto dir = scratch();
  init_fresh_guard(dir);
  {
    Node n(test_key(), dir);
    ASSERT_TRUE(n.wait([&] { return n.app.final_view.load() >= 20; }));
  }
  auto g = load_guard(dir);
  ASSERT_TRUE(g && g->reserved);
  EXPECT_EQ(g->floor, 0u);
  EXPECT_GE(*g->reserved, 21u);
  // A normal restart (journal intact) keeps signing from where it was.
  {
    Node n(test_key(), dir);
    View before = n.driver->stats().last_finalized;
    EXPECT_GE(before, 20u);
    ASSERT_TRUE(n.wait([&] { return n.app.final_view.load() >= before + 20; }));
    auto s = n.driver->stats();
    EXPECT_EQ(s.signing_floor, 0u);
    // Reserving 8 views at a time: about one guard write per 8 views, far fewer than syncs.
    EXPECT_GE(s.guard_syncs, 2u);
    EXPECT_LT(s.guard_syncs * 4, s.syncs);
  }
  fs::remove_all(dir);
}

TEST(DriverSigningGuard, LostJournalKeepsTheValidatorFromSigning) {
  auto dir = scratch();
  init_fresh_guard(dir);
  View reserved = 0;
  {
    Node n(test_key(), dir);
    ASSERT_TRUE(n.wait([&] { return n.app.final_view.load() >= 5; }));
  }
  reserved = load_guard(dir)->reserved.value();
  // The journal is lost, the guard kept: nothing at or below the reservation is signed (and a
  // lone validator cannot leave its view without signing).
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".wal") fs::remove(e.path());
  {
    Node n(test_key(), dir);
    EXPECT_EQ(n.driver->stats().signing_floor, reserved);
    // Its leader timeout fires (50 ms) and signs no nullify.
    ASSERT_TRUE(n.wait([&] { return n.driver->stats().steps >= 1; }));
    EXPECT_EQ(n.app.final_view.load(), 0u);
    EXPECT_EQ(n.driver->stats().guard_syncs, 0u);
  }
  EXPECT_EQ(load_guard(dir), (GuardState{reserved, reserved}));
  // Wiped (the guard too): the start state is written before anything else happens.
  fs::remove_all(dir);
  {
    Node n(test_key(), dir);
    EXPECT_EQ(n.driver->stats().signing_floor, kSignNothing);
    ASSERT_TRUE(n.wait([&] { return n.driver->stats().steps >= 1; }));
    EXPECT_EQ(n.app.final_view.load(), 0u);
  }
  EXPECT_EQ(load_guard(dir), (GuardState{std::nullopt, kSignNothing}));
  fs::remove_all(dir);
}
