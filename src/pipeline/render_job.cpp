#include "reelforge/pipeline/render_job.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>

#include "job_store.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/core/hash.hpp"
#include "reelforge/core/paths.hpp"
#include "reelforge/core/stopwatch.hpp"
#include "reelforge/media/image.hpp"
#include "reelforge/media/interpolate.hpp"
#include "reelforge/media/transition.hpp"
#include "reelforge/media/upscale.hpp"
#include "reelforge/media/video_reader.hpp"
#include "reelforge/media/video_writer.hpp"
#include "reelforge/models/registry.hpp"
#include "reelforge/pipeline/generator.hpp"
#include "reelforge/safety/moderation.hpp"
#include "reelforge/safety/provenance.hpp"
#include "reelforge/safety/watermark.hpp"
#include "reelforge/sampling/guidance.hpp"
#include "reelforge/storyboard/io.hpp"
#include "reelforge/storyboard/validation.hpp"
#include "reelforge/version.hpp"

namespace reelforge::pipeline {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Rates measured as the job runs, for the overall fraction and the ETA. Until a stage has been
// timed its cost is guessed from the sampling step time.
class Tracker {
 public:
  Tracker(int64_t steps, int64_t windows, int64_t frames)
      : steps_total_(steps), windows_total_(windows), frames_total_(frames) {}

  void step_done(double seconds) { add(step_s_, steps_timed_, seconds), ++steps_done_; }
  void steps_skipped(int64_t n) { steps_total_ -= n; }
  void window_decoded(double seconds) { add(decode_s_, windows_timed_, seconds), ++windows_done_; }
  void frame_done(double seconds) { add(frame_s_, frames_timed_, seconds), ++frames_done_; }
  void set_frames_total(int64_t frames) { frames_total_ = frames; }

  double remaining_s() const {
    const double step = step_s_ > 0 ? step_s_ : 0;
    const double decode = decode_s_ > 0 ? decode_s_ : 2 * step;
    const double frame = frame_s_ > 0 ? frame_s_ : 0.05;
    return std::max<int64_t>(0, steps_total_ - steps_done_) * step +
           std::max<int64_t>(0, windows_total_ - windows_done_) * decode +
           std::max<int64_t>(0, frames_total_ - frames_done_) * frame;
  }
  double eta_s() const { return step_s_ > 0 || frame_s_ > 0 ? remaining_s() : -1; }
  double fraction(double elapsed_s) const {
    const double left = remaining_s();
    if (step_s_ <= 0 && frame_s_ <= 0) return 0;
    return std::clamp(elapsed_s / (elapsed_s + left), 0.0, 1.0);
  }

 private:
  static void add(double& average, int64_t& n, double seconds) {
    average = (average * n + seconds) / (n + 1);
    ++n;
  }
  int64_t steps_total_, windows_total_, frames_total_;
  int64_t steps_done_ = 0, windows_done_ = 0, frames_done_ = 0;
  int64_t steps_timed_ = 0, windows_timed_ = 0, frames_timed_ = 0;
  double step_s_ = -1, decode_s_ = -1, frame_s_ = -1;
};

nlohmann::json options_to_json(const RenderOptions& o) {
  nlohmann::json s = nlohmann::json::object();
  if (o.sampling.steps) s["steps"] = *o.sampling.steps;
  if (o.sampling.guidance) s["guidance"] = *o.sampling.guidance;
  if (o.sampling.shift) s["shift"] = *o.sampling.shift;
  if (o.sampling.solver) s["solver"] = sampling::to_string(*o.sampling.solver);
  return {{"sampling", s},
          {"window_overlap_frames", o.window_overlap_frames},
          {"interpolation", media::to_string(o.interpolation)},
          {"sharpen_amount", o.sharpen_amount},
          {"crf", o.crf},
          {"encoder_preset", o.encoder_preset},
          {"preview_every_steps", o.preview_every_steps}};
}

RenderOptions options_from_json(const nlohmann::json& j) {
  RenderOptions o;
  const nlohmann::json& s = j.at("sampling");
  if (s.contains("steps")) o.sampling.steps = s.at("steps").get<int>();
  if (s.contains("guidance")) o.sampling.guidance = s.at("guidance").get<double>();
  if (s.contains("shift")) o.sampling.shift = s.at("shift").get<double>();
  if (s.contains("solver")) {
    o.sampling.solver = sampling::parse_solver_kind(s.at("solver").get<std::string>());
  }
  o.window_overlap_frames = j.at("window_overlap_frames").get<int>();
  o.interpolation = media::parse_interpolation_method(j.at("interpolation").get<std::string>());
  o.sharpen_amount = j.at("sharpen_amount").get<double>();
  o.crf = j.at("crf").get<int>();
  o.encoder_preset = j.at("encoder_preset").get<std::string>();
  o.preview_every_steps = j.at("preview_every_steps").get<int>();
  return o;
}

std::string shot_label(const ShotPlan& shot) {
  return "shot " + std::to_string(shot.index + 1) + " (\"" + shot.id + "\")";
}

// Rethrows `e` with the shot named in front of its message.
[[noreturn]] void rethrow_for_shot(const Error& e, const ShotPlan& shot, const std::string& what) {
  throw Error(e.category(), shot_label(shot) + ": " + what + ": " + e.message(), e.context());
}

// What every output frame gets last, so that no later step weakens it: the optional visible
// badge, then the invisible watermark.
struct FrameMarking {
  safety::WatermarkPayload payload;
  bool visible = false;
};

// Writes output frames: crossfades shots into each other, upscales, marks and encodes. The last
// frames of a shot that the next one fades in over are held back until that shot arrives.
class ClipWriter {
 public:
  using FrameSink = std::function<void(const cv::Mat& rgb, int64_t index)>;
  ClipWriter(media::VideoWriter& writer, media::FrameSize size, double sharpen_amount,
             FrameMarking marking, std::map<std::string, double>& seconds, Tracker& tracker,
             FrameSink sink)
      : writer_(writer),
        upscaler_(size, make_options(sharpen_amount)),
        embedder_(safety::kWatermarkKey),
        marking_(marking),
        seconds_(seconds),
        tracker_(tracker),
        sink_(std::move(sink)) {}

