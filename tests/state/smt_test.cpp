// The authenticated repository tree (state/smt.h): operations against a recomputed root,
// proofs of inclusion and absence, versioned storage, the chain's header-version-2 roots and
// the golden vectors of docs/protocol.md §4.4.
#include "state/smt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "codec/byte_delta.h"
#include "codec/codec.h"
#include "crypto/hash.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

// An empty tree in memory.
using EmptyTree = SmtEmptyReader;

bool bit_of(const Digest& k, int i) {
  return (k[i / 8] >> (7 - i % 8)) & 1;
}

// The reference definition: the hash of the subtree at `depth` holding `leaves`.
Digest reference_root(const std::vector<std::pair<Digest, Digest>>& leaves, int depth = 0) {
  if (leaves.empty()) return Digest{};
  if (leaves.size() == 1) return smt_leaf_hash(leaves[0].first, leaves[0].second);
  std::vector<std::pair<Digest, Digest>> l, r;
  for (const auto& kv : leaves) (bit_of(kv.first, depth) ? r : l).push_back(kv);
  return smt_inner_hash(reference_root(l, depth + 1), reference_root(r, depth + 1));
}

Digest reference_root(const std::map<Digest, Digest>& m) {
  return reference_root(std::vector<std::pair<Digest, Digest>>(m.begin(), m.end()));
}

Digest d(uint8_t b) {
  Digest x{};
  x.fill(b);
  return x;
}

}  // namespace

TEST(Smt, EmptyInsertUpdateDelete) {
  EmptyTree empty;
  SmtVersion t(empty, 1);
  EXPECT_EQ(smt_root(t), Digest{});
  t.set(d(0x11), d(1));
  EXPECT_EQ(smt_root(t), smt_leaf_hash(d(0x11), d(1)));
  t.set(d(0x11), d(2));  // update
  EXPECT_EQ(smt_root(t), smt_leaf_hash(d(0x11), d(2)));
  t.set(d(0x12), d(3));  // shares the first 6 bits with 0x11…
  std::map<Digest, Digest> m{{d(0x11), d(2)}, {d(0x12), d(3)}};
  EXPECT_EQ(smt_root(t), reference_root(m));
  t.set(d(0x11), std::nullopt);  // delete: the other leaf moves back up to the root
  EXPECT_EQ(smt_root(t), smt_leaf_hash(d(0x12), d(3)));
  EXPECT_TRUE(t.get(0, Digest{})->leaf);
  t.set(d(0x99), std::nullopt);  // deleting what is absent changes nothing
  EXPECT_EQ(smt_root(t), smt_leaf_hash(d(0x12), d(3)));
  t.set(d(0x12), std::nullopt);
  EXPECT_EQ(smt_root(t), Digest{});
}

TEST(Smt, RandomOperationsMatchTheReferenceAndProve) {
  std::mt19937_64 rng(18);
  EmptyTree empty;
  SmtVersion t(empty, 1);
  std::map<Digest, Digest> m;
  std::vector<Digest> keys;
  for (int i = 0; i < 300; ++i) keys.push_back(crypto::sha256(std::to_string(i)));
  // Also keys with long shared prefixes.
  for (int i = 0; i < 8; ++i) {
    Digest k = keys[0];
    k[31] ^= uint8_t(1 << i);
    keys.push_back(k);
  }
  for (int step = 0; step < 3000; ++step) {
    const Digest& k = keys[rng() % keys.size()];
    if (rng() % 3 == 0) {
      t.set(k, std::nullopt);
      m.erase(k);
    } else {
      Digest v = crypto::sha256(std::to_string(rng()));
      t.set(k, v);
      m[k] = v;
    }
    if (step % 100 == 0) {
      ASSERT_EQ(smt_root(t), reference_root(m)) << "step " << step;
    }
  }
  Digest root = smt_root(t);
  ASSERT_EQ(root, reference_root(m));
  size_t max_depth = 0;
  for (const auto& k : keys) {
    auto proof = decode_smt_proof(smt_prove(t, k).encode());  // through the wire form
    auto claim = smt_evaluate(proof, k);
    EXPECT_EQ(claim.root, root);
    auto it = m.find(k);
    if (it == m.end()) {
      EXPECT_FALSE(claim.value);
    } else {
      EXPECT_EQ(claim.value, it->second);
    }
    max_depth = std::max<size_t>(max_depth, proof.depth);
  }
  EXPECT_GE(max_depth, 250u);  // the near-identical keys
  // Order independence: the same set built in another order has the same root.
  SmtVersion fresh(empty, 1);
  for (auto it = m.rbegin(); it != m.rend(); ++it) fresh.set(it->first, it->second);
  EXPECT_EQ(smt_root(fresh), root);
}

TEST(Smt, ForgedProofsAreRejected) {
  EmptyTree empty;
  SmtVersion t(empty, 1);
  for (int i = 0; i < 50; ++i) t.set(crypto::sha256(std::to_string(i)), d(uint8_t(i)));
  Digest root = smt_root(t);
  Digest k = crypto::sha256("7");
  auto p = smt_prove(t, k);
  // Another value for the key: another root.
  auto forged = p;
  forged.terminal->value = d(0xee);
  EXPECT_NE(smt_evaluate(forged, k).root, root);
  // Claiming absence by dropping the leaf: another root.
  forged = p;
  forged.terminal.reset();
  EXPECT_NE(smt_evaluate(forged, k).root, root);
  // A leaf off the key's path.
  auto other = smt_prove(t, crypto::sha256("8"));
  EXPECT_THROW(smt_evaluate(other, k), Error);
  // Malformed encodings.
  Bytes enc = p.encode();
  enc.push_back(0);
  EXPECT_THROW(decode_smt_proof(enc), codec::DecodeError);
  EXPECT_THROW(decode_smt_proof(Bytes{0x82, 0x02}), codec::DecodeError);  // depth 258
  Bytes zero_sibling{0x01, 0x80};
  zero_sibling.insert(zero_sibling.end(), 32, 0);
  zero_sibling.push_back(0);
  EXPECT_THROW(decode_smt_proof(zero_sibling), codec::DecodeError);
}

// Each height's leaf changes stored as a block record, the tree followed in memory: every height
// reads the same root from memory (the versions held) and from the block records (a rebuild).
TEST(Smt, VersionedStorage) {
  TempDb tmp("smt-versions");
  Schema s(*tmp.db);
  std::vector<Digest> roots;
  std::map<Digest, Digest> m;
  SmtTree tree(0);
  for (uint64_t h = 1; h <= 5; ++h) {
    SmtTreeReader base(tree, h - 1);
    SmtVersion t(base, h);
    std::set<Digest> changed;
    for (int i = 0; i < 10; ++i) {
      Digest k = crypto::sha256(std::to_string(i * 7 % (int(h) * 3 + 1)));
      Digest v = crypto::sha256(std::to_string(h * 100 + i));
      t.set(k, v);
      changed.insert(k);
      t.add_preimage(v, Bytes{uint8_t(i)});
      m[k] = v;
    }
    if (h == 4) {  // a deletion
      t.set(m.begin()->first, std::nullopt);
      changed.insert(m.begin()->first);
      m.erase(m.begin());
    }
    roots.push_back(smt_root(t));
    EXPECT_EQ(roots.back(), reference_root(m));
    storage::Batch b;
    t.write_to(b, s.meta, h);
    EXPECT_EQ(b.count(), 1u);  // one record for the block's changed leaves, nothing else
    EXPECT_EQ(t.leaf_changes(), changed.size());  // each key counted once
    tmp.db->write(b, false);
    tree.advance(h, t);
  }
  EXPECT_EQ(tree.oldest(), 0u);
  for (uint64_t h = 1; h <= 5; ++h) {
    EXPECT_EQ(smt_root(SmtTreeReader(tree, h)), roots[h - 1]) << h;
    auto loaded = SmtTree::load(*tmp.db, s.meta, h);
    EXPECT_EQ(smt_root(SmtTreeReader(*loaded, h)), roots[h - 1]) << h;
  }
  EXPECT_EQ(smt_root(SmtTreeReader(tree, 0)), Digest{});
  EXPECT_EQ(smt_root(SmtTreeReader(*SmtTree::load(*tmp.db, s.meta, 0), 0)), Digest{});
  // The head's nodes are exactly those of the tree loaded at the head.
  EXPECT_EQ(tree.size(), SmtTree::load(*tmp.db, s.meta, 5)->size());
  EXPECT_THROW(SmtTreeReader(tree, 6).get(0, Digest{}), Error);  // above the head
}

