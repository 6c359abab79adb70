#include "state/token_request.h"

#include "codec/codec.h"

namespace guts::api {

Bytes token_request_payload(std::string_view chain_id, const crypto::PublicKey& node,
                            const crypto::PublicKey& user, uint64_t timestamp_ms) {
  codec::Writer w;
  w.str(chain_id).fixed(node).fixed(user).varint(timestamp_ms);
  return w.take();
}

Bytes runner_request_payload(std::string_view chain_id, const crypto::PublicKey& node,
                             const crypto::PublicKey& runner, uint64_t timestamp_ms,
                             std::string_view method, std::string_view path) {
  codec::Writer w;
  w.str(chain_id).fixed(node).fixed(runner).varint(timestamp_ms).str(method).str(path);
  return w.take();
}

}  // namespace guts::api
