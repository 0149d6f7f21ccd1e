#pragma once
// Classifier-free guidance and Wan's default negative prompt. With guidance the model runs twice
// per step, on the prompt (cond) and on the negative prompt (uncond), and the two velocities are
// extrapolated: uncond + scale * (cond - uncond). At scale 1 the result is cond itself, so the
// pipeline can skip the unconditional forward pass entirely (needs_unconditional_pass()).

#include <ATen/core/Tensor.h>

#include <string_view>

namespace reelforge::sampling {

// `sample_neg_prompt` from Wan's wan/configs/shared_config.py (Wan 2.1 and 2.2), the negative
// prompt the reference uses when the user gives none. UTF-8. Translated: garish colours,
// overexposed, static, blurry details, subtitles, style, artwork, painting, frame, still, overall
// greyish, worst quality, low quality, JPEG artefacts, ugly, mutilated, extra fingers, badly drawn
// hands, badly drawn face, deformed, disfigured, malformed limbs, fused fingers, motionless frame,
// cluttered background, three legs, crowded background, walking backwards.
// clang-format off
inline constexpr std::string_view kWanDefaultNegativePrompt =
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，"
    "静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，残缺的，"
    "多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，"
    "形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，"
    "背景人很多，倒着走";
// clang-format on

// False exactly when `guidance_scale` is 1: the guided result is then the conditional output.
bool needs_unconditional_pass(double guidance_scale);

// uncond + scale * (cond - uncond), in float32 on cond's device (the solver works in float32
// anyway). At scale 1 returns cond as float32 and ignores `uncond`, which may then be undefined.
// Error(InvalidArgument) for a non-finite scale, an undefined cond, or (scale != 1) an undefined
// or differently shaped uncond.
at::Tensor apply_guidance(const at::Tensor& cond, const at::Tensor& uncond, double guidance_scale);

}  // namespace reelforge::sampling