  // `frames` at the output fps (native size); the first `fade_in` fade over the held frames of
  // the previous shot; the last `hold` are kept for the next shot's fade.
  void add_shot(std::vector<cv::Mat> frames, int64_t fade_in, int64_t hold,
                const CancellationToken& cancel) {
    fade_in = std::min<int64_t>(
        {fade_in, static_cast<int64_t>(held_.size()), static_cast<int64_t>(frames.size())});
    for (int64_t i = 0; i < static_cast<int64_t>(held_.size()) - fade_in; ++i) {
      write(held_[i], cancel);  // held frames nothing fades over (a shorter next shot)
    }
    const std::vector<cv::Mat> faded = media::crossfade_frames(
        {held_.end() - fade_in, held_.end()}, {frames.begin(), frames.begin() + fade_in});
    for (const cv::Mat& f : faded) write(f, cancel);
    held_.clear();
    const int64_t n = static_cast<int64_t>(frames.size());
    hold = std::clamp<int64_t>(hold, 0, n - fade_in);
    for (int64_t i = fade_in; i < n - hold; ++i) write(frames[i], cancel);
    for (int64_t i = n - hold; i < n; ++i) held_.push_back(std::move(frames[i]));
  }

  void flush(const CancellationToken& cancel) {
    for (const cv::Mat& f : held_) write(f, cancel);
    held_.clear();
  }

 private:
  static media::UpscaleOptions make_options(double sharpen_amount) {
    media::UpscaleOptions o;
    o.sharpen_amount = sharpen_amount;
    return o;
  }

  void write(const cv::Mat& frame, const CancellationToken& cancel) {
    cancel.throw_if_cancelled("encoding");
    const Clock::time_point start = Clock::now();
    if (frame.cols != upscaler_.size().width_px || frame.rows != upscaler_.size().height_px) {
      upscaler_.run(frame, out_);
    } else {
      frame.copyTo(out_);  // the held and faded frames stay unmarked
    }
    const double upscale_s = seconds_since(start);
    seconds_["upscale"] += upscale_s;
    const Clock::time_point mark_start = Clock::now();
    if (marking_.visible) draw_visible_watermark(out_);
    // Frames too small to carry the mark (native-size drafts of toy models) are only signed.
    if (out_.cols >= safety::kWatermarkMinWidth && out_.rows >= safety::kWatermarkMinHeight) {
      embedder_.embed(out_, marking_.payload);
    }
    const double mark_s = seconds_since(mark_start);
    seconds_["watermark"] += mark_s;
    if (sink_) sink_(out_, writer_.frames_written());
    const Clock::time_point encode_start = Clock::now();
    writer_.write(out_);
    const double encode_s = seconds_since(encode_start);
    seconds_["encode"] += encode_s;
    tracker_.frame_done(upscale_s + mark_s + encode_s);
  }