// A block whose changes take more than a record part (here three preimages of 700 KiB, and a
// build of the whole tree is such a block) is stored in parts: each leaf is in one of them, the
// tree loads from them, and each leaf's proof finds its preimage in its part.
TEST(Smt, LargeBlocksAreStoredInParts) {
  TempDb tmp("smt-parts");
  Schema s(*tmp.db);
  storage::Batch from;
  from.put(s.meta, kSmtFromKey, storage::be64(0));
  tmp.db->write(from, false);
  SmtEmptyReader empty;
  SmtVersion t(empty, 1);
  std::vector<Digest> keys;
  for (int i = 0; i < 3; ++i) {
    keys.push_back(crypto::sha256("big " + std::to_string(i)));
    Bytes preimage(700 << 10, uint8_t(i + 1));
    Digest v = crypto::sha256(preimage);
    t.set(keys.back(), v);
    t.add_preimage(v, std::move(preimage));
  }
  storage::Batch b;
  t.write_to(b, s.meta, 1);
  EXPECT_EQ(b.count(), 2u);  // a part closes once it holds 1 MiB: two leaves, then one
  std::string roots(32, '\0');
  Digest root = smt_root(t);
  roots.append(root.begin(), root.end());
  roots.push_back(char(kHeaderV2));
  b.put(s.meta, smt_roots_key(1), roots);
  tmp.db->write(b, false);
  auto loaded = SmtTree::load(*tmp.db, s.meta, 1);
  EXPECT_EQ(smt_root(SmtTreeReader(*loaded, 1)), root);
  for (int i = 0; i < 3; ++i) {
    auto p = prove_key_at(*tmp.db, s, 1, keys[i], loaded.get());
    ASSERT_TRUE(p && p->state);
    EXPECT_EQ(*p->state, Bytes(700 << 10, uint8_t(i + 1)));
    EXPECT_EQ(smt_evaluate(p->proof, keys[i]).root, root);
  }
}

// The committed tree holds a bounded number of heights below its head; a proof at an older
// height is served from the tree rebuilt from the block records, and is the same proof.
TEST(Smt, OldHeightsLeaveMemoryAndProofsAtThemAreRebuilt) {
  TempDb tmp("smt-old-heights");
  Schema s(*tmp.db);
  SmtTree tree(0);
  const uint64_t top = SmtTree::kMaxHeights + 40;
  Digest key = crypto::sha256("the key");
  std::vector<SmtProof> proofs{SmtProof{}};
  storage::Batch from;
  from.put(s.meta, kSmtFromKey, storage::be64(0));
  tmp.db->write(from, false);
  for (uint64_t h = 1; h <= top; ++h) {
    SmtTreeReader base(tree, h - 1);
    SmtVersion t(base, h);
    Digest v = crypto::sha256(std::to_string(h));
    t.set(key, v);
    t.add_preimage(v, Bytes{uint8_t(h), uint8_t(h >> 8)});
    t.set(crypto::sha256("other " + std::to_string(h % 7)), v);
    t.add_preimage(v, Bytes{uint8_t(h), uint8_t(h >> 8)});
    storage::Batch b;
    t.write_to(b, s.meta, h);
    std::string roots(32, '\0');
    Digest root = smt_root(t);
    roots.append(root.begin(), root.end());
    roots.push_back(char(kHeaderV2));
    b.put(s.meta, smt_roots_key(h), roots);
    tmp.db->write(b, false);
    tree.advance(h, t);
    proofs.push_back(smt_prove(SmtTreeReader(tree, h), key));
  }
  EXPECT_EQ(tree.height(), top);
  EXPECT_EQ(tree.oldest(), top - SmtTree::kMaxHeights);
  EXPECT_THROW(SmtTreeReader(tree, tree.oldest() - 1).get(0, Digest{}), Error);
  for (uint64_t h : {uint64_t(1), uint64_t(2), tree.oldest() - 1, tree.oldest(), top - 1, top}) {
    for (const SmtTree* recent :
         {static_cast<const SmtTree*>(&tree), static_cast<const SmtTree*>(nullptr)}) {
      auto p = prove_key_at(*tmp.db, s, h, key, recent);
      ASSERT_TRUE(p) << h;
      EXPECT_EQ(p->proof.encode(), proofs[h].encode()) << h;
      auto claim = smt_evaluate(p->proof, key);
      EXPECT_EQ(claim.root, p->repos_root) << h;
      EXPECT_EQ(claim.value, crypto::sha256(std::to_string(h))) << h;
      EXPECT_EQ(p->state, (Bytes{uint8_t(h), uint8_t(h >> 8)})) << h;
    }
  }
  EXPECT_FALSE(prove_key_at(*tmp.db, s, top + 1, key, &tree));  // above the head
  // Old heights asked for together: each answer is that height's proof, or a refusal while
  // another height is being rebuilt (kUnavailable: the API's 503 with Retry-After).
  std::atomic<int> answered{0}, refused{0}, wrong{0};
  std::vector<std::thread> clients;
  for (uint64_t h : {uint64_t(1), uint64_t(2), uint64_t(3)})
    clients.emplace_back([&, h] {
      for (int i = 0; i < 20; ++i) try {
          auto p = prove_key_at(*tmp.db, s, h, key, &tree);
          if (p && p->proof.encode() == proofs[h].encode())
            ++answered;
          else
            ++wrong;
        } catch (const Error& e) {
          if (e.code() == Code::kUnavailable)
            ++refused;
          else
            ++wrong;
        }
    });
  for (auto& c : clients) c.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(answered.load() + refused.load(), 60);
}

// Readers at every held height while a commit thread advances the tree (as executions and
// proofs read while the chain commits): each read is exact for its height, or refused with an
// error once that height has left memory, never a mix of two heights. Nothing else holds the
// versions: a height's nodes are freed when it leaves memory, unless a reader still holds it.
TEST(Smt, ReadsAtHeldHeightsStayExactWhileTheTreeAdvances) {
  const uint64_t top = SmtTree::kMaxHeights + 200;
  std::vector<SmtVersion::Changes> blocks{{}};
  std::vector<Digest> roots{Digest{}};
  {
    std::mt19937_64 rng(17);
    SmtEmptyReader empty;
    auto last = std::make_unique<SmtVersion>(empty, 0);
    for (uint64_t h = 1; h <= top; ++h) {
      SmtVersion::Changes changes;
      for (int i = 0; i < 4; ++i) {
        Digest k = crypto::sha256(std::to_string(rng() % 300));
        if (rng() % 4 == 0)
          changes[k] = std::nullopt;
        else
          changes[k] = crypto::sha256(std::to_string(rng()));
      }
      auto t = std::make_unique<SmtVersion>(*last, h);
      t->apply(changes);
      roots.push_back(smt_root(*t));
      blocks.push_back(std::move(changes));
      last = std::move(t);
    }
  }
  SmtTree tree(0);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> exact{0}, refused{0}, wrong{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&, r] {
      std::mt19937_64 pick(r);
      while (!done.load()) {
        uint64_t lo = tree.oldest(), hi = tree.height();
        uint64_t h = lo + pick() % (hi - lo + 1);
        try {
          // The reader holds the height's root while commits evict it.
          SmtTreeReader at(tree, h);
          bool right = true;
          for (int k = 0; k < 5; ++k) {
            Digest key = crypto::sha256(std::to_string(pick() % 300));
            right = right && smt_evaluate(smt_prove(at, key), key).root == roots[h];
          }
          ++(right ? exact : wrong);
        } catch (const Error&) {
          ++refused;
        }
      }
    });
  // The readers run before the first commit (deadline: a stuck thread fails, not hangs).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (exact.load() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  for (uint64_t h = 1; h <= top; ++h) {
    SmtVersion block(SmtTreeReader(tree, h - 1), h);
    block.apply(blocks[h]);
    tree.advance(h, block);
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GE(exact.load(), 3u);
  EXPECT_EQ(tree.oldest(), top - SmtTree::kMaxHeights);
  for (uint64_t h = tree.oldest(); h <= top; ++h)
    ASSERT_EQ(smt_root(SmtTreeReader(tree, h)), roots[h]) << h;
}

