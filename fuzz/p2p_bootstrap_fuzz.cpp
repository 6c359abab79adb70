// Fuzzes the strict bootstrap ("did:key:…@host:port") and host:port parsers (src/p2p/discovery.h).
// Invariants: only guts::Error(kInvalidArgument) escapes; whatever parses prints back to the
// same text (one spelling per address) and parses again to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/status.h"
#include "crypto/did.h"
#include "p2p/discovery.h"

using namespace guts;
using namespace guts::p2p;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto hp = parse_host_port(text);
    if (hp.to_string() != text || hp.port == 0) std::abort();
    if (!(parse_host_port(hp.to_string()) == hp)) std::abort();
  } catch (const Error& e) {
    if (e.code() != Code::kInvalidArgument) std::abort();
  }
  try {
    auto b = parse_bootstrap(text);
    auto printed = crypto::did_from_key(b.id) + "@" + b.addr.to_string();
    if (printed != text) std::abort();
  } catch (const Error& e) {
    if (e.code() != Code::kInvalidArgument) std::abort();
  }
  return 0;
}
