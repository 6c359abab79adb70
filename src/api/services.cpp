#include "api/services.h"

#include "core/time.h"
#include "crypto/did.h"

namespace guts::api {

Services::Services(state::Chain& chain, state::Mempool& mempool, crypto::SigningKey node_key,
                   TokenStore& tokens, std::string public_url)
    : chain_(chain),
      mempool_(mempool),
      node_key_(std::move(node_key)),
      tokens_(tokens),
      public_url_(std::move(public_url)) {}

void Services::submit(const state::Transaction& tx, state::OutcomeFn done) {
  auto shared = std::make_shared<state::OutcomeFn>(std::move(done));
  Status st = mempool_.submit(tx, [shared](const state::TxOutcome& o) { (*shared)(o); });
  if (!st.ok()) (*shared)(state::TxOutcome{tx.id(), false, st, 0});
}

void Services::submit_as(const Principal& who, state::TxBody body, state::OutcomeFn done,
                         state::Mempool::Origin origin) {
  auto author = crypto::parse_did(who.did);
  if (!author) {
    done(state::TxOutcome{{}, false, Status(Code::kUnauthenticated, "invalid principal"), 0});
    return;
  }
  state::Transaction tx;
  tx.chain_id = chain_.genesis().chain_id;
  tx.author = *author;
  tx.timestamp_ms = unix_millis();
  tx.body = std::move(body);
  auto shared = std::make_shared<state::OutcomeFn>(std::move(done));
  Status st;
  {
    std::lock_guard lock(sign_mu_);
    tx.nonce = mempool_.next_nonce(tx.author, node_key_.public_key());
    tx.sign(node_key_);
    st = mempool_.submit(
        tx, [shared](const state::TxOutcome& o) { (*shared)(o); }, origin);
  }
  if (!st.ok()) (*shared)(state::TxOutcome{tx.id(), false, st, 0});
}

}  // namespace guts::api
