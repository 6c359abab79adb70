// Scheduled runs (docs/ci.md "Scheduled runs"): cron lines are untrusted repository content
// that every validator reads (ci/cron.h), and schedule records (state/ci.h) are decoded from
// the state. A cron line parses or is refused with a reason, never crashes, and a parsed one
// answers any minute; a record decodes to exactly its input or throws DecodeError. (Bodies of
// kinds 67 and 73 are covered by tx_decode_fuzz.)
#include <cstdlib>

#include "ci/cron.h"
#include "codec/codec.h"
#include "state/ci.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto c = ci::parse_cron(input, &why)) {
    if (c->minutes.none() || c->hours.none() || c->months.none()) std::abort();
    uint64_t t = 0;
    for (size_t i = 0; i < size && i < 8; ++i) t = (t << 8) | data[i];
    t = t % (1ull << 45);  // within year ~3084
    (void)ci::cron_matches(*c, t - t % 60000);
    if (auto m = ci::latest_match(*c, t > 3600000 ? t - 3600000 : 0, t))
      if (*m % 60000 != 0 || *m > t || !ci::cron_matches(*c, *m)) std::abort();
  } else if (why.empty()) {
    std::abort();  // a refusal always says why
  }
  try {
    if (state::encode_schedule(state::decode_schedule(input)) != input) std::abort();
  } catch (const codec::DecodeError&) {
  }
  return 0;
}
