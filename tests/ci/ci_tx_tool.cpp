// A test stand-in for a runner's signing (tests/octokit/actions.mjs): prints hex-encoded CI
// transactions signed by a runner key, for POST /api/guts/transactions. Not a runner (that is
// guts-runner); only what tests need to register a runner and conclude jobs without one.
//
//   ci_tx_tool did <seed-hex>
//   ci_tx_tool register <chain> <nonce> <seed-hex> <repo-id> <token-seed-hex> <name> <labels,>
//   ci_tx_tool claim <chain> <nonce> <seed-hex> <job-id>
//   ci_tx_tool complete <chain> <nonce> <seed-hex> <job-id> <conclusion> [step-name]
//   ci_tx_tool artifact <chain> <nonce> <seed-hex> <repo-id> <job-id> <name> <sha256-hex> <size>
//   ci_tx_tool runner-header <node-did> <chain> <seed-hex> <method> <path>   (X-Guts-Runner)
#include <iostream>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/token_request.h"
#include "state/tx.h"

using namespace guts;

namespace {

crypto::SigningKey key_of(const std::string& hex) {
  auto b = hex_decode(hex);
  if (!b || b->size() != 32) throw std::runtime_error("a seed is 64 hex digits");
  crypto::Seed s{};
  std::copy(b->begin(), b->end(), s.begin());
  return crypto::SigningKey::from_seed(s);
}

std::string signed_tx(const std::string& chain, uint64_t nonce, const crypto::SigningKey& k,
                      state::TxBody body) {
  state::Transaction tx;
  tx.chain_id = chain;
  tx.author = k.public_key();
  tx.signer = k.public_key();
  tx.nonce = nonce;
  tx.timestamp_ms = unix_millis();
  tx.body = std::move(body);
  tx.sign(k);
  return hex_encode(tx.encode());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() == 2 && a[0] == "did") {
      std::cout << crypto::did_from_key(key_of(a[1]).public_key()) << "\n";
      return 0;
    }
    if (a.size() == 6 && a[0] == "runner-header") {
      auto node = crypto::parse_did(a[1]);
      if (!node) throw std::runtime_error("not a did:key: " + a[1]);
      auto k = key_of(a[3]);
      uint64_t ts = unix_millis();
      auto payload = api::runner_request_payload(a[2], *node, k.public_key(), ts, a[4], a[5]);
      std::cout << crypto::did_from_key(k.public_key()) << " " << ts << " "
                << hex_encode(k.sign(api::kRunnerRequestDomain, payload)) << "\n";
      return 0;
    }
    if (a.size() < 5) throw std::runtime_error("usage: see the top of ci_tx_tool.cpp");
    const std::string& chain = a[1];
    uint64_t nonce = std::stoull(a[2]);
    auto k = key_of(a[3]);
    if (a[0] == "register" && a.size() == 8) {
      state::RegisterRunner r;
      r.repo_id = std::stoull(a[4]);
      auto token = key_of(a[5]);
      r.token_key = token.public_key();
      r.token_sig = token.sign(state::kRunnerTokenDomain,
                               state::runner_registration_payload(k.public_key(), r.repo_id));
      r.name = a[6];
      size_t start = 0;
      while (start <= a[7].size()) {
        size_t comma = a[7].find(',', start);
        if (comma == std::string::npos) comma = a[7].size();
        if (comma > start) r.labels.push_back(a[7].substr(start, comma - start));
        start = comma + 1;
      }
      std::cout << signed_tx(chain, nonce, k, r) << "\n";
    } else if (a[0] == "claim" && a.size() == 5) {
      std::cout << signed_tx(chain, nonce, k, state::ClaimJob{std::stoull(a[4])}) << "\n";
    } else if (a[0] == "complete" && (a.size() == 6 || a.size() == 7)) {
      state::CompleteJob c;
      c.job_id = std::stoull(a[4]);
      auto conclusion = state::conclusion_of(a[5]);
      if (!conclusion) throw std::runtime_error("unknown conclusion " + a[5]);
      c.conclusion = *conclusion;
      uint64_t now = unix_millis();
      if (a.size() == 7)
        c.steps = {{1, a[6], state::kRunCompleted, *conclusion, now - 1000, now, "done\n"}};
      std::cout << signed_tx(chain, nonce, k, c) << "\n";
    } else if (a[0] == "artifact" && a.size() == 9) {
      state::CreateArtifact c;
      c.repo_id = std::stoull(a[4]);
      c.job_id = std::stoull(a[5]);
      c.name = a[6];
      auto sha = hex_decode_fixed<32>(a[7]);
      if (!sha) throw std::runtime_error("a sha256 is 64 hex digits");
      c.sha256 = *sha;
      c.size = std::stoull(a[8]);
      std::cout << signed_tx(chain, nonce, k, c) << "\n";
    } else {
      throw std::runtime_error("usage: see the top of ci_tx_tool.cpp");
    }
  } catch (const std::exception& e) {
    std::cerr << "ci_tx_tool: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
