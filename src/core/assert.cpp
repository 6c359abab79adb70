#include "core/assert.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

namespace guts {

void assert_failed(const char* condition, const char* why, const char* file, int line) noexcept {
  // stderr first: it needs no allocation, and spdlog's sinks may be what is broken.
  std::fprintf(stderr, "FATAL: invariant violated at %s:%d: %s (%s)\n", file, line, why, condition);
  std::fflush(stderr);
  try {
    spdlog::default_logger()->flush();
  } catch (...) {
  }
  std::abort();
}

}  // namespace guts