// SmtVersion::apply (one batch per block) stored version by version: each height's root is the
// reference root, and every key's proof read back at every height (from memory, and from the
// block records) evaluates to that height's root and value, so no stale node survives a batch
// (leaves moving down on a split, up on a collapse, keys differing in their last bits only).
TEST(Smt, BatchesMatchTheReferenceAndProveAtEveryHeight) {
  std::mt19937_64 rng(6);
  TempDb tmp("smt-batches");
  Schema s(*tmp.db);
  std::vector<Digest> keys;
  for (int i = 0; i < 120; ++i) keys.push_back(crypto::sha256("batch " + std::to_string(i)));
  for (int i = 0; i < 6; ++i) {
    Digest k = keys[0];
    k[31] ^= uint8_t(1 << i);
    keys.push_back(k);
  }
  std::map<Digest, Digest> m;
  std::vector<std::map<Digest, Digest>> states;
  std::vector<Digest> roots;
  SmtTree tree(0);  // followed from height to height, as the chain does
  for (uint64_t h = 1; h <= 30; ++h) {
    SmtTreeReader base(tree, h - 1);
    SmtVersion t(base, h);
    SmtVersion::Changes changes;
    size_t n = h == 1 ? 60 : rng() % 12;  // also empty batches
    for (size_t i = 0; i < n; ++i) {
      const Digest& k = keys[rng() % keys.size()];
      if (rng() % 3 == 0)
        changes[k] = std::nullopt;
      else
        changes[k] = crypto::sha256(std::to_string(rng()));
    }
    if (h == 20)  // nearly everything goes: subtrees collapse over many levels
      for (size_t i = 1; i < keys.size(); ++i) changes[keys[i]] = std::nullopt;
    for (const auto& [k, v] : changes)
      if (v) {
        m[k] = *v;
        t.add_preimage(*v, Bytes(v->begin(), v->end()));
      } else {
        m.erase(k);
      }
    t.apply(changes);
    roots.push_back(smt_root(t));
    ASSERT_EQ(roots.back(), reference_root(m)) << "height " << h;
    states.push_back(m);
    storage::Batch b;
    t.write_to(b, s.meta, h);
    std::string stored(32, '\0');
    stored.append(roots.back().begin(), roots.back().end());
    stored.push_back(char(kHeaderV2));
    b.put(s.meta, smt_roots_key(h), stored);
    if (h == 1) b.put(s.meta, kSmtFromKey, storage::be64(0));
    tmp.db->write(b, false);
    tree.advance(h, t);
  }
  ASSERT_EQ(tree.oldest(), 0u);
  // Every key's proof with its preimage at every height, also where its leaf was set at an
  // earlier height (its preimage is in that height's record), from memory and rebuilt.
  for (uint64_t h = 1; h <= roots.size(); ++h)
    for (const auto& k : keys)
      for (const SmtTree* recent :
           {static_cast<const SmtTree*>(&tree), static_cast<const SmtTree*>(nullptr)}) {
        auto p = prove_key_at(*tmp.db, s, h, k, recent);
        ASSERT_TRUE(p) << "height " << h;
        EXPECT_EQ(smt_evaluate(p->proof, k).root, roots[h - 1]) << "height " << h;
        auto it = states[h - 1].find(k);
        if (it == states[h - 1].end())
          EXPECT_FALSE(p->state) << "height " << h;
        else
          EXPECT_EQ(p->state, Bytes(it->second.begin(), it->second.end())) << "height " << h;
      }
  // Every height read back from memory, and from the tree loaded from the block records.
  for (uint64_t h = 1; h <= roots.size(); ++h) {
    auto loaded = SmtTree::load(*tmp.db, s.meta, h);
    for (const SmtTree* held :
         {static_cast<const SmtTree*>(&tree), static_cast<const SmtTree*>(loaded.get())}) {
      SmtTreeReader at(*held, h);
      for (const auto& k : keys) {
        auto claim = smt_evaluate(smt_prove(at, k), k);
        ASSERT_EQ(claim.root, roots[h - 1]) << "height " << h;
        auto it = states[h - 1].find(k);
        EXPECT_EQ(claim.value, it == states[h - 1].end() ? std::nullopt : std::optional(it->second))
            << "height " << h;
      }
    }
  }
}

TEST(Smt, RepoStateEncoding) {
  RepoState r;
  r.id = 1;
  r.owner = key(1).public_key();
  r.owner_login = "alice";
  r.name = "hello";
  r.default_branch = "main";
  r.refs = {{"refs/heads/main", Bytes(20, 0x11)}, {"refs/tags/v1", Bytes(20, 0x22)}};
  auto enc = encode_repo_state(r);
  auto back = decode_repo_state(enc);
  EXPECT_EQ(back.refs, r.refs);
  EXPECT_EQ(back.owner_login, "alice");
  std::swap(r.refs[0], r.refs[1]);  // not increasing
  EXPECT_THROW(decode_repo_state(encode_repo_state(r)), codec::DecodeError);
  EXPECT_EQ(repo_tree_key("Alice", "Hello"), repo_tree_key("alice", "hello"));
}

// docs/protocol.md §4.4: the vectors, byte for byte.
TEST(Smt, GoldenVectors) {
  EXPECT_EQ(hex_encode(repo_tree_key("alice", "hello")),
            "759786856d47d50bc321d98d7562dca8b6b0f87d116b1d2ada787e3b4cc23299");
  RepoState r;
  r.id = 1;
  r.owner = key(1).public_key();  // seed 0x01×32: "alice" of §3
  r.owner_login = "alice";
  r.name = "hello";
  r.default_branch = "main";
  r.refs = {{"refs/heads/main", Bytes(20, 0x11)}};
  EXPECT_EQ(hex_encode(encode_repo_state(r)),
            "0f677574732f7265706f2d7374617465018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf374"
            "8801b40f6f5c05616c6963650568656c6c6f00046d61696e010f726566732f68656164732f6d61696e1411"
            "11111111111111111111111111111111111111");
  EXPECT_EQ(hex_encode(repo_state_hash(r)),
            "de8ce01dadacdf535b9dc2513cc0b033bd2cb46b9b3b85d9b71dd636a40bef97");
  EmptyTree empty;
  SmtVersion t(empty, 1);
  t.set(repo_tree_key("alice", "hello"), repo_state_hash(r));
  t.set(repo_tree_key("alice", "world"), crypto::sha256("world"));
  t.set(repo_tree_key("bob", "hello"), crypto::sha256("bob"));
  EXPECT_EQ(hex_encode(smt_root(t)),
            "ed1253ec4b001a94d35c98c4561f8ebee6bf9d34f2a8e838486afaab582d6cb3");
  EXPECT_EQ(
      hex_encode(smt_prove(t, repo_tree_key("alice", "hello")).encode()),
      "02c0f499452d57c685f16aec837f429c7772ae6a36e5a55ddf947a3758ab5485367ee861ce9b04aa479a5f0132ce"
      "d49e138b93c366e2e9a018a03aff95c149756a1a01759786856d47d50bc321d98d7562dca8b6b0f87d116b1d2ada"
      "787e3b4cc23299de8ce01dadacdf535b9dc2513cc0b033bd2cb46b9b3b85d9b71dd636a40bef97");
  EXPECT_EQ(hex_encode(smt_prove(t, repo_tree_key("carol", "x")).encode()),
            "0180a404930a25077eded1c753b25466b9973ed3ce5b2cb1c404b1bce66d51c65c7401ad15457d078731fe"
            "866cb022591d3b6fa2581ef3d7a75ee0b933e56c3b2333b881b637d8fcd2c6da6359e6963113a1170de795"
            "e4b725b84d1e0b4cfd9ec58ce9");
  EXPECT_EQ(hex_encode(authenticated_state_root(d(0xaa), smt_root(t))),
            "c6fb2eaec0e93b2045e4a3771ed9237d2cc811f8916040361e2adb7e378e0ce8");
  // Version 3: the refs' tree (computed independently from docs/protocol.md §4.4 in Python).
  EXPECT_EQ(repo_leaf_value(r, kHeaderV2), repo_state_hash(r));
  EXPECT_EQ(hex_encode(ref_tree_key("refs/heads/main")),
            "04974bb5b50e3304f603c48739a8de9f33d70fdc8dfcd4af7d77dc1a6734ddd8");
  EXPECT_EQ(hex_encode(ref_tree_value(Bytes(20, 0x11))),
            "29587e6e5a586999763196747a5f3981e95c09258d2a2f3cff517e170dd0d05e");
  EXPECT_EQ(hex_encode(repo_refs_root(r)),
            "61d8eb9582e008484d61527446255106e580e08469d1c7ff48138d6253fdc034");
  EXPECT_EQ(hex_encode(encode_repo_leaf_v3(r, 1, repo_refs_root(r))),
            "11677574732f7265706f2d73746174652f33018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d9412"
            "1bf3748801b40f6f5c05616c6963650568656c6c6f00046d61696e0161d8eb9582e008484d6152744625"
            "5106e580e08469d1c7ff48138d6253fdc034");
  EXPECT_EQ(hex_encode(repo_leaf_value(r, kHeaderV3)),
            "7d2d456837db4532e2ecf05a0e1d0223af172d5cdb44bd03393bb5f11200d0b5");
  r.refs.emplace_back("refs/tags/v1", Bytes(32, 0x22));
  EXPECT_EQ(hex_encode(repo_refs_root(r)),
            "e0aaac0d6d66198ccffce0e66b97734e546fcda196e0b9250dbb5303c4c66002");
  EXPECT_EQ(hex_encode(repo_leaf_value(r, kHeaderV3)),
            "f936b4730c357286eb7150e9d0f7412519139ab52016fc16a0627d684653a2e1");
}

