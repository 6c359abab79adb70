// CI artifacts (docs/ci.md "Artifacts") from arbitrary bytes: the zip reader (ci/zip.h) either
// refuses or returns safe entries whose re-written archive reads back the same; the artifact
// record (state/artifact.h) decodes to something that re-encodes to the input, or throws
// DecodeError. (Bodies of kinds 71-72 are covered by tx_decode_fuzz.)
#include <cstdlib>

#include "ci/zip.h"
#include "codec/codec.h"
#include "state/artifact.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto entries = ci::read_zip(input);
  if (entries.ok()) {
    for (const auto& e : entries.value())
      if (!ci::safe_zip_name(e.name)) std::abort();
    auto again = ci::read_zip(ci::write_zip(entries.value()));
    if (!again.ok() || again.value() != entries.value()) std::abort();
  }
  try {
    if (state::encode_artifact(state::decode_artifact(input)) != input) std::abort();
  } catch (const codec::DecodeError&) {
  }
  state::valid_artifact_name(input);
  return 0;
}