  media::VideoWriter& writer_;
  media::Upscaler upscaler_;
  safety::WatermarkEmbedder embedder_;
  FrameMarking marking_;
  cv::Mat out_;
  std::map<std::string, double>& seconds_;
  Tracker& tracker_;
  FrameSink sink_;
  std::vector<cv::Mat> held_;
};

// One run of a job: everything that lives only while it renders.
class Renderer {
 public:
  Renderer(const RenderRequest& request, const RenderProgressCallback& progress,
           const CancellationToken& cancel)
      : request_(request), progress_(progress), cancel_(cancel), started_(Clock::now()) {}

  RenderResult run() {
    RenderResult result;
    result.stage_seconds = {{"load", 0},    {"text", 0},      {"condition", 0},
                            {"sample", 0},  {"decode", 0},    {"interpolate", 0},
                            {"upscale", 0}, {"watermark", 0}, {"encode", 0}};
    seconds_ = &result.stage_seconds;
    const storyboard::Storyboard& sb = request_.storyboard;

    // Before anything heavy: a blocked prompt must cost nothing and produce nothing.
    moderate_prompts();
    const safety::InstallIdentity identity = safety::InstallIdentity::load_or_create();
    generation_id_ = request_.generation_id ? request_.generation_id : safety::new_generation_id();
    const FrameMarking marking{{identity.install_id(), generation_id_}, request_.visible_watermark};

    // The model first: the storyboard is checked against its tokenizer and capabilities.
    Clock::time_point start = Clock::now();
    runtime_ = request_.model;
    if (!runtime_) {
      emit("load", 0, 1, "loading model '" + sb.project.model + "'");
      const models::ModelManifest manifest = request_.model_dir.empty()
                                                 ? models::find_model(sb.project.model)
                                                 : models::ModelManifest::load(request_.model_dir);
      runtime_ = ModelRuntime::load(manifest, request_.runtime, cancel_);
    }
    (*seconds_)["load"] += seconds_since(start);
    const models::ModelManifest& manifest = runtime_->manifest();

    storyboard::ValidationOptions validation;
    validation.max_prompt_tokens = static_cast<size_t>(runtime_->max_prompt_tokens());
    const ModelRuntime* rt = runtime_.get();
    validation.count_tokens = [rt](std::string_view text) {
      return static_cast<size_t>(rt->count_tokens(text));
    };
    storyboard::throw_if_issues(storyboard::validate(sb, request_.base_dir, validation),
                                "storyboard");
    plan_ = plan_render(sb, request_.base_dir, manifest, request_.options);

    const fs::path job_dir =
        request_.job_dir.empty() ? default_job_dir(request_.output) : request_.job_dir;
    store_.emplace(job_dir, fingerprint(manifest));
    store_->write_job(job_json(manifest));
    result.job_dir = job_dir;

    tracker_.emplace(plan_.total_sampling_steps(), plan_.window_count(), plan_.output_frames);
    encode_prompts();

    media::VideoWriterOptions writer_options;
    writer_options.size = plan_.output_size;
    writer_options.fps = plan_.output_fps;
    writer_options.crf = request_.options.crf;
    writer_options.preset = request_.options.encoder_preset;
    writer_options.metadata.title = sb.title;
    writer_options.metadata.comment = std::string("AI-generated with ") + kGeneratorName + " " +
                                      kVersion + " (model " + manifest.name + ")";
    writer_options.metadata.creation_time = std::chrono::system_clock::now();
    writer_options.metadata.reelforge_json = render_metadata_json(plan_, manifest, sb);
    writer_options.cancel = cancel_;
    media::VideoWriter writer(request_.output, writer_options);
    ClipWriter clip(writer, plan_.output_size, request_.options.sharpen_amount, marking, *seconds_,
                    *tracker_, request_.frame_sink);

    for (size_t i = 0; i < plan_.shots.size(); ++i) {
      const ShotPlan& shot = plan_.shots[i];
      std::vector<cv::Mat> native = shot_frames(shot, result);
      if (native.empty()) {  // deliver_partial: nothing of this shot was sampled
        result.partial = true;
        break;
      }
      int64_t output_frames = shot.output_frames;
      const bool complete = static_cast<int64_t>(native.size()) >= shot.native_frames;
      if (!complete) {  // deliver_partial: the windows that were sampled
        output_frames = std::min<int64_t>(
            output_frames,
            static_cast<int64_t>(std::floor(
                (native.size() - 1) * plan_.output_fps.value() / plan_.native_fps + 1e-6)) +
                1);
        result.partial = true;
      }
      emit("post", 0, output_frames,
           "converting " + shot_label(shot) + " to " + plan_.output_fps.to_string() + " fps",
           &shot);
      start = Clock::now();
      std::vector<cv::Mat> frames =
          media::retime(native, plan_.native_fps, plan_.output_fps.value(), output_frames,
                        request_.options.interpolation);
      (*seconds_)["interpolate"] += seconds_since(start);
      native.clear();
      const bool last = !complete || i + 1 == plan_.shots.size();
      const int64_t hold = last ? 0 : plan_.shots[i + 1].crossfade_frames;
      emit("encode", 0, output_frames, "encoding " + shot_label(shot), &shot);
      clip.add_shot(std::move(frames), shot.crossfade_frames, hold, cancel_);
      if (!complete) break;
    }
    clip.flush(cancel_);
    if (writer.frames_written() == 0) {
      throw Error(ErrorCategory::NotFound,
                  "the job has no finished window to deliver yet; resume it without --partial",
                  store_->dir().string());
    }
    start = Clock::now();
    writer.finish();  // the encoder's look-ahead frames are encoded here
    (*seconds_)["encode"] += seconds_since(start);
    try {
      result.provenance = write_provenance(manifest, identity, marking.payload, result.partial);
    } catch (...) {
      // An unsigned clip is not a finished render: nothing stays under the final name.
      std::error_code ec;
      fs::remove(request_.output, ec);
      throw;
    }
    result.install_id = marking.payload.install_id;
    result.generation_id = marking.payload.generation_id;

    result.output = request_.output;
    result.frames = writer.frames_written();
    result.fps = plan_.output_fps;
    result.duration_s = result.frames / plan_.output_fps.value();
    result.size = plan_.output_size;
    if (!request_.keep_job && !result.partial) {
      store_->remove();
      result.job_dir.clear();
    }
    emit("done", 1, 1, "wrote " + request_.output.string());
    return result;
  }

