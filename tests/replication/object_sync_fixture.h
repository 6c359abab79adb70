// In-process replication peers for tests: each has a RepoStore in a temp dir, a node::Network on
// a kernel-chosen loopback port and an ObjectSync. A FakePeer speaks the replication channel by
// hand (to misbehave). Every wait has a deadline.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "api/git_routes.h"
#include "git/pack_transfer.h"
#include "git/repo_store.h"
#include "node/network.h"
#include "p2p/transport.h"
#include "replication/messages.h"
#include "replication/object_sync.h"
#include "tests/git/git_test_util.h"

namespace guts::node {
using replication::ObjectSync;
using replication::ObjectSyncOptions;
namespace wire = replication::wire;
}  // namespace guts::node

namespace guts::node::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using git::testing::git_ok;
using git::testing::TempDir;
using git::testing::WorkRepo;

constexpr auto kWait = 30s;

inline crypto::SigningKey test_key(uint8_t b) {
  crypto::Seed s;
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds d = kWait) {
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);  // polling interval of a condition with a deadline
  }
  return pred();
}

inline ObjectSyncOptions fast_options() {
  ObjectSyncOptions o;
  o.attempt_idle_timeout = 3s;
  o.retry_backoff = 100ms;
  return o;
}

inline NetworkOptions net_options(uint8_t seed, std::vector<state::Validator> validators = {}) {
  NetworkOptions n(test_key(seed));
  n.listen_addr = "127.0.0.1:0";
  n.network_id = "guts-test";
  n.validators = std::move(validators);
  return n;
}

// The outcome of one ensure() call.
struct Outcome {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  bool ok = false;
  ObjectSync::Done done() {
    return [this](bool r) {
      std::lock_guard l(mu);
      ++calls;
      ok = r;
      cv.notify_all();
    };
  }
  // True when done() was called (once) before the deadline.
  bool wait(std::chrono::milliseconds d = kWait) {
    std::unique_lock l(mu);
    return cv.wait_for(l, d, [&] { return calls > 0; });
  }
};

struct Peer {
  TempDir dir{"os"};
  git::RepoStore store{dir.path};
  std::unique_ptr<Network> net;
  std::unique_ptr<ObjectSync> sync;
  explicit Peer(uint8_t seed, ObjectSyncOptions o = fast_options(),
                std::vector<state::Validator> validators = {}) {
    net = std::make_unique<Network>(net_options(seed, std::move(validators)));
    sync = std::make_unique<ObjectSync>(*net, store, o);
    net->start();
  }
  ~Peer() {
    sync->stop();
    net->stop();
  }
  crypto::PublicKey pk() const { return net->transport().id(); }
  fs::path repo(uint64_t id) { return store.path_for(api::git_repo_key(id)); }
  // Repository `id` holding the history of `work` up to `tip` (objects and refs/heads/main).
  void host(uint64_t id, WorkRepo& work, const std::string& tip) {
    store.create(api::git_repo_key(id));
    git::ingest_pack(repo(id), git::source_from(as_bytes(work.pack({tip}, {}))), {tip});
    git_ok(repo(id), {"update-ref", "refs/heads/main", tip});
  }
};

// Speaks the replication channel by hand. `on_want` runs on the I/O thread.
struct FakePeer {
  std::unique_ptr<Network> net;
  std::mutex mu;
  std::vector<wire::Want> wants;
  std::function<void(const crypto::PublicKey&, const wire::Want&)> on_want;
  explicit FakePeer(uint8_t seed) {
    net = std::make_unique<Network>(net_options(seed));
    net->subscribe(p2p::channel::kGit, [this](const crypto::PublicKey& from, Bytes payload) {
      auto m = wire::decode(payload);
      if (auto* w = std::get_if<wire::Want>(&m)) {
        std::function<void(const crypto::PublicKey&, const wire::Want&)> f;
        {
          std::lock_guard l(mu);
          wants.push_back(*w);
          f = on_want;
        }
        if (f) f(from, *w);
      }
    });
    net->start();
  }
  ~FakePeer() { net->stop(); }
  crypto::PublicKey pk() const { return net->transport().id(); }
  size_t want_count() {
    std::lock_guard l(mu);
    return wants.size();
  }
  // Sends `pack` as the answer to request `id`, in chunks.
  void send_pack(const crypto::PublicKey& to, uint64_t id, const std::string& pack,
                 size_t chunk = 4096) {
    uint64_t seq = 0;
    size_t off = 0;
    do {
      size_t n = std::min(chunk, pack.size() - off);
      wire::PackChunk c{id, seq++, off + n == pack.size(),
                        Bytes(pack.begin() + static_cast<ptrdiff_t>(off),
                              pack.begin() + static_cast<ptrdiff_t>(off + n))};
      EXPECT_TRUE(net->transport().send(to, p2p::channel::kGit, wire::encode(c)));
      off += n;
    } while (off < pack.size());
  }
};

template <typename A, typename B>
void connect(A& a, B& b) {
  a.net->transport().dial(b.pk(), "127.0.0.1", b.net->port());
  ASSERT_TRUE(eventually([&] {
    return a.net->transport().connected(b.pk()) && b.net->transport().connected(a.pk());
  }));
}

}  // namespace guts::node::testing
