// Server-side syntax highlighting with Debian's `highlight` CLI, run as a subprocess with fixed
// arguments and no shell (git/process.h): `highlight -O html --fragment --syntax=<lang>`, the
// language chosen from the file name through a fixed table (never from user input). The output
// is one line of HTML per input line (spans are closed at each line end), escaped by highlight.
// Results are cached by blob id. Unknown languages, binary or large files, a missing program or
// a failure give nullopt: the caller shows plain escaped text.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_annotations.h"

namespace guts::web {

// The `--syntax` name for a file name ("cpp" for "x.cc"), or "" when none is known.
std::string syntax_for(std::string_view filename);

class Highlighter {
 public:
  struct Options {
    size_t max_bytes = 256 << 10;  // larger files are not highlighted
    size_t cache_entries = 256;
    std::string program = "highlight";
  };
  Highlighter() : Highlighter(Options{}) {}
  explicit Highlighter(Options options) : opt_(std::move(options)) {}

  // Highlighted lines of `content` (a blob, id `blob_sha`), or null. Thread-safe. Shared, not
  // copied: a page of 5,000 lines would otherwise copy them at every view.
  using Lines = std::shared_ptr<const std::vector<std::string>>;
  Lines lines(const std::string& blob_sha, std::string_view filename, std::string_view content);

 private:
  Options opt_;
  guts::Mutex mu_;
  std::map<std::string, Lines> cache_ GUTS_GUARDED_BY(mu_);
};

}  // namespace guts::web