 private:
  // Every shot's prompt against the policy, each verdict audited; the first block stops the job.
  void moderate_prompts() const {
    const fs::path policy_path = request_.moderation_policy.empty()
                                     ? safety::ModerationPolicy::default_path()
                                     : request_.moderation_policy;
    const safety::ModerationPolicy policy = safety::ModerationPolicy::load(policy_path);
    safety::AuditLog audit(moderation_audit_log_path());
    const std::vector<storyboard::Shot>& shots = request_.storyboard.shots;
    for (size_t i = 0; i < shots.size(); ++i) {
      const safety::Verdict verdict = safety::moderate(policy, shots[i].prompt);
      audit.record(verdict, shots[i].prompt, shots[i].id);
      if (verdict.blocked()) {
        throw Error(
            ErrorCategory::Validation,
            "shot " + std::to_string(i + 1) + " (\"" + shots[i].id +
                "\"): the prompt is blocked by the moderation policy: " + verdict.description +
                " (category " + verdict.category + "); nothing was generated",
            policy_path.string());
      }
    }
  }

  // Signs what was made and writes the sidecar beside the finished clip.
  fs::path write_provenance(const models::ModelManifest& model,
                            const safety::InstallIdentity& identity,
                            const safety::WatermarkPayload& payload, bool partial) const {
    safety::ProvenanceManifest m;
    m.content_sha256 = safety::sha256_file_hex(request_.output);
    m.created = safety::utc_now_iso8601();
    m.generator = kGeneratorName;
    m.generator_version = kVersion;
    m.model_name = model.name;
    m.model_hash = safety::model_hash(model.dir);
    m.seed = request_.storyboard.project.seed;
    m.storyboard_sha256 = safety::sha256_hex(storyboard::to_json_text(request_.storyboard));
    std::map<fs::path, std::string> hashed;
    auto input = [&](const char* kind, const ShotPlan& shot, const fs::path& file) {
      auto it = hashed.find(file);
      if (it == hashed.end()) it = hashed.emplace(file, safety::sha256_file_hex(file)).first;
      m.inputs.push_back({kind, shot.id, file.filename().string(), it->second});
    };
    for (const ShotPlan& shot : plan_.shots) {
      safety::ProvenancePrompt p{shot.id, shot.prompt, {}};
      for (const WindowPlan& w : shot.windows) p.seeds.push_back(w.seed);
      m.prompts.push_back(std::move(p));
      if (shot.keyframe) input("keyframe", shot, *shot.keyframe);
      if (shot.source_video) input("source_video", shot, *shot.source_video);
    }
    m.generation_id = payload.generation_id;
    m.partial = partial;
    m.sign(identity);
    const fs::path path = safety::provenance_path(request_.output);
    m.write(path);
    return path;
  }