TEST(Smt, ChainCommitsTheTreeInItsHeaders) {
  TempDb tmp("smt-chain");
  auto genesis = test_genesis();
  auto proposer = key(200).public_key();
  auto alice = key(1);
  Digest root3;
  {
    Chain chain(*tmp.db, genesis);
    auto b1 = chain.build(chain.head().id,
                          {{own_tx(alice, 1, RegisterUser{"alice"}), false},
                           {own_tx(alice, 2, CreateRepo{"r", "", false, "main"}), false}},
                          1, kT0, proposer);
    EXPECT_EQ(b1.block.header.version, kHeaderV3);
    chain.commit(b1.block);
    auto b2 = chain.build(
        chain.head().id,
        {{own_tx(alice, 3, UpdateRefs{1, {{"refs/heads/main", {}, Bytes(20, 1)}}}), false}}, 2,
        kT0 + 10, proposer);
    chain.commit(b2.block);
    // Rename: the old key disappears, the new one holds the refs.
    UpdateRepo ur;
    ur.repo_id = 1;
    ur.name = "renamed";
    auto b3 = chain.build(chain.head().id, {{own_tx(alice, 4, ur), false}}, 3, kT0 + 20, proposer);
    chain.commit(b3.block);
    root3 = chain.head().state_root;

    for (uint64_t h = 1; h <= 3; ++h) {
      auto header = chain.block_at(h)->header;
      auto p = prove_repo_at(*tmp.db, chain.schema(), h, "ALICE", h < 3 ? "r" : "renamed");
      ASSERT_TRUE(p) << h;
      EXPECT_EQ(authenticated_state_root(p->history, p->repos_root), header.state_root);
      auto claim = smt_evaluate(p->proof, p->key);
      EXPECT_EQ(claim.root, p->repos_root);
      ASSERT_TRUE(p->state);
      auto st = decode_repo_state(*p->state);
      EXPECT_EQ(claim.value, repo_leaf_value(st, kHeaderV3));
      EXPECT_EQ(st.refs.size(), h == 1 ? 0u : 1u);
    }
    auto gone = prove_repo_at(*tmp.db, chain.schema(), 3, "alice", "r");
    ASSERT_TRUE(gone);
    EXPECT_FALSE(gone->state);
    EXPECT_FALSE(smt_evaluate(gone->proof, gone->key).value);
    EXPECT_EQ(smt_evaluate(gone->proof, gone->key).root, gone->repos_root);
    EXPECT_FALSE(prove_repo_at(*tmp.db, chain.schema(), 4, "alice", "r"));  // above the head
  }
  // Replay from genesis (another node's view) gives the same roots, and so does a node whose
  // database predates the tree (rebuilt at open from the state: the same function of it).
  auto scratch = tmp.dir.string() + "-replay";
  EXPECT_EQ(Chain::replay(*tmp.db, genesis, scratch), root3);
  std::filesystem::remove_all(scratch);
  {
    Schema s(*tmp.db);
    Digest before = smt_root(SmtTreeReader(*SmtTree::load(*tmp.db, s.meta, 3), 3));
    {
      // A restart loads the committed tree from the block records: every held height as before.
      Chain again(*tmp.db, genesis);
      EXPECT_EQ(again.tree().height(), 3u);
      EXPECT_EQ(smt_root(SmtTreeReader(again.tree(), 3)), before);
      EXPECT_TRUE(prove_repo_at(*tmp.db, s, 2, "alice", "r", &again.tree())->state);
    }
    {
      // A database of the storage before block records (one record per changed leaf, written
      // here from the block records, whose documented form this also reads) is converted at
      // open, its history kept: every height proves as before.
      std::vector<std::pair<std::string, std::string>> leaf_records;
      std::vector<std::string> block_keys;
      tmp.db->scan_prefix(s.meta, kSmtBlockPrefix, [&](std::string_view k, std::string_view v) {
        block_keys.emplace_back(k);
        std::string height(k.substr(kSmtBlockPrefix.size(), 8));
        codec::Reader r(as_bytes(v));
        for (size_t n = r.varint(); n > 0; --n) {
          auto leaf_key = r.fixed<32>();
          std::string record;
          if (r.u8() == 1) {
            auto value = r.fixed<32>();
            record.assign(value.begin(), value.end());
            record += to_string(r.bytes(1 << 20));
          }
          leaf_records.emplace_back(
              "smt/l/" + std::string(leaf_key.begin(), leaf_key.end()) + height, record);
        }
        r.finish();
        return true;
      });
      ASSERT_GE(leaf_records.size(), 4u);  // the build, the creation, the push, the rename
      std::vector<RepoProofAt> proofs;
      for (uint64_t h = 1; h <= 3; ++h)
        proofs.push_back(*prove_repo_at(*tmp.db, s, h, "alice", h < 3 ? "r" : "renamed"));
      storage::Batch b;
      for (const auto& k : block_keys) b.del(s.meta, k);
      for (const auto& [k, v] : leaf_records) b.put(s.meta, k, v);
      b.put(s.meta, "smt/leaves-from", *tmp.db->get(s.meta, kSmtFromKey));
      b.del(s.meta, kSmtFromKey);
      b.del(s.meta, kSmtRecordsHeadKey);
      tmp.db->write(b, true);
      Chain again(*tmp.db, genesis);
      EXPECT_EQ(smt_root(SmtTreeReader(again.tree(), 3)), before);
      for (uint64_t h = 1; h <= 3; ++h) {
        auto p = prove_repo_at(*tmp.db, s, h, "alice", h < 3 ? "r" : "renamed", &again.tree());
        ASSERT_TRUE(p && p->state) << h;
        EXPECT_EQ(p->proof.encode(), proofs[h - 1].proof.encode()) << h;
        EXPECT_EQ(p->state, proofs[h - 1].state) << h;
      }
      for (std::string_view old : {"smt/l/", "smt/leaves-from"})
        tmp.db->scan_prefix(s.meta, old, [&](std::string_view k, std::string_view) {
          ADD_FAILURE() << "a converted record was left: " << k;
          return false;
        });
    }
    {
      // Block records missing for heights 2 and 3 (a downgrade to a version without them, then
      // an upgrade): the root they give is not the one stored, so the tree is built anew at the
      // head, and the history before it is no longer proved.
      std::vector<std::string> later;
      tmp.db->scan_prefix(s.meta, kSmtBlockPrefix, [&](std::string_view k, std::string_view) {
        if (storage::read_be64(k.substr(kSmtBlockPrefix.size(), 8)) >= 2) later.emplace_back(k);
        return true;
      });
      ASSERT_FALSE(later.empty());
      storage::Batch b;
      for (const auto& k : later) b.del(s.meta, k);
      tmp.db->write(b, true);
      ASSERT_NE(smt_root(SmtTreeReader(*SmtTree::load(*tmp.db, s.meta, 3), 3)), before);
      Chain again(*tmp.db, genesis);
      EXPECT_EQ(smt_root(SmtTreeReader(again.tree(), 3)), before);
      EXPECT_FALSE(prove_repo_at(*tmp.db, s, 2, "alice", "r", &again.tree()));
      EXPECT_TRUE(prove_repo_at(*tmp.db, s, 3, "alice", "renamed", &again.tree())->state);
    }
    std::vector<std::string> keys;
    tmp.db->scan_prefix(s.meta, "smt/", [&](std::string_view k, std::string_view) {
      if (!k.starts_with("smt/r/")) keys.emplace_back(k);  // each height's roots stay
      return true;
    });
    storage::Batch b;
    for (const auto& k : keys) b.del(s.meta, k);
    // What a database from before the block records held: inner nodes and preimages (two
    // versions ago), leaf records (the last one).
    b.put(s.meta, "smt/from", storage::be64(1));
    b.put(s.meta, "smt/leaves-from", storage::be64(1));
    b.put(s.meta, std::string("smt/l/") + std::string(40, '\0'), "");
    for (uint32_t i = 0; i < 10005; ++i)  // more than one deletion batch
      b.put(s.meta, std::string("smt/n/") + std::string(38, '\0') + storage::be64(i).substr(4),
            "\x01");
    b.put(s.meta, std::string("smt/v/") + std::string(32, '\0'), "old");
    tmp.db->write(b, true);
    Chain reopened(*tmp.db, genesis);
    for (std::string_view old : {"smt/n/", "smt/v/", "smt/from", "smt/l/", "smt/leaves-from"})
      tmp.db->scan_prefix(s.meta, old, [&](std::string_view k, std::string_view) {
        ADD_FAILURE() << "an old tree record was left: " << k;
        return false;
      });
    EXPECT_EQ(smt_root(SmtTreeReader(reopened.tree(), 3)), before);
    EXPECT_FALSE(prove_repo_at(*tmp.db, s, 2, "alice", "r"));  // below where it was built
    EXPECT_TRUE(prove_repo_at(*tmp.db, s, 3, "alice", "renamed")->state);
  }
}

