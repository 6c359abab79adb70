// libFuzzer target: the receive-pack command-list parser (commands, capabilities, push options,
// shallow lines) with tight bounds, plus ref-name validation of whatever it accepts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "git/receive.h"
#include "git/refs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace guts::git;
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 97;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  ReceiveLimits limits;
  limits.max_commands = 8;
  limits.max_push_options = 4;
  limits.max_shallow = 4;
  try {
    PushRequestParser p(limits);
    for (size_t off = 0; off < input.size() && !p.done(); off += chunk)
      p.feed(input.substr(off, chunk));
    if (p.done()) {
      const auto& req = p.request();
      if (req.commands.size() > limits.max_commands) __builtin_trap();
      for (const auto& c : req.commands) {
        if (!is_valid_ref_name(c.ref)) __builtin_trap();
        if (!is_valid_oid(c.old_oid) || !is_valid_oid(c.new_oid)) __builtin_trap();
      }
      // The report for whatever was parsed must itself be valid pkt-lines.
      std::vector<RefStatus> res;
      for (const auto& c : req.commands) res.push_back({c.ref, "ng reason"});
      (void)pkt::decode_all(report_status("", res, req.side_band()));
    }
  } catch (const guts::Error&) {
  }
  // Ref-name validation must never crash on arbitrary bytes.
  (void)ref_name_error(input);
  return 0;
}