  std::string fingerprint(const models::ModelManifest& manifest) const {
    const nlohmann::json key = {{"plan", plan_.to_json()},
                                {"model", manifest.name},
                                {"variant", manifest.variant},
                                {"model_dir", manifest.dir.string()},
                                {"device", runtime_->device().str()},
                                {"dtype", c10::toString(runtime_->dit().compute_dtype())},
                                {"version", kVersion}};
    return hex(fnv1a64(key.dump()));
  }

  nlohmann::json job_json(const models::ModelManifest& manifest) const {
    return {{"storyboard", nlohmann::json::parse(storyboard::to_json_text(request_.storyboard))},
            {"base_dir", fs::absolute(request_.base_dir).string()},
            {"output", fs::absolute(request_.output).string()},
            {"model", manifest.name},
            {"model_dir", fs::absolute(manifest.dir).string()},
            {"options", options_to_json(request_.options)},
            {"runtime",
             {{"device", to_string(request_.runtime.device)},
              {"dtype", to_string(request_.runtime.dtype)},
              {"memory", to_string(request_.runtime.memory)}}},
            {"keep_job", request_.keep_job},
            {"safety",
             {{"moderation_policy", request_.moderation_policy.string()},
              {"visible_watermark", request_.visible_watermark},
              {"generation_id", generation_id_}}},
            {"plan", plan_.to_json()}};
  }

  void emit(const std::string& stage, int64_t step, int64_t total, const std::string& message,
            const ShotPlan* shot = nullptr, int window = -1, cv::Mat preview = cv::Mat()) {
    if (stage != "done") cancel_.throw_if_cancelled("rendering");
    if (!progress_) return;
    RenderProgress p;
    p.stage = stage;
    p.step = step;
    p.total = total;
    p.shot_count = static_cast<int>(plan_.shots.size());
    if (shot) {
      p.shot = static_cast<int>(shot->index);
      p.shot_id = shot->id;
      p.window_count = static_cast<int>(shot->windows.size());
    }
    p.window = window;
    if (tracker_) {
      // Never backwards: a stage slower than estimated lowers the rate, not the bar.
      fraction_ = std::max(fraction_, tracker_->fraction(seconds_since(started_)));
      p.fraction = stage == "done" ? 1.0 : fraction_;
      p.eta_s = stage == "done" ? 0.0 : tracker_->eta_s();
    }
    p.preview = std::move(preview);
    p.message = message;
    progress_(p);
  }

  void encode_prompts() {
    const Clock::time_point start = Clock::now();
    std::vector<std::string> prompts;
    const bool guided = sampling::needs_unconditional_pass(plan_.sampling.guidance);
    for (const ShotPlan& s : plan_.shots) {
      prompts.push_back(s.prompt);
      if (guided) prompts.push_back(s.negative_prompt);
    }
    std::map<std::string, at::Tensor> saved = store_->load_texts();
    for (const auto& [prompt, context] : saved) runtime_->cache_text(prompt, context);
    emit("text", 0, static_cast<int64_t>(prompts.size()), "encoding prompts");
    const std::vector<at::Tensor> contexts = runtime_->encode_text(prompts, cancel_);
    for (size_t i = 0; i < prompts.size(); ++i) contexts_[prompts[i]] = contexts[i];
    if (contexts_.size() != saved.size()) store_->save_texts(contexts_);
    if (runtime_->memory_mode() == MemoryMode::Low) runtime_->release_text_encoder();
    emit("text", static_cast<int64_t>(prompts.size()), static_cast<int64_t>(prompts.size()),
         "prompts encoded");
    (*seconds_)["text"] += seconds_since(start);
  }

  cv::Mat load_keyframe(const ShotPlan& shot) const {
    try {
      return media::reframe(media::load_image(*shot.keyframe), plan_.native_size, media::Fit::Fill);
    } catch (const Error& e) {
      rethrow_for_shot(e, shot, "keyframe");
    }
  }

