// Artifacts of a job (docs/ci.md "Artifacts"). Inside the sandbox `guts-artifact upload NAME
// PATH...` (a bash script the runner puts on PATH) copies files into the job's outbox,
// <outbox>/<NAME>/files/<path>, and the retention into <outbox>/<NAME>/retention-days. After
// the steps the runner packs each NAME into a stored zip (ci/zip.h), uploads it to the node's
// BlobStore (POST /api/guts/runners/jobs/{job}/artifacts?name=NAME), checks the answered
// SHA-256 against its own and records it with CreateArtifact (kind 71).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace guts::runner {

// The text of the `guts-artifact` command.
std::string artifact_tool_script();

struct PackedArtifact {
  std::string name;
  std::string zip;
  uint32_t retention_days = 0;  // 0: the default
  std::string error;            // not uploaded: why (over the size limit, bad name, ...)
};

// Packs every artifact in `outbox`, names in order. Only regular files are taken (symbolic
// links are skipped: the runner reads the outbox outside the sandbox and must not follow a
// link to its own files).
std::vector<PackedArtifact> pack_artifacts(const std::filesystem::path& outbox);

}  // namespace guts::runner