// One block: repository 2 leaves the name "x" and repository 1 (a smaller id) takes it. The
// tree after the block is the tree of the state after it (built from scratch), with "x" proving
// repository 1 and "y" repository 2.
TEST(Smt, ANameLeftAndTakenInOneBlockHoldsItsNewRepository) {
  TempDb tmp("smt-swap");
  auto genesis = test_genesis();
  auto proposer = key(200).public_key();
  auto alice = key(1);
  Chain chain(*tmp.db, genesis);
  auto b1 = chain.build(chain.head().id,
                        {{own_tx(alice, 1, RegisterUser{"alice"}), false},
                         {own_tx(alice, 2, CreateRepo{"w", "", false, "main"}), false},
                         {own_tx(alice, 3, CreateRepo{"x", "", false, "main"}), false}},
                        1, kT0, proposer);
  ASSERT_EQ(b1.block.txs.size(), 3u);
  chain.commit(b1.block);
  UpdateRepo away, into;
  away.repo_id = 2;
  away.name = "y";
  into.repo_id = 1;
  into.name = "x";
  auto b2 = chain.build(chain.head().id,
                        {{own_tx(alice, 4, away), false}, {own_tx(alice, 5, into), false}}, 2,
                        kT0 + 10, proposer);
  ASSERT_EQ(b2.block.txs.size(), 2u);
  chain.commit(b2.block);
  for (auto [name, id] : {std::pair{"x", 1u}, std::pair{"y", 2u}}) {
    auto p = prove_repo_at(*tmp.db, chain.schema(), 2, "alice", name);
    ASSERT_TRUE(p && p->state) << name;
    EXPECT_EQ(decode_repo_state(*p->state).id, id) << name;
    EXPECT_EQ(smt_evaluate(p->proof, p->key).root, p->repos_root);
  }
  EXPECT_FALSE(prove_repo_at(*tmp.db, chain.schema(), 2, "alice", "w")->state);
  EmptyTree empty;
  SmtVersion scratch(empty, 1);
  DbReader state(*tmp.db);
  smt_build_all(scratch, chain.schema(), state, kHeaderV3);
  EXPECT_EQ(smt_root(scratch), prove_repo_at(*tmp.db, chain.schema(), 2, "alice", "x")->repos_root);
}

// A leaf patched by a block's ref writes (state/repo_leaf.h) encodes the state after them, and
// its delta makes that encoding from its base's (the last leaf recorded whole, which it shares);
// it is recorded whole, and becomes its own base, when it moves to another key or more refs than
// the bound changed since its base.
TEST(Smt, PatchedLeavesEncodeTheStateAfterTheBlock) {
  std::mt19937_64 rng(11);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  RepoState fields;
  fields.id = 7;
  fields.owner = key(1).public_key();
  fields.owner_login = "alice";
  fields.name = "r";
  fields.default_branch = "main";
  std::map<std::string, Bytes> refs;
  for (int i = 0; i < 400; ++i)
    refs["refs/heads/b" + std::to_string(2 * i)] = Bytes(20, uint8_t(i));
  auto state = [&] {
    RepoState s = fields;
    s.refs.assign(refs.begin(), refs.end());
    return s;
  };
  auto entries_of = [](const RepoLeaf& l) {
    std::map<std::string, Bytes> out;
    for (const auto& [name, target] : ref_entries(l))
      out[std::string(name)] = Bytes(target.begin(), target.end());
    return out;
  };
  auto leaf = make_repo_leaf(state(), 1);
  EXPECT_EQ(leaf_encoding(*leaf), encode_repo_state(state()));
  EXPECT_EQ(leaf->key, repo_tree_key("alice", "r"));
  EXPECT_TRUE(leaf->whole());
  EXPECT_EQ(leaf->base->refs_begin, encode_repo_state_head(fields, refs.size()).size());
  size_t capped = 0, moves = 0, deltas = 0;
  for (uint64_t h = 2; h < 260; ++h) {
    // Up to four refs: new, moved, deleted, or deleted without having existed.
    std::map<std::string, std::optional<std::string>> writes;
    for (size_t n = pick(5); n > 0; --n) {
      std::string target(pick(2) == 0 ? 20 : 32, char(1 + pick(250)));
      writes["refs/heads/b" + std::to_string(pick(120))] =
          pick(3) == 0 ? std::nullopt : std::optional<std::string>(target);
    }
    const bool moved = h % 60 == 0;
    if (moved) fields.name = "r" + std::to_string(h);
    if (h % 11 == 0) fields.is_private = !fields.is_private;
    if (h % 13 == 0) fields.default_branch = "b" + std::to_string(h);
    std::vector<RefWrite> w;
    for (const auto& [name, target] : writes) {
      w.push_back({name, target ? std::optional<std::string_view>(*target) : std::nullopt});
      if (target)
        refs[name] = Bytes(target->begin(), target->end());
      else
        refs.erase(name);
    }
    RepoState with_stale_refs = fields;  // the fields' refs are not read
    with_stale_refs.refs.emplace_back("refs/heads/stale", Bytes(20, 9));
    auto p = patch_repo_leaf(*leaf, with_stale_refs, w, h);
    ASSERT_TRUE(p.leaf);
    const Bytes encoding = encode_repo_state(state());
    ASSERT_EQ(leaf_encoding(*p.leaf), encoding) << "height " << h;
    EXPECT_EQ(entries_of(*p.leaf), refs) << "height " << h;
    EXPECT_EQ(p.leaf->ref_count, refs.size());
    EXPECT_TRUE(p.leaf->fields.refs.empty());
    EXPECT_EQ(p.leaf->key, repo_tree_key(fields.owner_login, fields.name));
    EXPECT_EQ(p.leaf->record_height, h);
    EXPECT_LE(p.leaf->changed_count, kMaxLeafChangedRefs);
    if (moved) ++moves;
    if (moved) {
      EXPECT_FALSE(p.delta) << "height " << h;
    }
    if (p.delta) {
      ++deltas;
      EXPECT_EQ(p.leaf->base, leaf->base);  // shared, not copied
      EXPECT_FALSE(p.leaf->whole());
      EXPECT_EQ(codec::apply_delta(p.leaf->base->encoding, *p.delta, 1 << 20), encoding);
      // The head and the refs changed since the base, not the ref set.
      EXPECT_LT(p.delta->size(), 100 + 60 * p.leaf->changed_count);
    } else {
      if (!moved) ++capped;
      EXPECT_TRUE(p.leaf->whole());
      EXPECT_EQ(p.leaf->base->height, h);
      EXPECT_EQ(p.leaf->changed_count, 0u);
      EXPECT_EQ(p.leaf->base->encoding, encoding);
      EXPECT_EQ(p.leaf->base->refs_begin, encode_repo_state_head(fields, refs.size()).size());
    }
    leaf = p.leaf;
  }
  EXPECT_GE(capped, 3u);
  EXPECT_GE(deltas, 150u);
  EXPECT_EQ(moves, 4u);
  // A small state whose one ref is pushed again and again: each record is the delta from the
  // first (the same ref changed), never the whole state again.
  RepoState small = fields;
  small.refs = {{"refs/heads/main", Bytes(20, 1)}};
  auto s = make_repo_leaf(small, 1);
  const auto first = s->base;
  for (uint64_t h = 2; h < 40; ++h) {
    std::string target(20, char(h));
    RefWrite w{"refs/heads/main", target};
    auto p = patch_repo_leaf(*s, small, {&w, 1}, h);
    ASSERT_TRUE(p.delta) << h;
    EXPECT_EQ(p.leaf->base, first);
    EXPECT_EQ(p.leaf->changed_count, 1u);
    small.refs[0].second = Bytes(target.begin(), target.end());
    EXPECT_EQ(codec::apply_delta(first->encoding, *p.delta, 1 << 20), encode_repo_state(small));
    s = p.leaf;
  }
}