  // The source clip at the native fps and size, `count` frames (the last one repeated when the
  // clip is shorter).
  std::vector<cv::Mat> load_source(const ShotPlan& shot, int64_t count) const {
    std::vector<cv::Mat> frames;
    try {
      media::VideoReaderOptions options;
      options.fps = media::FrameRate::from_double(plan_.native_fps);
      options.size = plan_.native_size;
      options.fit = media::Fit::Fill;
      media::VideoReader reader(*shot.source_video, options);
      cv::Mat frame;
      while (static_cast<int64_t>(frames.size()) < count && reader.read(frame)) {
        frames.push_back(frame.clone());
      }
    } catch (const Error& e) {
      rethrow_for_shot(e, shot, "source video");
    }
    if (frames.empty()) {
      throw Error(ErrorCategory::Format, shot_label(shot) + ": the source video has no frames",
                  shot.source_video->string());
    }
    if (static_cast<int64_t>(frames.size()) < count) {
      spdlog::warn(
          "{}: the source video gives {} of the {} frames the shot needs; holding its "
          "last frame",
          shot_label(shot), frames.size(), count);
      while (static_cast<int64_t>(frames.size()) < count) frames.push_back(frames.back());
    }
    return frames;
  }

  // The shot's frames at the native fps: window by window, each saved before it is decoded and
  // cross-faded over the overlap with the one before. Empty when deliver_partial finds nothing.
  std::vector<cv::Mat> shot_frames(const ShotPlan& shot, RenderResult& result) {
    const bool images = runtime_->conditions_on_images();
    const ConditioningMethod method =
        images ? ConditioningMethod::CleanTokens : ConditioningMethod::Replacement;
    std::optional<cv::Mat> keyframe;
    if (shot.keyframe) keyframe = load_keyframe(shot);
    std::vector<cv::Mat> source;
    if (shot.source_video) source = load_source(shot, frames_produced(shot.windows));

    std::vector<cv::Mat> frames;
    for (const WindowPlan& w : shot.windows) {
      std::optional<at::Tensor> latent = store_->load_window(shot.index, shot.id, w.index);
      if (latent) {
        ++result.windows_reused;
        tracker_->steps_skipped(shot.sampling_steps(plan_.sampling) /
                                static_cast<int64_t>(shot.windows.size()));
      } else if (request_.deliver_partial) {
        break;
      } else {
        latent = sample(shot, w, method, keyframe, source, frames);
        store_->save_window(shot.index, shot.id, w.index, *latent);
        ++result.windows_sampled;
      }
      emit("decode", 0, w.frame_count, "decoding " + shot_label(shot), &shot, w.index);
      const Clock::time_point start = Clock::now();
      std::vector<cv::Mat> decoded =
          decode_latent(*runtime_, latent->to(runtime_->device()), &cancel_);
      const double decode_s = seconds_since(start);
      (*seconds_)["decode"] += decode_s;
      tracker_->window_decoded(decode_s);
      if (w.index == 0) {
        frames = std::move(decoded);
      } else {
        // The new window began from the overlap: fade from the old frames to the new ones.
        const int64_t o = w.overlap_frames;
        const auto old_first = frames.begin() + w.first_frame;
        const std::vector<cv::Mat> faded = media::crossfade_frames(
            {old_first, old_first + o}, {decoded.begin(), decoded.begin() + o});
        std::copy(faded.begin(), faded.end(), old_first);
        for (size_t i = static_cast<size_t>(o); i < decoded.size(); ++i) {
          frames.push_back(std::move(decoded[i]));
        }
      }
    }
    if (static_cast<int64_t>(frames.size()) > shot.native_frames) {
      frames.resize(static_cast<size_t>(shot.native_frames));
    }
    last_frame_ = frames.empty() ? cv::Mat() : frames.back().clone();
    return frames;
  }

