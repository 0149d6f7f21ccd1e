// `reelforge verify CLIP`: presentation of safety::verify_clip (the signed sidecar and the
// invisible watermark, judged together).

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "reelforge/safety/verify.hpp"

namespace reelforge::cli {
namespace fs = std::filesystem;

const char* const kVerifyUsage = R"(Usage: reelforge verify CLIP [--manifest FILE] [--json]

Tells whether a clip was made by ReelForge and is unchanged: checks the Ed25519 signature and
content hash of its provenance manifest (CLIP.provenance.json beside it, written by every render)
and reads the invisible watermark from its frames (install id and generation id).

  --manifest FILE   the manifest to check (default: CLIP.provenance.json)
  --json            print the report as JSON instead of text

Exit status (the verdict):
  0   signed and intact     valid signature, and the clip is the file that was signed
  10  signed but modified   valid signature, but the clip's content differs (re-encoded, edited)
  11  watermark only        no manifest or an invalid one, but the watermark is in the frames
  12  nothing found         neither a valid manifest nor a watermark
  other codes are errors (e.g. 3: the clip does not exist, 5: it cannot be decoded).)";

namespace {

int exit_code(safety::VerifyVerdict v) {
  switch (v) {
    case safety::VerifyVerdict::SignedAndIntact:
      return 0;
    case safety::VerifyVerdict::SignedButModified:
      return 10;
    case safety::VerifyVerdict::WatermarkOnly:
      return 11;
    case safety::VerifyVerdict::NothingFound:
      return 12;
  }
  return 12;
}

std::string id_hex(uint32_t id) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", id);
  return buf;
}

nlohmann::json report_json(const fs::path& clip, const safety::VerifyReport& r) {
  nlohmann::json j = {{"clip", clip.string()},
                      {"verdict", safety::to_string(r.verdict)},
                      {"exit_code", exit_code(r.verdict)},
                      {"manifest_path", r.manifest_path.string()},
                      {"manifest_found", r.manifest_found}};
  if (!r.manifest_problem.empty()) j["manifest_problem"] = r.manifest_problem;
  if (r.manifest) {
    const safety::ProvenanceManifest& m = *r.manifest;
    j["manifest"] = m.to_json();
    j["signature_valid"] = r.check.signature_valid;
    j["content_matches"] = r.check.content_matches;
    j["clip_sha256"] = r.check.clip_sha256;
  }
  nlohmann::json w = {{"found", r.watermark.found},
                      {"confidence", r.watermark.confidence},
                      {"frames", r.watermark.frames}};
  if (r.watermark.found) {
    w["install_id"] = id_hex(r.watermark.payload.install_id);
    w["generation_id"] = id_hex(r.watermark.payload.generation_id);
    w["bit_error_rate"] = r.watermark.bit_error_rate;
    w["zoom"] = r.watermark.zoom;
  }
  j["watermark"] = w;
  if (r.ids_match) j["ids_match"] = *r.ids_match;
  return j;
}

void print_text(const fs::path& clip, const safety::VerifyReport& r) {
  std::printf("%s: %s\n", clip.c_str(), safety::to_string(r.verdict));
  if (r.manifest) {
    const safety::ProvenanceManifest& m = *r.manifest;
    std::printf("manifest:  %s\n", r.manifest_path.c_str());
    std::printf("  signature %s, content %s\n", r.check.signature_valid ? "valid" : "INVALID",
                r.check.content_matches ? "matches" : "DIFFERS");
    std::printf("  made %s by %s %s with model %s, install %s, generation %s%s\n",
                m.created.c_str(), m.generator.c_str(), m.generator_version.c_str(),
                m.model_name.c_str(), id_hex(m.install_id).c_str(), id_hex(m.generation_id).c_str(),
                m.partial ? " (partial delivery)" : "");
  } else if (r.manifest_found) {
    std::printf("manifest:  %s is unusable: %s\n", r.manifest_path.c_str(),
                r.manifest_problem.c_str());
  } else {
    std::printf("manifest:  none (%s%s%s)\n", r.manifest_path.c_str(),
                r.manifest_problem.empty() ? "" : ": ", r.manifest_problem.c_str());
  }
  if (r.manifest && !r.manifest_problem.empty()) {
    std::printf("  %s\n", r.manifest_problem.c_str());
  }
  if (r.watermark.found) {
    std::printf("watermark: found (confidence %.1f, %lld frames, %.1f%% raw bit errors)\n",
                r.watermark.confidence, (long long)r.watermark.frames,
                100 * r.watermark.bit_error_rate);
    std::printf("  install %s, generation %s", id_hex(r.watermark.payload.install_id).c_str(),
                id_hex(r.watermark.payload.generation_id).c_str());
    if (r.ids_match) std::printf(" (%s the manifest)", *r.ids_match ? "match" : "DO NOT match");
    std::printf("\n");
  } else {
    std::printf("watermark: not found (confidence %.1f, threshold %.0f, %lld frames)\n",
                r.watermark.confidence, safety::kWatermarkDetectionThreshold,
                (long long)r.watermark.frames);
  }
}

}  // namespace

int run_verify(Args& args) {
  safety::VerifyOptions options;
  if (auto m = args.option("--manifest")) options.manifest = *m;
  const bool as_json = args.flag("--json");
  const fs::path clip = args.positional("clip to verify");
  args.finish();
  options.cancel = interrupt_token();
  const safety::VerifyReport report = safety::verify_clip(clip, options);
  if (as_json) {
    std::printf("%s\n", report_json(clip, report).dump(2).c_str());
  } else {
    print_text(clip, report);
  }
  return exit_code(report.verdict);
}

}  // namespace reelforge::cli
