#pragma once
// The generator: one sampling window of a shot, from text context (and optionally known latent
// frames and a source clip's latents) to the sampled latent, plus the conversions between frames
// and the VAE's tensors. Shot- and job-level logic (windows, continuity, saving, post) lives in
// render_job.hpp; this is the part that runs the DiT.
//
// Known frames steer a window in one of two ways, chosen by what the model can do:
//  - CleanTokens (Wan 2.2 TI2V, and models trained like it): the known latent frames are written
//    clean into the sample and their tokens get timestep 0, after every step, exactly as the
//    reference's image-to-video does for the first frame.
//  - Replacement (any flow-matching model, e.g. Wan 2.1 T2V): before every step the known frames
//    are noised to the current sigma with the window's own noise and written into the sample; at
//    the end they are written clean. Used to continue windows and shots with models that cannot
//    condition on images.

#include <ATen/core/Tensor.h>
#include <cstdint>
#include <functional>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "reelforge/core/cancel.hpp"
#include "reelforge/pipeline/model_runtime.hpp"
#include "reelforge/pipeline/plan.hpp"

namespace reelforge::pipeline {

enum class ConditioningMethod { CleanTokens, Replacement };
const char* to_string(ConditioningMethod method);  // "clean-tokens", "replacement"

// Latent frames known in advance, at latent frame `first_latent_frame` of the window.
struct LatentCondition {
  at::Tensor latent;  // [z, n, h, w] normalised, as the VAE encodes
  int64_t first_latent_frame = 0;
};

struct WindowRequest {
  at::Tensor context;           // [L, text_dim] float32: the prompt
  at::Tensor negative_context;  // [L', text_dim]: the negative prompt (unused at guidance 1)
  int64_t frame_count = 0;      // video frames, 1 + 4k
  media::FrameSize size;        // native frame size
  SamplingSettings sampling;
  uint64_t seed = 0;
  std::vector<LatentCondition> conditions;
  ConditioningMethod method = ConditioningMethod::Replacement;
  // Video-to-video: the source's latent [z, F, h, w]; sampling starts from it noised to the
  // strength's point of the schedule. Undefined = from pure noise.
  at::Tensor source_latent;
  double strength = 1.0;
};

struct WindowCallbacks {
  std::function<void(int step, int total)> on_step;  // after each finished step
  // A preview of the sample every `preview_every_steps` steps and after the last: RGB frame
  // (the window's middle latent frame) at the native size.
  std::function<void(const cv::Mat& rgb)> on_preview;
  int preview_every_steps = 0;
  const CancellationToken* cancel = nullptr;  // checked before every step
};

// Latent frames [z, F, h, w] of a window of `frame_count` frames at `size` for `runtime`'s VAE.
std::vector<int64_t> latent_shape(const ModelRuntime& runtime, int64_t frame_count,
                                  media::FrameSize size);

// Samples one window: returns the clean latent [z, F, h, w] float32 on the model's device.
// Error(InvalidArgument) for a frame count that is not 1 + 4k, a size the model cannot take,
// or conditions outside the window; Error(Cancelled) when the token fires.
at::Tensor sample_window(const ModelRuntime& runtime, const WindowRequest& request,
                         const WindowCallbacks& callbacks = {});

// RGB frames (CV_8UC3, all of one size) -> video tensor [1, 3, T, H, W] in [-1, 1] float32 on
// `device`.
at::Tensor frames_to_video(const std::vector<cv::Mat>& frames, at::Device device);
// One frame [3, H, W] (or [1, 3, 1, H, W]) in about [-1, 1] -> CV_8UC3 RGB, clamped and rounded.
cv::Mat video_frame_to_mat(const at::Tensor& frame);

// VAE-encodes frames (1 + 4k of them) to a normalised latent [z, F, h, w].
at::Tensor encode_frames(const ModelRuntime& runtime, const std::vector<cv::Mat>& frames,
                         const CancellationToken* cancel = nullptr);
// VAE-decodes a latent [z, F, h, w] to RGB frames, streaming chunk by chunk.
std::vector<cv::Mat> decode_latent(const ModelRuntime& runtime, const at::Tensor& latent,
                                   const CancellationToken* cancel = nullptr);

}  // namespace reelforge::pipeline