  at::Tensor sample(const ShotPlan& shot, const WindowPlan& w, ConditioningMethod method,
                    const std::optional<cv::Mat>& keyframe, const std::vector<cv::Mat>& source,
                    const std::vector<cv::Mat>& frames_so_far) {
    WindowRequest req;
    const bool guided = sampling::needs_unconditional_pass(plan_.sampling.guidance);
    req.context = contexts_.at(shot.prompt);
    if (guided) req.negative_context = contexts_.at(shot.negative_prompt);
    req.frame_count = w.frame_count;
    req.size = plan_.native_size;
    req.sampling = plan_.sampling;
    req.seed = w.seed;
    req.method = method;
    const int64_t latent_frames = latent_shape(*runtime_, w.frame_count, req.size)[1];
    const Clock::time_point condition_start = Clock::now();
    try {
      if (w.index == 0) {
        if (keyframe && shot.keyframe_at == storyboard::KeyframeAt::First) {
          req.conditions.push_back({encode_frames(*runtime_, {*keyframe}, &cancel_), 0});
        } else if (shot.continuity == storyboard::Continuity::Continue && !last_frame_.empty()) {
          req.conditions.push_back({encode_frames(*runtime_, {last_frame_}, &cancel_), 0});
        }
      } else {
        const std::vector<cv::Mat> overlap(
            frames_so_far.begin() + w.first_frame,
            frames_so_far.begin() + w.first_frame + w.overlap_frames);
        req.conditions.push_back({encode_frames(*runtime_, overlap, &cancel_), 0});
      }
      const bool last_window = w.index + 1 == static_cast<int>(shot.windows.size());
      if (keyframe && shot.keyframe_at == storyboard::KeyframeAt::Last && last_window) {
        if (latent_frames < 2 && !req.conditions.empty()) {
          throw Error(ErrorCategory::InvalidArgument,
                      "the shot is too short for a last-frame keyframe after its first frame");
        }
        // The last latent frame stands for 4 frames decoded in the context of the ones before,
        // so it is taken from the still held for 1 + 4 frames, not from the still alone.
        const std::vector<cv::Mat> held(
            static_cast<size_t>(runtime_->vae().config().temporal_stride() + 1), *keyframe);
        req.conditions.push_back(
            {encode_frames(*runtime_, held, &cancel_).narrow(1, 1, 1), latent_frames - 1});
      }
      if (!source.empty()) {
        const std::vector<cv::Mat> span(source.begin() + w.first_frame,
                                        source.begin() + w.first_frame + w.frame_count);
        req.source_latent = encode_frames(*runtime_, span, &cancel_);
        req.strength = shot.strength;
      }
    } catch (const Error& e) {
      if (e.category() == ErrorCategory::Cancelled) throw;
      rethrow_for_shot(e, shot, "conditioning");
    }
    (*seconds_)["condition"] += seconds_since(condition_start);

    WindowCallbacks callbacks;
    callbacks.cancel = &cancel_;
    callbacks.preview_every_steps = progress_ ? request_.options.preview_every_steps : 0;
    const std::string what = shot_label(shot) + ", window " + std::to_string(w.index + 1) + "/" +
                             std::to_string(shot.windows.size());
    Clock::time_point step_start = Clock::now();
    int last_step = 0, last_total = 0;
    callbacks.on_step = [&](int step, int total) {
      const double s = seconds_since(step_start);
      tracker_->step_done(s);
      (*seconds_)["sample"] += s;
      step_start = Clock::now();
      last_step = step;
      last_total = total;
      const int every = callbacks.preview_every_steps;
      const bool preview_follows = every > 0 && (step % every == 0 || step == total);
      if (!preview_follows) emit("sample", step, total, what, &shot, w.index);
    };
    if (callbacks.preview_every_steps > 0) {
      callbacks.on_preview = [&](const cv::Mat& rgb) {
        emit("sample", last_step, last_total, what, &shot, w.index, rgb);
      };
    }
    emit("sample", 0, shot.sampling_steps(plan_.sampling) / int64_t(shot.windows.size()), what,
         &shot, w.index);
    return sample_window(*runtime_, req, callbacks);
  }

  const RenderRequest& request_;
  const RenderProgressCallback& progress_;
  const CancellationToken& cancel_;
  Clock::time_point started_;
  std::shared_ptr<ModelRuntime> runtime_;
  RenderPlan plan_;
  std::optional<JobStore> store_;
  std::optional<Tracker> tracker_;
  std::map<std::string, at::Tensor> contexts_;
  std::map<std::string, double>* seconds_ = nullptr;
  cv::Mat last_frame_;  // the previous shot's last native frame (continuity)
  uint32_t generation_id_ = 0;
  double fraction_ = 0;
};

}  // namespace

fs::path moderation_audit_log_path() {
  return user_data_dir() / "moderation-audit.jsonl";
}

