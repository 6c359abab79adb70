// CI runners' records (state/ci_runner.h: a job's stored log, an Actions secret) from arbitrary
// bytes: decoding either fails with DecodeError or yields a record whose encoding is exactly the
// input. (Bodies of kinds 68-70 are covered by tx_decode_fuzz.)
#include <cstdlib>

#include "codec/codec.h"
#include "state/ci_runner.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    if (state::encode_job_log(state::decode_job_log(input)) != input) std::abort();
  } catch (const codec::DecodeError&) {
  }
  try {
    if (state::encode_actions_secret(state::decode_actions_secret(input)) != input) std::abort();
  } catch (const codec::DecodeError&) {
  }
  state::valid_secret_name(input);
  return 0;
}
