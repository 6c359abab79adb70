// Git LFS batch requests (api/lfs_batch.h) from arbitrary bytes: parsing either throws
// guts::Error or yields a bounded request.
#include <cstdlib>

#include "api/lfs_batch.h"
#include "core/status.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    auto b = api::parse_lfs_batch(body);
    if (b.objects.empty() || b.objects.size() > api::kMaxLfsBatchObjects) std::abort();
    for (const auto& o : b.objects)
      if (o.error.empty() && !api::valid_lfs_oid(o.oid)) std::abort();
  } catch (const Error&) {
  }
  (void)api::lfs_batch_operation(body);
  return 0;
}
