// Diff layout (web/diff_layout.h) on arbitrary patch text: never crashes, stays within the line
// bound, and the split view shows every removed and added line exactly once, on its own side.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "web/diff_layout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = guts::web::parse_patch(in, 1000);
  if (p.lines.size() > 1000) std::abort();
  size_t adds = 0, dels = 0;
  for (const auto& l : p.lines) {
    if (l.text.data() < in.data() || l.text.data() + l.text.size() > in.data() + in.size())
      std::abort();
    adds += l.kind == guts::web::DiffLine::kAdd;
    dels += l.kind == guts::web::DiffLine::kDel;
  }
  size_t left = 0, right = 0;
  for (const auto& r : guts::web::split_rows(p.lines)) {
    if (!r.left && !r.right) std::abort();
    if (r.left && r.left->kind == guts::web::DiffLine::kAdd) std::abort();
    if (r.right && r.right->kind == guts::web::DiffLine::kDel) std::abort();
    left += r.left && r.left->kind == guts::web::DiffLine::kDel;
    right += r.right && r.right->kind == guts::web::DiffLine::kAdd;
  }
  if (left != dels || right != adds) std::abort();
  return 0;
}
