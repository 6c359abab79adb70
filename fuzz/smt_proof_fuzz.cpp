// The repository tree's wire formats (state/smt_proof.h) and the proof endpoint's JSON
// (verify/verify.h) on arbitrary bytes: a proof or repository state either decodes and encodes
// back to the same bytes, or throws codec::DecodeError; evaluating a decoded proof either gives
// a root or throws guts::Error; the JSON parser returns a bundle or throws guts::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "codec/codec.h"
#include "core/status.h"
#include "state/smt_proof.h"
#include "verify/verify.h"

using namespace guts;
using namespace guts::state;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ByteView in(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      try {
        auto p = decode_smt_proof(in);
        if (p.encode() != Bytes(in.begin(), in.end())) std::abort();
        try {
          smt_evaluate(p, Digest{});
        } catch (const Error&) {
        }
      } catch (const codec::DecodeError&) {
      }
      break;
    case 1:
      try {
        auto s = decode_repo_state(in);
        if (encode_repo_state(s) != Bytes(in.begin(), in.end())) std::abort();
      } catch (const codec::DecodeError&) {
      }
      break;
    default:
      try {
        verify::bundle_from_json(
            std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
      } catch (const Error&) {
      }
  }
  return 0;
}
