#include "reelforge/safety/verify.hpp"

#include <chrono>

#include "reelforge/core/error.hpp"
#include "reelforge/media/video_reader.hpp"

namespace reelforge::safety {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* to_string(VerifyVerdict verdict) {
  switch (verdict) {
    case VerifyVerdict::SignedAndIntact:
      return "signed and intact";
    case VerifyVerdict::SignedButModified:
      return "signed but modified";
    case VerifyVerdict::WatermarkOnly:
      return "watermark only";
    case VerifyVerdict::NothingFound:
      return "nothing found";
  }
  return "?";
}

VerifyReport verify_clip(const fs::path& clip, const VerifyOptions& options) {
  VerifyReport report;
  std::error_code ec;
  if (!fs::exists(clip, ec)) throw Error(ErrorCategory::NotFound, "no such clip", clip.string());
  report.manifest_path = options.manifest.empty() ? provenance_path(clip) : options.manifest;
  report.manifest_found = fs::exists(report.manifest_path, ec);
  if (report.manifest_found) {
    try {
      report.manifest = ProvenanceManifest::load(report.manifest_path);
      report.check = check_provenance(*report.manifest, clip);
      if (!report.check.signature_valid) {
        report.manifest_problem = "the signature does not match the manifest";
      }
    } catch (const Error& e) {
      if (e.category() == ErrorCategory::Cancelled) throw;
      report.manifest.reset();
      report.manifest_problem = e.message();
    }
  } else if (!options.manifest.empty()) {
    report.manifest_problem = "the manifest file does not exist";
  }

  // Every frame as decoded, at its own size: the detector maps any size onto its grid.
  WatermarkDetector detector(kWatermarkKey);
  media::VideoReader reader(clip);
  const int64_t expected = reader.expected_frames();
  cv::Mat frame;
  Clock::time_point t = Clock::now();
  while (true) {
    options.cancel.throw_if_cancelled("verifying");
    if (!reader.read(frame)) break;
    const Clock::time_point decoded = Clock::now();
    report.decode_seconds += std::chrono::duration<double>(decoded - t).count();
    detector.add_frame(frame);
    t = Clock::now();
    report.detect_seconds += std::chrono::duration<double>(t - decoded).count();
    if (options.progress) options.progress(reader.frames_read(), expected);
  }
  const Clock::time_point judge = Clock::now();
  report.watermark = detector.result();
  report.detect_seconds += std::chrono::duration<double>(Clock::now() - judge).count();

  const bool signed_ok = report.manifest && report.check.signature_valid;
  if (signed_ok && report.watermark.found) {
    report.ids_match = report.watermark.payload.install_id == report.manifest->install_id &&
                       report.watermark.payload.generation_id == report.manifest->generation_id;
  }
  if (signed_ok) {
    report.verdict = report.check.content_matches ? VerifyVerdict::SignedAndIntact
                                                  : VerifyVerdict::SignedButModified;
  } else {
    report.verdict =
        report.watermark.found ? VerifyVerdict::WatermarkOnly : VerifyVerdict::NothingFound;
  }
  return report;
}

}  // namespace reelforge::safety
