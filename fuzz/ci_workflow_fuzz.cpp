// libFuzzer target: workflow files (ci/workflow.h) are untrusted repository content that every
// validator parses (state/ci_exec.cpp). Parsing must never crash, throw or run unbounded, and a
// parsed workflow must expand its matrices within the documented limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ci/workflow.h"
#include "core/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = guts::ci::parse_workflow(".guts/workflows/fuzz.yml", text);
  if (auto* wf = std::get_if<guts::ci::Workflow>(&r)) {
    GUTS_ASSERT(!wf->jobs.empty() && wf->jobs.size() <= guts::ci::kMaxJobs, "job count bound");
    for (const auto& job : wf->jobs) {
      auto m = guts::ci::expand_matrix(*wf, job);
      auto* jobs = std::get_if<std::vector<guts::ci::JobInstance>>(&m);
      GUTS_ASSERT(jobs && !jobs->empty() && jobs->size() <= guts::ci::kMaxMatrixJobs,
                  "a parsed workflow expands");
    }
    (void)guts::ci::triggers(*wf, {guts::ci::Event::kPush, "refs/heads/main"});
  } else {
    (void)std::get<guts::ci::ParseError>(r).to_string();
  }
  return 0;
}