// A push's block record holds the refs it wrote (a delta from the repository's base record),
// not its whole ref set; a proof at any height rebuilds the repository's state from its record
// and its base's, also across a restart (a cold cache records the state whole again); a record
// whose delta was corrupted is refused, not served.
TEST(Smt, PushRecordsHoldTheRefsWrittenAndProofsRebuildTheState) {
  TempDb tmp("smt-deltas");
  auto genesis = test_genesis();
  auto proposer = key(200).public_key();
  auto alice = key(1);
  uint64_t nonce = 0, height = 0, id = 0;
  std::map<uint64_t, Bytes> states;  // height → the repository's state encoding
  Bytes main;
  std::vector<size_t> record_sizes;
  for (int life = 0; life < 2; ++life) {
    Chain chain(*tmp.db, genesis);
    auto commit = [&](TxBody body) {
      ++height;
      auto b = chain.build(chain.head().id,
                           {{own_tx(alice, ++nonce, std::move(body), kT0 + height), false}}, height,
                           kT0 + height, proposer);
      ASSERT_EQ(b.block.txs.size(), 1u)
          << (b.rejected.empty() ? "" : b.rejected[0].second.message());
      chain.commit(b.block);
      if (id) states[height] = encode_repo_state(*repo_state_of(chain.view(), id));
    };
    if (life == 0) {
      commit(RegisterUser{"alice"});
      commit(CreateRepo{"big", "", false, "main"});
      id = chain.view().repo_by_name(alice.public_key(), "big")->id;
      UpdateRefs tags{id, {}, false};
      for (int i = 0; i < 300; ++i) {
        std::string n = "000" + std::to_string(i);
        tags.changes.push_back({"refs/tags/v" + n.substr(n.size() - 3), {}, Bytes(20, uint8_t(i))});
      }
      commit(tags);
    }
    for (int i = 0; i < 45; ++i) {
      Bytes next(20, uint8_t(height));
      commit(UpdateRefs{id, {{"refs/heads/main", main, next}}, false});
      main = next;
      auto rec = tmp.db->get(chain.schema().meta, std::string(kSmtBlockPrefix) +
                                                      storage::be64(height) + std::string(4, '\0'));
      ASSERT_TRUE(rec);
      record_sizes.push_back(rec->size());
    }
    // Every height's proof, from the tree in memory and rebuilt from the records.
    for (const auto& [h, state] : states) {
      for (const SmtTree* recent : {&chain.tree(), static_cast<const SmtTree*>(nullptr)}) {
        auto p = prove_repo_at(*tmp.db, chain.schema(), h, "alice", "big", recent);
        ASSERT_TRUE(p && p->state) << h;
        EXPECT_EQ(*p->state, state) << h;
        EXPECT_EQ(smt_evaluate(p->proof, p->key).value,
                  repo_leaf_value(decode_repo_state(state), kHeaderV3))
            << h;
      }
    }
  }
  // With 300 tags a state takes ~10 KB. Recorded whole: the tags' block (300 refs changed), then
  // the first push of the second life (a cold cache); every other push records the pushed ref
  // (the one ref changed since its base).
  std::vector<size_t> wholes;
  for (size_t i = 0; i < record_sizes.size(); ++i) {
    if (record_sizes[i] > 9000)
      wholes.push_back(i);
    else
      EXPECT_LT(record_sizes[i], 300u) << i;
  }
  EXPECT_EQ(wholes, (std::vector<size_t>{45}));
  // A delta damaged on disk: the proof fails rather than serve another state.
  Chain chain(*tmp.db, genesis);
  const std::string k = std::string(kSmtBlockPrefix) + storage::be64(height) + std::string(4, '\0');
  auto rec = tmp.db->get(chain.schema().meta, k);
  ASSERT_TRUE(rec && rec->size() < 300u);
  std::string bad = *rec;
  bad.back() ^= 1;  // the delta's last byte
  tmp.db->put(chain.schema().meta, k, bad);
  EXPECT_THROW(prove_repo_at(*tmp.db, chain.schema(), height, "alice", "big"), Error);
  EXPECT_TRUE(prove_repo_at(*tmp.db, chain.schema(), height - 1, "alice", "big")->state);
}

// Records written by earlier versions hold a repository's pushes as a chain of deltas, each from
// the record before (this version writes each from the last whole one): a proof at any height
// of such a chain still rebuilds the state, and one whose chain is broken is refused.
TEST(Smt, ChainsOfDeltasFromEarlierVersionsStillProve) {
  TempDb tmp("smt-delta-chains");
  Schema s(*tmp.db);
  RepoState state;
  state.id = 3;
  state.owner_login = "alice";
  state.name = "chained";
  state.default_branch = "main";
  for (int i = 0; i < 50; ++i)
    state.refs.emplace_back("refs/tags/t" + std::to_string(100 + i), Bytes(20, uint8_t(i)));
  const Digest key = repo_tree_key("alice", "chained");
  std::map<uint64_t, Bytes> encodings;
  SmtTree tree(0);
  Bytes before;
  for (uint64_t h = 1; h <= 4; ++h) {
    state.refs.emplace_back("refs/heads/h" + std::to_string(h), Bytes(20, uint8_t(h)));
    std::sort(state.refs.begin(), state.refs.end());
    const Bytes enc = encode_repo_state(state);
    encodings[h] = enc;
    const Digest value = repo_leaf_value(state, kHeaderV3);
    SmtTreeReader base(tree, h - 1);
    SmtVersion t(base, h);
    t.set(key, value);
    if (h == 1) {
      t.add_preimage(value, enc);
    } else {
      // The delta from the record before: the new head, the branches before (35-byte entries),
      // the new branch's entry, the tags.
      const size_t old_head = encode_repo_state_head(state, state.refs.size() - 1).size();
      const size_t branches_end = old_head + 35 * (h - 1);
      codec::DeltaBuilder d(before, enc.size());
      write_repo_state_head(d.out(), state, state.refs.size());
      d.copy(old_head, branches_end - old_head);
      d.out().str("refs/heads/h" + std::to_string(h)).bytes(Bytes(20, uint8_t(h)));
      d.copy(branches_end, before.size() - branches_end);
      auto built = std::move(d).finish();
      ASSERT_EQ(built.bytes, enc) << h;
      ASSERT_LT(built.delta.size(), 200u);  // copies of the record before
      t.add_preimage_delta(value, std::move(built.delta), h - 1);
    }
    storage::Batch b;
    t.write_to(b, s.meta, h);
    const Digest root = smt_root(t);
    b.put(s.meta, smt_roots_key(h),
          std::string(32, '\0') + std::string(reinterpret_cast<const char*>(root.data()), 32) +
              char(kHeaderV3));
    tmp.db->write(b, false);
    tree.advance(h, t);
    before = enc;
  }
  tmp.db->put(s.meta, kSmtFromKey, storage::be64(1));
  for (uint64_t h = 1; h <= 4; ++h) {
    auto p = prove_key_at(*tmp.db, s, h, key);
    ASSERT_TRUE(p && p->state) << h;
    EXPECT_EQ(*p->state, encodings[h]) << h;
  }
  // The chain broken below the top: height 2's record removed.
  storage::Batch drop;
  drop.del(s.meta, std::string(kSmtBlockPrefix) + storage::be64(2) + std::string(4, '\0'));
  tmp.db->write(drop, false);
  EXPECT_TRUE(prove_key_at(*tmp.db, s, 1, key)->state);
  EXPECT_THROW(prove_key_at(*tmp.db, s, 4, key), Error);
}

// A block's leaves after it (what smt_apply_block hands the chain) are sorted by id: the blocks
// built on uncommitted parents look their repositories up there.
TEST(Smt, RepoStatesAreFoundById) {
  RepoState s;
  s.id = 7;
  auto seven = make_repo_leaf(s, 1);
  const RepoStates states{{2, nullptr}, {7, seven}, {9, nullptr}};
  ASSERT_NE(find_repo_state(states, 7), nullptr);
  EXPECT_EQ(*find_repo_state(states, 7), seven);
  ASSERT_NE(find_repo_state(states, 2), nullptr);  // known not to exist: found, null
  EXPECT_EQ(*find_repo_state(states, 2), nullptr);
  for (uint64_t absent : {0, 1, 3, 8, 10}) EXPECT_EQ(find_repo_state(states, absent), nullptr);
  EXPECT_EQ(find_repo_state(RepoStates{}, 7), nullptr);
}

TEST(Smt, RepoStateCacheFollowsConsecutiveHeightsOnly) {
  auto state = [](uint64_t id, size_t refs) {
    RepoState s;
    s.id = id;
    for (size_t i = 0; i < refs; ++i)
      s.refs.emplace_back("refs/heads/" + std::to_string(i), Bytes(20, 1));
    return make_repo_leaf(s, 1);
  };
  RepoStateCache cache(5);
  EXPECT_FALSE(cache.find(5, 1));
  auto one = state(1, 3);
  cache.advance(6, {{1, one}, {2, nullptr}});
  ASSERT_TRUE(cache.find(6, 1));
  EXPECT_EQ(*cache.find(6, 1), one);
  ASSERT_TRUE(cache.find(6, 2));  // known not to exist
  EXPECT_EQ(*cache.find(6, 2), nullptr);
  EXPECT_FALSE(cache.find(6, 3));  // not known
  EXPECT_FALSE(cache.find(5, 1));  // another height: not known
  size_t held = cache.bytes();
  cache.advance(7, {{1, state(1, 100)}});
  EXPECT_GT(cache.bytes(), held);
  EXPECT_EQ((*cache.find(7, 1))->ref_count, 100u);
  EXPECT_TRUE(cache.find(7, 2));         // untouched by block 7: carried
  cache.advance(9, {{3, state(3, 1)}});  // a gap: what was held is dropped
  EXPECT_FALSE(cache.find(9, 1));
  EXPECT_TRUE(cache.find(9, 3));
  EXPECT_LT(cache.bytes(), held);
  // A block's lookups together: each answer in its id's place, as one lookup would give it.
  auto three = state(3, 2);
  cache.advance(10, {{3, three}, {4, nullptr}});
  const std::vector<uint64_t> ids{4, 1, 3, 3};
  auto found = cache.find(10, ids);
  ASSERT_EQ(found.size(), ids.size());
  ASSERT_TRUE(found[0]);
  EXPECT_EQ(*found[0], nullptr);  // known not to exist
  EXPECT_FALSE(found[1]);         // not known
  ASSERT_TRUE(found[2] && found[3]);
  EXPECT_EQ(*found[2], three);
  EXPECT_EQ(*found[3], three);
  for (const auto& f : cache.find(9, ids)) EXPECT_FALSE(f);  // another height: none known
  EXPECT_TRUE(cache.find(10, std::vector<uint64_t>{}).empty());
}