void draw_visible_watermark(cv::Mat& rgb) {
  RF_CHECK(rgb.type() == CV_8UC3, "the badge goes on RGB frames");
  // Hershey fonts have no middle dot, so the badge is drawn as "AI", a dot, "ReelForge".
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  const double scale = std::max(0.25, rgb.rows / 1080.0 * 1.1);
  const int thickness = std::max(1, static_cast<int>(std::lround(2 * scale)));
  int baseline = 0;
  const cv::Size ai = cv::getTextSize("AI", font, scale, thickness, &baseline);
  const cv::Size rf = cv::getTextSize("ReelForge", font, scale, thickness, &baseline);
  const int gap = std::max(3, ai.height / 2);
  const int pad = std::max(2, ai.height / 2);
  const int text_w = ai.width + 2 * gap + rf.width;
  const int box_w = text_w + 2 * pad, box_h = ai.height + baseline + 2 * pad;
  const int margin = std::max(2, rgb.rows / 40);
  const cv::Rect box(rgb.cols - box_w - margin, rgb.rows - box_h - margin, box_w, box_h);
  const cv::Rect clipped = box & cv::Rect(0, 0, rgb.cols, rgb.rows);
  if (clipped.area() == 0) return;
  cv::Mat overlay = rgb.clone();
  cv::rectangle(overlay, box, cv::Scalar(0, 0, 0), cv::FILLED);
  const int y = box.y + pad + ai.height;
  const cv::Scalar white(255, 255, 255);
  cv::putText(overlay, "AI", {box.x + pad, y}, font, scale, white, thickness, cv::LINE_AA);
  cv::circle(overlay, {box.x + pad + ai.width + gap, y - ai.height / 2}, std::max(1, thickness),
             white, cv::FILLED, cv::LINE_AA);
  cv::putText(overlay, "ReelForge", {box.x + pad + ai.width + 2 * gap, y}, font, scale, white,
              thickness, cv::LINE_AA);
  cv::addWeighted(overlay(clipped), 0.6, rgb(clipped), 0.4, 0, rgb(clipped));
}

fs::path default_job_dir(const fs::path& output) {
  const fs::path absolute = fs::absolute(output);
  return absolute.parent_path() / ("." + absolute.filename().string() + ".job");
}

RenderJob::RenderJob(RenderRequest request) : request_(std::move(request)) {
  if (request_.output.empty()) {
    throw Error(ErrorCategory::InvalidArgument, "no output file given for the render");
  }
}

RenderJob RenderJob::resume(const fs::path& job_dir) {
  const nlohmann::json job = JobStore::read_job(job_dir);
  RenderRequest request;
  try {
    request.base_dir = job.at("base_dir").get<std::string>();
    storyboard::LoadOptions load;
    load.validation.media = storyboard::MediaChecks::None;
    request.storyboard = storyboard::parse(job.at("storyboard").dump(), request.base_dir, load);
    request.output = job.at("output").get<std::string>();
    request.options = options_from_json(job.at("options"));
    const nlohmann::json& rt = job.at("runtime");
    request.runtime.device = parse_device(rt.at("device").get<std::string>());
    request.runtime.dtype = parse_compute_dtype(rt.at("dtype").get<std::string>());
    request.runtime.memory = parse_memory_mode(rt.at("memory").get<std::string>());
    request.keep_job = job.value("keep_job", false);
    if (job.contains("safety")) {
      const nlohmann::json& safety = job.at("safety");
      request.moderation_policy = safety.value("moderation_policy", "");
      request.visible_watermark = safety.value("visible_watermark", false);
      request.generation_id = safety.value("generation_id", uint32_t{0});
    }
    // The model as it was found when the job started, if its folder is still there.
    const std::string model_dir = job.value("model_dir", "");
    std::error_code ec;
    if (!model_dir.empty() && fs::exists(fs::path(model_dir) / "model.json", ec)) {
      request.model_dir = model_dir;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCategory::Format, std::string("job.json is incomplete: ") + e.what(),
                (job_dir / "job.json").string());
  }
  request.job_dir = job_dir;
  return RenderJob(std::move(request));
}

fs::path RenderJob::job_dir() const {
  return request_.job_dir.empty() ? default_job_dir(request_.output) : request_.job_dir;
}

RenderResult RenderJob::run(const RenderProgressCallback& progress,
                            const CancellationToken& cancel) {
  c10::InferenceMode guard;
  Renderer renderer(request_, progress, cancel);
  return renderer.run();
}

std::string render_metadata_json(const RenderPlan& plan, const models::ModelManifest& model,
                                 const storyboard::Storyboard& sb) {
  nlohmann::json model_json = {
      {"name", model.name}, {"variant", model.variant}, {"family", model.family}};
  std::error_code ec;
  if (!model.dir.empty() && fs::exists(model.dir / "model.json", ec)) {
    model_json["hash"] = safety::model_hash(model.dir);  // as in the signed sidecar
  }
  const nlohmann::json j = {
      {"generator", kGeneratorName},
      {"version", kVersion},
      {"ai_generated", true},
      {"model", model_json},
      {"seed", sb.project.seed},
      {"plan", plan.to_json()},
      {"storyboard", nlohmann::json::parse(storyboard::to_json_text(sb))}};
  return j.dump();
}

}  // namespace reelforge::pipeline
