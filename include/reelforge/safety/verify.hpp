#pragma once
// Verifying a clip: its signed provenance manifest (provenance.hpp) and its invisible watermark
// (watermark.hpp), judged together. What `reelforge verify` prints and `reelforge bench safety`
// times.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "reelforge/core/cancel.hpp"
#include "reelforge/safety/provenance.hpp"
#include "reelforge/safety/watermark.hpp"

namespace reelforge::safety {

enum class VerifyVerdict {
  SignedAndIntact,    // valid signature and the clip's hash matches
  SignedButModified,  // valid signature, but the clip is not the file that was signed
  WatermarkOnly,      // no manifest, or one whose signature fails, but the mark is in the frames
  NothingFound,       // neither
};

const char* to_string(VerifyVerdict verdict);  // "signed and intact", ...

struct VerifyReport {
  VerifyVerdict verdict = VerifyVerdict::NothingFound;
  std::filesystem::path manifest_path;
  bool manifest_found = false;
  // Why a manifest that exists was not usable (unreadable, malformed, bad signature); empty else.
  std::string manifest_problem;
  std::optional<ProvenanceManifest> manifest;  // when it was readable
  ProvenanceCheck check;                       // meaningful when manifest is set
  WatermarkResult watermark;
  // Whether the mark's ids are the manifest's (both present and readable); nullopt otherwise.
  std::optional<bool> ids_match;
  double decode_seconds = 0;  // decoding the clip's frames
  double detect_seconds = 0;  // the detector
};

struct VerifyOptions {
  std::filesystem::path manifest;  // empty = provenance_path(clip)
  // Called with (frames read, frames expected) while the clip is decoded.
  std::function<void(int64_t, int64_t)> progress;
  CancellationToken cancel;
};

// Reads the manifest (if any), checks it, decodes every frame of the clip into the watermark
// detector and gives the verdict. Error(NotFound)/Error(Format) only for the clip itself.
VerifyReport verify_clip(const std::filesystem::path& clip, const VerifyOptions& options = {});

}  // namespace reelforge::safety