// Past its byte bound the cache drops the states written longest ago, so the repositories
// pushed to recently stay known; a state larger than the bound is not kept.
TEST(Smt, RepoStateCacheDropsTheStatesWrittenLongestAgo) {
  auto state = [](uint64_t id) {
    RepoState s;
    s.id = id;
    s.refs.emplace_back("refs/heads/main", Bytes(20, uint8_t(id)));
    return make_repo_leaf(s, 1);
  };
  RepoStateCache probe(0);
  probe.advance(1, {{1, state(1)}});
  const size_t one = probe.bytes();
  RepoStateCache cache(0, 3 * one);
  uint64_t h = 0;
  for (uint64_t id : {1, 2, 3}) cache.advance(++h, {{id, state(id)}});
  EXPECT_EQ(cache.bytes(), 3 * one);
  cache.advance(++h, {{1, state(1)}});  // written again: now the newest
  cache.advance(++h, {{4, state(4)}});  // 2 is the oldest written: dropped
  EXPECT_FALSE(cache.find(h, 2));
  for (uint64_t id : {1, 3, 4}) EXPECT_TRUE(cache.find(h, id)) << id;
  EXPECT_EQ(cache.bytes(), 3 * one);
  RepoState big;
  big.id = 9;
  for (int i = 0; i < 100; ++i) big.refs.emplace_back("refs/tags/" + std::to_string(i), Bytes(20));
  cache.advance(++h, {{9, make_repo_leaf(big, 1)}});  // larger than the bound: not kept
  EXPECT_FALSE(cache.find(h, 9));
  for (uint64_t id : {1, 3, 4}) EXPECT_TRUE(cache.find(h, id)) << id;
  // The oldest written (3) written again, larger, at the bound: it stays (replaced, counted
  // once) and the next oldest (1) makes room.
  RepoState larger;
  larger.id = 3;
  larger.refs = {{"refs/heads/a", Bytes(20, 1)}, {"refs/heads/main", Bytes(20, 3)}};
  RepoStateCache sized(0);
  sized.advance(1, {{3, make_repo_leaf(larger, 1)}});
  ASSERT_GT(sized.bytes(), one);
  ASSERT_LT(sized.bytes(), 2 * one);
  cache.advance(++h, {{3, make_repo_leaf(larger, 1)}});
  EXPECT_FALSE(cache.find(h, 1));
  ASSERT_TRUE(cache.find(h, 3));
  EXPECT_EQ((*cache.find(h, 3))->ref_count, 2u);
  EXPECT_TRUE(cache.find(h, 4));
  EXPECT_EQ(cache.bytes(), one + sized.bytes());
  // Many writes of the same states (the log of writes compacted on the way) keep the order of
  // the last writes: a new one drops the one written longest ago.
  RepoStateCache churn(0, 3 * one);
  uint64_t c = 0;
  for (int round = 0; round < 200; ++round)
    for (uint64_t id : {5, 6}) churn.advance(++c, {{id, state(id)}});
  churn.advance(++c, {{7, state(7)}});
  EXPECT_EQ(churn.bytes(), 3 * one);
  churn.advance(++c, {{8, state(8)}});  // 5 was written longest ago
  EXPECT_FALSE(churn.find(c, 5));
  for (uint64_t id : {6, 7, 8}) EXPECT_TRUE(churn.find(c, id)) << id;
  EXPECT_EQ(churn.bytes(), 3 * one);
}

// A block's repository leaves are rebuilt from the states the blocks before it left (the
// chain's RepoStateCache, and the states of uncommitted parents when blocks are pipelined) plus
// what the block wrote, not read back from the database. Whatever the mix of pushes, ref
// deletions, renames, visibility, default-branch and description changes, transfers to an
// organization and back (with and without a new name), creations and deletions, blocks built on
// committed or on uncommitted parents, and forks that never commit, every block's tree equals
// the tree built from scratch over the state after it.
TEST(Smt, LeafStatesCarriedFromBlockToBlockMatchARebuild) {
  TempDb tmp("smt-carried");
  auto genesis = test_genesis();
  auto proposer = key(200).public_key();
  std::vector<crypto::SigningKey> users{key(1), key(2)};
  Chain chain(*tmp.db, genesis);
  std::mt19937_64 rng(18);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::map<crypto::PublicKey, uint64_t> nonce;
  struct Model {
    size_t owner;  // 0, 1: users[owner]; kOrg: alice's organization
    std::string name;
    std::map<std::string, Bytes> refs;
    std::string default_branch = "main";
  };
  std::map<uint64_t, Model> repos;  // the live repositories, as the test expects them
  std::vector<std::pair<size_t, std::string>> created;  // to resolve once committed
  uint64_t height = 0, names = 0;
  constexpr size_t kOrg = 2;
  crypto::PublicKey org;                                                         // set once created
  auto actor = [&](size_t owner) { return owner == kOrg ? size_t{0} : owner; };  // alice owns it
  auto tx = [&](size_t user, TxBody body) {
    auto& k = users[user];
    return PendingTx{own_tx(k, ++nonce[k.public_key()], std::move(body), kT0 + height), false};
  };
  auto check_root = [&] {
    EmptyTree empty;
    SmtVersion scratch(empty, 1);
    DbReader state(*tmp.db);
    smt_build_all(scratch, chain.schema(), state, kHeaderV3);
    auto stored = tmp.db->get(chain.schema().meta, smt_roots_key(chain.head().height));
    ASSERT_TRUE(stored && stored->size() == 65);
    Digest root;
    std::copy_n(stored->begin() + 32, 32, root.begin());
    EXPECT_EQ(root, smt_root(scratch)) << "height " << chain.head().height;
  };
  // The repositories' states at every height, and their proofs at the head and at an earlier
  // height: the preimages rebuilt from the block records (whole, or chains of deltas from the
  // states carried from block to block) are the states' encodings.
  std::map<uint64_t, std::vector<Bytes>> states_at;
  std::mt19937_64 earlier(3);
  auto check_proofs = [&] {
    const uint64_t h = chain.head().height;
    for (const auto& [id, m] : repos) {
      auto st = repo_state_of(chain.view(), id);
      ASSERT_TRUE(st) << id;
      states_at[h].push_back(encode_repo_state(*st));
    }
    for (uint64_t at : {h, h - earlier() % h})
      for (const Bytes& encoding : states_at[at]) {
        auto st = decode_repo_state(encoding);
        auto p = prove_repo_at(*tmp.db, chain.schema(), at, st.owner_login, st.name, &chain.tree());
        ASSERT_TRUE(p && p->state) << st.name << " at " << at;
        EXPECT_EQ(*p->state, encoding) << st.name << " at " << at;
        // The node's leaf value (refs' trees updated in batches) is the client's.
        EXPECT_EQ(smt_evaluate(p->proof, p->key).value, repo_leaf_value(st, kHeaderV3))
            << st.name << " at " << at;
      }
  };
  // Random transactions on the repositories live at the head; every one of them is valid.
  auto random_block = [&](std::set<uint64_t>& used) {
    std::vector<PendingTx> txs;
    for (size_t n = 1 + pick(6); n > 0; --n) {
      size_t op = pick(11);
      std::vector<uint64_t> ids;
      for (const auto& [id, m] : repos)
        if (!used.contains(id)) ids.push_back(id);
      if (ids.empty() || op == 0) {
        size_t u = pick(users.size());
        std::string name = "repo" + std::to_string(++names);
        txs.push_back(tx(u, CreateRepo{name, "", pick(2) == 0, "main"}));
        created.emplace_back(u, name);
        continue;
      }
      uint64_t id = ids[pick(ids.size())];
      used.insert(id);  // one transaction per repository per round keeps the model simple
      auto& m = repos.at(id);
      if (op <= 5) {  // a push of one to three refs: create, move or delete
        UpdateRefs push;
        push.repo_id = id;
        for (size_t c = 1 + pick(3); c > 0; --c) {
          std::string ref = "refs/heads/b" + std::to_string(pick(5));
          if (std::any_of(push.changes.begin(), push.changes.end(),
                          [&](const RefChange& rc) { return rc.ref == ref; }))
            continue;
          Bytes old = m.refs.contains(ref) ? m.refs[ref] : Bytes{};
          bool may_delete = !old.empty() && ref != "refs/heads/" + m.default_branch;
          Bytes now = (may_delete && pick(3) == 0) ? Bytes{} : Bytes(20, uint8_t(1 + pick(250)));
          push.changes.push_back({ref, old, now});
          if (now.empty())
            m.refs.erase(ref);
          else
            m.refs[ref] = now;
        }
        txs.push_back(tx(actor(m.owner), push));
      } else if (op == 10 && m.owner != 1) {  // alice moves hers to the organization or back
        TransferRepo t;
        t.repo_id = id;
        t.new_owner = m.owner == kOrg ? users[0].public_key() : org;
        if (pick(2) == 0) t.new_name = m.name = "moved" + std::to_string(++names);
        txs.push_back(tx(0, t));
        m.owner = m.owner == kOrg ? 0 : kOrg;
      } else if (op <= 8 || op == 10) {
        UpdateRepo u;
        u.repo_id = id;
        switch (pick(4)) {
          case 0:
            u.name = m.name = "renamed" + std::to_string(++names);
            break;
          case 1:
            u.is_private = pick(2) == 0;
            break;
          case 2:
            u.default_branch = m.default_branch = "b" + std::to_string(pick(5));
            break;
          default:
            u.description = "d" + std::to_string(pick(1000));  // the record only
        }
        txs.push_back(tx(actor(m.owner), u));
      } else {
        txs.push_back(tx(actor(m.owner), DeleteRepo{id}));
        repos.erase(id);
      }
    }
    return txs;
  };
  auto commit = [&](const BuildResult& b, size_t expected) {
    ASSERT_EQ(b.block.txs.size(), expected)
        << (b.rejected.empty() ? "" : b.rejected[0].second.message());
    chain.commit(b.block);
    check_root();
    for (const auto& [u, name] : created) {
      auto r = chain.view().repo_by_name(users[u].public_key(), name);
      ASSERT_TRUE(r) << name;
      repos[r->id] = Model{u, name, {}, "main"};
    }
    created.clear();
    check_proofs();
  };
  ++height;
  commit(chain.build(chain.head().id, {tx(0, RegisterUser{"alice"}), tx(1, RegisterUser{"bob"})},
                     height, kT0 + height, proposer),
         2);
  ++height;
  commit(chain.build(chain.head().id, {tx(0, CreateOrg{"acme", "", ""})}, height, kT0 + height,
                     proposer),
         1);
  auto acme = chain.view().account_by_username("acme");
  ASSERT_TRUE(acme && acme->is_org);
  org = acme->key;
  for (int round = 0; round < 60; ++round) {
    if (pick(4) == 0) {
      // A sibling of the next block, and a child of it, that never commit: the states they
      // computed must not reach the blocks that do.
      auto saved_repos = repos;
      auto saved_nonce = nonce;
      auto saved_created = created;
      std::set<uint64_t> fork_used;
      auto fork_txs = random_block(fork_used);
      auto fork = chain.build(chain.head().id, fork_txs, height + 1, kT0 + height + 7, proposer);
      auto fork_child = chain.build(fork.block.id(), random_block(fork_used), height + 2,
                                    kT0 + height + 8, proposer);
      EXPECT_EQ(fork.block.txs.size(), fork_txs.size());
      EXPECT_EQ(fork_child.block.header.parent, fork.block.id());
      repos = saved_repos;
      nonce = saved_nonce;
      created = saved_created;
    }
    std::set<uint64_t> used;
    auto txs = random_block(used);
    size_t n1 = txs.size();
    ++height;
    auto b1 = chain.build(chain.head().id, txs, height, kT0 + height, proposer);
    if (pick(2) == 0) {
      commit(b1, n1);
      continue;
    }
    // Pipelined: the second block executes on the first before the first commits.
    auto created_before = created;
    created.clear();
    auto more = random_block(used);
    ++height;
    auto b2 = chain.build(b1.block.id(), more, height, kT0 + height, proposer);
    auto created_second = created;
    created = created_before;
    commit(b1, n1);
    created = created_second;
    commit(b2, more.size());
  }
  EXPECT_GT(repos.size(), 3u);
  EXPECT_TRUE(std::any_of(repos.begin(), repos.end(),
                          [&](const auto& r) { return r.second.owner == kOrg; }));
}

