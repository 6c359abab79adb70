// Invariants that must hold whatever the input: GUTS_ASSERT(cond, "why") stops the process
// (fail-stop, docs/errors.md) when `cond` is false, in every build type. It is for states that
// only a bug can reach (a core's bookkeeping disagreeing with itself, a finalized block that
// does not extend the chain); input from clients, peers and disk is checked and answered with a
// Status instead. Continuing after a broken invariant could sign, vote or persist something
// wrong; a crash loses nothing acknowledged (every acknowledged write is durable) and the node
// restarts from disk.
#pragma once

namespace guts {

[[noreturn]] void assert_failed(const char* condition, const char* why, const char* file,
                                int line) noexcept;

}  // namespace guts

#define GUTS_ASSERT(cond, why)                                 \
  do {                                                         \
    if (!(cond)) [[unlikely]]                                  \
      ::guts::assert_failed(#cond, (why), __FILE__, __LINE__); \
  } while (false)
