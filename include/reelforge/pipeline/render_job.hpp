#pragma once
// A render job: a storyboard in, a finished MP4 out. The job loads the model (or takes a loaded
// one), checks the storyboard against it, plans the render (plan.hpp), encodes every prompt,
// samples each shot window by window (long shots continue from their previous window; shots
// with continuity on continue from the previous shot), decodes, converts to the output fps,
// joins shots with their transitions, upscales to the output preset and encodes.
//
// Nothing expensive is lost. The job keeps a folder (by default beside the output, named
// `.<output name>.job`) holding job.json (the storyboard, settings and plan), the encoded prompts
// and the sampled latents of every window, each saved before it is decoded. A job that fails or
// is cancelled after sampling resumes from there (RenderJob::resume, `reelforge render --resume
// DIR`) without sampling again, and can deliver the part it finished (deliver_partial). The
// folder is removed after a successful render unless asked to keep it. The output appears under
// its final name only when complete (media::VideoWriter).
//
// Progress: events with the stage, step / total, shot and window, the overall fraction, an ETA
// from measured stage rates, and a latent preview frame every few sampling steps. Cancellation
// is checked at least once per sampling step (and per DiT block, VAE chunk and output frame).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <opencv2/core/mat.hpp>

#include "reelforge/core/cancel.hpp"
#include "reelforge/media/frame_rate.hpp"
#include "reelforge/media/presets.hpp"
#include "reelforge/pipeline/model_runtime.hpp"
#include "reelforge/pipeline/plan.hpp"
#include "reelforge/storyboard/storyboard.hpp"

namespace reelforge::pipeline {

struct RenderProgress {
  std::string stage;  // "load", "text", "sample", "decode", "post", "encode", "done"
  int64_t step = 0;   // within the stage (sampling: steps of the current window)
  int64_t total = 0;
  int shot = -1;  // 0-based index of the shot being worked on; -1 outside shots
  int shot_count = 0;
  std::string shot_id;
  int window = -1;  // 0-based window of the shot; -1 outside sampling
  int window_count = 0;
  double fraction = 0;  // of the whole job, 0..1
  double eta_s = -1;    // seconds left; negative while there is nothing to estimate from
  cv::Mat preview;      // when not empty: a new preview (RGB, native size)
  std::string message;  // a line for a log
};
using RenderProgressCallback = std::function<void(const RenderProgress&)>;

struct RenderRequest {
  storyboard::Storyboard storyboard;
  std::filesystem::path base_dir;  // where the storyboard's relative media paths start
  std::filesystem::path output;    // the clip to write (.mp4, .mov, .mkv)
  RenderOptions options;
  RuntimeOptions runtime;
  // An already loaded model to use (must be the storyboard's model); null = find and load
  // storyboard.project.model.
  std::shared_ptr<ModelRuntime> model;
  // Without `model`: load the model from this folder instead of finding project.model by name
  // (a resumed job uses the folder it started with).
  std::filesystem::path model_dir;
  std::filesystem::path job_dir;  // empty = default_job_dir(output)
  bool keep_job = false;          // keep the job folder after a successful render
  // Sample nothing: deliver the shots (and windows) the job folder already holds.
  bool deliver_partial = false;
  // Receives every output frame (RGB, output size) just before it is encoded, with its index:
  // for live previews of finished frames, and for exact checks of what was encoded (watermarked).
  std::function<void(const cv::Mat& rgb, int64_t index)> frame_sink;
  // Safety (docs/safety.md). Every shot's prompt is checked against this moderation policy before
  // the model is loaded; empty = safety::ModerationPolicy::default_path(). Verdicts go to
  // moderation_audit_log_path().
  std::filesystem::path moderation_policy;
  // A semi-transparent "AI · ReelForge" badge in the bottom-right corner of every frame. The
  // invisible watermark is always embedded.
  bool visible_watermark = false;
  // The generation id in the watermark and the manifest; 0 = a new random one. The job folder
  // keeps the id a job started with, so a resumed render carries the same one.
  uint32_t generation_id = 0;
};

struct RenderResult {
  std::filesystem::path output;
  int64_t frames = 0;
  double duration_s = 0;
  media::FrameSize size;
  media::FrameRate fps;
  bool partial = false;         // deliver_partial left something out
  int64_t windows_sampled = 0;  // sampled by this run
  int64_t windows_reused = 0;   // taken from the job folder
  // load, text, condition (VAE-encoding keyframes, overlaps and source clips), sample, decode,
  // interpolate, upscale, encode.
  std::map<std::string, double> stage_seconds;
  std::filesystem::path job_dir;     // empty when it was removed
  std::filesystem::path provenance;  // the signed sidecar beside the output
  uint32_t install_id = 0;           // the watermark's payload
  uint32_t generation_id = 0;
};

// Where render jobs record their moderation verdicts: user_data_dir()/moderation-audit.jsonl.
std::filesystem::path moderation_audit_log_path();

// Draws the visible "AI · ReelForge" badge into the bottom-right corner of an RGB frame, blended
// at about 60% opacity and sized to the frame's height.
void draw_visible_watermark(cv::Mat& rgb);

// `.<output file name>.job` beside the output.
std::filesystem::path default_job_dir(const std::filesystem::path& output);

class RenderJob {
 public:
  explicit RenderJob(RenderRequest request);
  // Reopens a stopped job from its folder: the storyboard, base folder, output and options are
  // read from its job.json. Error(NotFound) when it holds none, Error(Format) when unreadable.
  static RenderJob resume(const std::filesystem::path& job_dir);

  // Runs the job on the calling thread. On failure or cancellation (Error(Cancelled)) no output
  // file exists and the job folder keeps what was sampled. A job can be run again after that.
  RenderResult run(const RenderProgressCallback& progress = {},
                   const CancellationToken& cancel = CancellationToken());

  RenderRequest& request() { return request_; }
  const RenderRequest& request() const { return request_; }
  std::filesystem::path job_dir() const;

 private:
  RenderRequest request_;
};

// Metadata JSON written into every output (the `reelforge` tag): generator, version,
// "ai_generated", the model, the seeds and settings (the plan) and the storyboard.
std::string render_metadata_json(const RenderPlan& plan, const models::ModelManifest& model,
                                 const storyboard::Storyboard& storyboard);

}  // namespace reelforge::pipeline