// Blocks of older header versions replay as they were: a version-1 block commits to the
// history only, a version-2 block to the tree whose leaves hash the whole state; the first
// version-3 block sets every repository's leaf in its new form (also those it did not touch), so
// the tree stays a function of the state; a block may not follow one of a higher version.
TEST(Smt, OlderVersionBlocksReplayAndVersion3ConvertsEveryLeaf) {
  auto genesis = test_genesis();
  auto proposer = key(200).public_key();
  auto alice = key(1);
  // Another node builds block 1; its recorded history root and the version-2 tree of the state
  // after it are what the version-1 and version-2 headers carry.
  TempDb other("smt-versions-other");
  Chain c2(*other.db, genesis);
  auto b =
      c2.build(c2.head().id,
               {{own_tx(alice, 1, RegisterUser{"alice"}), false},
                {own_tx(alice, 2, CreateRepo{"r", "", false, "main"}), false},
                {own_tx(alice, 3, UpdateRefs{1, {{"refs/heads/main", {}, Bytes(20, 1)}}}), false}},
               1, kT0, proposer);
  ASSERT_EQ(b.block.txs.size(), 3u);
  c2.commit(b.block);
  auto p = prove_repo_at(*other.db, c2.schema(), 1, "alice", "r");
  ASSERT_TRUE(p && p->state);
  EXPECT_EQ(p->version, kHeaderV3);
  EXPECT_EQ(smt_evaluate(p->proof, p->key).value,
            repo_leaf_value(decode_repo_state(*p->state), kHeaderV3));
  SmtEmptyReader empty;
  SmtVersion v2_tree(empty, 1);
  DbReader other_state(*other.db);
  smt_build_all(v2_tree, c2.schema(), other_state, kHeaderV2);
  Block v1 = b.block, v2 = b.block;
  v1.header.version = kHeaderV1;
  v1.header.state_root = p->history;
  v2.header.version = kHeaderV2;
  v2.header.state_root = authenticated_state_root(p->history, smt_root(v2_tree));

  for (const Block& first : {v1, v2}) {
    TempDb tmp("smt-versions");
    Chain chain(*tmp.db, genesis);
    ASSERT_TRUE(chain.verify(first).ok()) << chain.verify(first).message();
    chain.commit(first);
    auto at1 = prove_repo_at(*tmp.db, chain.schema(), 1, "alice", "r");
    ASSERT_TRUE(at1 && at1->state);
    EXPECT_EQ(at1->version, first.header.version);
    if (first.header.version == kHeaderV2) {
      EXPECT_EQ(at1->repos_root, smt_root(v2_tree));
      EXPECT_EQ(smt_evaluate(at1->proof, at1->key).value,
                repo_leaf_value(decode_repo_state(*at1->state), kHeaderV2));
    }
    // A version-3 block follows; it does not touch the repository, yet its leaf is converted.
    auto b2 = chain.build(chain.head().id, {{own_tx(key(2), 1, RegisterUser{"bob"}), false}}, 2,
                          kT0 + 1, proposer);
    EXPECT_EQ(b2.block.header.version, kHeaderV3);
    ASSERT_EQ(b2.block.txs.size(), 1u);
    chain.commit(b2.block);
    auto at2 = prove_repo_at(*tmp.db, chain.schema(), 2, "alice", "r");
    ASSERT_TRUE(at2 && at2->state);
    EXPECT_EQ(at2->version, kHeaderV3);
    EXPECT_EQ(*at2->state, *at1->state);
    EXPECT_EQ(smt_evaluate(at2->proof, at2->key).value,
              repo_leaf_value(decode_repo_state(*at2->state), kHeaderV3));
    SmtVersion v3_tree(empty, 2);
    DbReader state(*tmp.db);
    smt_build_all(v3_tree, chain.schema(), state, kHeaderV3);
    EXPECT_EQ(at2->repos_root, smt_root(v3_tree));
    // The conversion kept the untouched repository's encoding, not its refs' tree: its next push
    // rebuilds the tree from the encoding.
    auto b3 = chain.build(
        chain.head().id,
        {{own_tx(alice, 4, UpdateRefs{1, {{"refs/heads/main", Bytes(20, 1), Bytes(20, 2)}}}),
          false}},
        3, kT0 + 2, proposer);
    ASSERT_EQ(b3.block.txs.size(), 1u);
    chain.commit(b3.block);
    auto at3 = prove_repo_at(*tmp.db, chain.schema(), 3, "alice", "r");
    ASSERT_TRUE(at3 && at3->state);
    auto st3 = decode_repo_state(*at3->state);
    ASSERT_EQ(st3.refs.size(), 1u);
    EXPECT_EQ(st3.refs[0].second, Bytes(20, 2));
    EXPECT_EQ(smt_evaluate(at3->proof, at3->key).value, repo_leaf_value(st3, kHeaderV3));
    SmtVersion v3_after(empty, 3);
    DbReader state3(*tmp.db);
    smt_build_all(v3_after, chain.schema(), state3, kHeaderV3);
    EXPECT_EQ(at3->repos_root, smt_root(v3_after));
    // No block of a lower version after it.
    auto b4 = chain.build(chain.head().id, {}, 4, kT0 + 3, proposer);
    for (uint8_t lower : {kHeaderV1, kHeaderV2}) {
      Block bad = b4.block;
      bad.header.version = lower;
      auto st = chain.verify(bad);
      EXPECT_FALSE(st.ok());
      EXPECT_NE(st.message().find("cannot follow a version-3 block"), std::string::npos)
          << st.message();
    }
    EXPECT_TRUE(chain.verify(b4.block).ok());
  }
}
