#include "reelforge/pipeline/generator.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cstring>
#include <opencv2/core.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/models/latent_geometry.hpp"
#include "reelforge/sampling/guidance.hpp"
#include "reelforge/sampling/noise.hpp"
#include "reelforge/sampling/scheduler.hpp"

namespace reelforge::pipeline {

const char* to_string(ConditioningMethod method) {
  return method == ConditioningMethod::CleanTokens ? "clean-tokens" : "replacement";
}

std::vector<int64_t> latent_shape(const ModelRuntime& runtime, int64_t frame_count,
                                  media::FrameSize size) {
  const models::WanVAEConfig& vae = runtime.vae().config();
  const models::WanDiTConfig& dit = runtime.dit().config();
  models::validate_frame_count(frame_count, vae.temporal_stride());
  models::validate_pixel_size(size.width_px, size.height_px, vae.spatial_stride(),
                              dit.patch_size[1]);
  return {vae.z_dim, 1 + (frame_count - 1) / vae.temporal_stride(),
          size.height_px / vae.spatial_stride(), size.width_px / vae.spatial_stride()};
}

at::Tensor sample_window(const ModelRuntime& runtime, const WindowRequest& request,
                         const WindowCallbacks& callbacks) {
  c10::InferenceMode guard;
  const models::WanDiT& dit = runtime.dit();
  const at::Device device = runtime.device();
  const std::vector<int64_t> shape = latent_shape(runtime, request.frame_count, request.size);
  const int64_t latent_frames = shape[1];
  if (!request.context.defined()) {
    throw Error(ErrorCategory::InvalidArgument, "sample_window: no text context");
  }
  const bool guided = sampling::needs_unconditional_pass(request.sampling.guidance);
  if (guided && !request.negative_context.defined()) {
    throw Error(ErrorCategory::InvalidArgument,
                "sample_window: guidance needs a negative (unconditional) context");
  }

  auto scheduler = sampling::make_scheduler(
      {request.sampling.solver, request.sampling.steps, request.sampling.shift});
  const at::Tensor noise = sampling::make_noise(shape, request.seed, at::kFloat, device);

  // keep[f] = 1 where the sampler generates, 0 on known latent frames: [1, F, 1, 1].
  at::Tensor keep = at::ones({1, latent_frames, 1, 1}, at::TensorOptions(device));
  at::Tensor known = at::zeros(shape, at::TensorOptions(device));
  for (const LatentCondition& c : request.conditions) {
    const int64_t n = c.latent.dim() == 4 ? c.latent.size(1) : 0;
    if (n == 0 || c.latent.size(0) != shape[0] || c.latent.size(2) != shape[2] ||
        c.latent.size(3) != shape[3] || c.first_latent_frame < 0 ||
        c.first_latent_frame + n > latent_frames) {
      throw Error(ErrorCategory::InvalidArgument,
                  "a conditioning latent of shape " + c10::str(c.latent.sizes()) + " at frame " +
                      std::to_string(c.first_latent_frame) + " does not fit a window latent of " +
                      c10::str(at::IntArrayRef(shape)));
    }
    known.narrow(1, c.first_latent_frame, n).copy_(c.latent);
    keep.narrow(1, c.first_latent_frame, n).zero_();
  }
  const bool conditioned = !request.conditions.empty();
  const at::Tensor drop = 1 - keep;

  at::Tensor x = noise;
  if (request.source_latent.defined()) {
    if (request.source_latent.sizes() != at::IntArrayRef(shape)) {
      throw Error(ErrorCategory::InvalidArgument,
                  "the source clip's latent " + c10::str(request.source_latent.sizes()) +
                      " does not match the window's " + c10::str(at::IntArrayRef(shape)));
    }
    const sampling::StrengthStart start =
        sampling::start_for_strength(scheduler->schedule(), request.strength);
    x = sampling::add_noise(request.source_latent.to(device, at::kFloat), noise, start.sigma);
    scheduler->reset(start.start_step);
  }
  if (conditioned && request.method == ConditioningMethod::CleanTokens) {
    x = x * keep + known * drop;
  }

  // Text embeddings once per window: [B, text_len, dim], B = 2 with guidance (cond, uncond).
  std::vector<at::Tensor> contexts{request.context};
  if (guided) contexts.push_back(request.negative_context);
  const models::WanDiTTextKV text = dit.prepare_text(contexts);  // reused at every step
  const int64_t batch = static_cast<int64_t>(contexts.size());

  // Per-token timesteps for CleanTokens: t on generated tokens, 0 on known ones: [tokens].
  at::Tensor token_mask;
  if (conditioned && request.method == ConditioningMethod::CleanTokens) {
    const auto& patch = dit.config().patch_size;
    if (patch[0] != 1) {
      throw Error(ErrorCategory::Unsupported,
                  "clean-token conditioning needs a DiT with temporal patch 1; this one has " +
                      std::to_string(patch[0]));
    }
    const int64_t tokens_per_frame = (shape[2] / patch[1]) * (shape[3] / patch[2]);
    token_mask = keep.reshape({latent_frames, 1})
                     .expand({latent_frames, tokens_per_frame})
                     .reshape({-1})
                     .to(at::kLong);
  }

  const int total = scheduler->num_steps() - scheduler->step_index();
  const int mid_frame = static_cast<int>(latent_frames / 2);
  int done = 0;
  while (!scheduler->done()) {
    if (callbacks.cancel) callbacks.cancel->throw_if_cancelled("sampling");
    const int64_t t = scheduler->timestep();
    if (conditioned && request.method == ConditioningMethod::Replacement) {
      const float sigma = scheduler->sigma();
      x = x * keep + (known * (1.0f - sigma) + noise * sigma) * drop;
    }
    at::Tensor timesteps;
    if (token_mask.defined()) {
      timesteps = (token_mask * t).unsqueeze(0).expand({batch, token_mask.size(0)});
    } else {
      timesteps = at::full({batch}, t, at::TensorOptions(device).dtype(at::kLong));
    }
    const at::Tensor input = x.unsqueeze(0).expand({batch, -1, -1, -1, -1});
    models::WanDiTForwardOptions forward_options;
    forward_options.cancel = callbacks.cancel;
    const at::Tensor v = models::velocity_from_output(
        dit.config().prediction, dit.forward_batch(input, timesteps, text, forward_options), input,
        at::scalar_tensor(double(scheduler->sigma()), at::TensorOptions(device)));
    const at::Tensor velocity =
        guided ? sampling::apply_guidance(v[0], v[1], request.sampling.guidance) : v[0];
    x = scheduler->step(velocity, x);
    if (conditioned && request.method == ConditioningMethod::CleanTokens) {
      x = x * keep + known * drop;
    }
    ++done;
    if (callbacks.on_step) callbacks.on_step(done, total);
    if (callbacks.on_preview && callbacks.preview_every_steps > 0 &&
        (done % callbacks.preview_every_steps == 0 || done == total)) {
      const at::Tensor rgb = runtime.preview().render(
          x.narrow(1, mid_frame, 1), request.size.width_px, request.size.height_px);  // [3,1,H,W]
      callbacks.on_preview(video_frame_to_mat(rgb.select(1, 0) * 2 - 1));
    }
  }
  if (conditioned && request.method == ConditioningMethod::Replacement) {
    x = x * keep + known * drop;
  }
  return x.contiguous();
}

at::Tensor frames_to_video(const std::vector<cv::Mat>& frames, at::Device device) {
  if (frames.empty()) throw Error(ErrorCategory::InvalidArgument, "no frames to encode");
  const int h = frames.front().rows, w = frames.front().cols;
  at::Tensor video = at::empty({1, 3, static_cast<int64_t>(frames.size()), h, w});
  for (size_t i = 0; i < frames.size(); ++i) {
    const cv::Mat& f = frames[i];
    if (f.type() != CV_8UC3 || f.rows != h || f.cols != w) {
      throw Error(ErrorCategory::InvalidArgument,
                  "frame " + std::to_string(i) + " is not an RGB frame of " + std::to_string(w) +
                      "x" + std::to_string(h));
    }
    const cv::Mat contiguous = f.isContinuous() ? f : f.clone();
    const at::Tensor hwc = at::from_blob(const_cast<uint8_t*>(contiguous.ptr<uint8_t>()),
                                         {h, w, 3}, at::kByte);
    video[0].select(1, static_cast<int64_t>(i)).copy_(hwc.permute({2, 0, 1}));
  }
  return video.div_(127.5).sub_(1.0).to(device);
}

cv::Mat video_frame_to_mat(const at::Tensor& frame) {
  at::Tensor f = frame;
  while (f.dim() > 3) f = f.squeeze(0);
  if (f.dim() == 4) f = f.select(1, 0);
  if (f.dim() != 3 || f.size(0) != 3) {
    throw Error(ErrorCategory::InvalidArgument,
                "expected a frame [3, H, W]; got " + c10::str(frame.sizes()));
  }
  const at::Tensor hwc = f.to(at::kCPU, at::kFloat)
                             .add(1.0)
                             .mul_(127.5)
                             .round_()
                             .clamp_(0, 255)
                             .to(at::kByte)
                             .permute({1, 2, 0})
                             .contiguous();
  cv::Mat mat(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3);
  std::memcpy(mat.data, hwc.data_ptr<uint8_t>(), static_cast<size_t>(hwc.numel()));
  return mat;
}

at::Tensor encode_frames(const ModelRuntime& runtime, const std::vector<cv::Mat>& frames,
                         const CancellationToken* cancel) {
  c10::InferenceMode guard;
  const at::Tensor video = frames_to_video(frames, runtime.device());
  return runtime.vae().encode(video, runtime.vae_options(cancel))[0];  // [z, F, h, w]
}

std::vector<cv::Mat> decode_latent(const ModelRuntime& runtime, const at::Tensor& latent,
                                   const CancellationToken* cancel) {
  c10::InferenceMode guard;
  std::vector<cv::Mat> frames;
  runtime.vae().decode_streaming(
      latent.unsqueeze(0),
      [&](const at::Tensor& chunk, int64_t) {  // [1, 3, n, H, W]
        for (int64_t i = 0; i < chunk.size(2); ++i) {
          frames.push_back(video_frame_to_mat(chunk[0].select(1, i)));
        }
      },
      runtime.vae_options(cancel));
  return frames;
}

}  // namespace reelforge::pipeline
