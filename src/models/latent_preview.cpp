#include "reelforge/models/latent_preview.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <string>
#include <vector>

#include "reelforge/core/error.hpp"

namespace reelforge::models {
namespace {

Error invalid(const std::string& message) {
  return Error(ErrorCategory::InvalidArgument, "latent preview: " + message);
}

// ComfyUI comfy/latent_formats.py, class Wan21 (comfyanonymous/ComfyUI, commit 040a324):
// latent_rgb_factors [16][3] and latent_rgb_factors_bias, applied to the normalised latent.
const float kWan21Factors[16][3] = {
    {-0.1299f, -0.1692f, 0.2932f},  {0.0671f, 0.0406f, 0.0442f},  {0.3568f, 0.2548f, 0.1747f},
    {0.0372f, 0.2344f, 0.1420f},    {0.0313f, 0.0189f, -0.0328f}, {0.0296f, -0.0956f, -0.0665f},
    {-0.3477f, -0.4059f, -0.2925f}, {0.0166f, 0.1902f, 0.1975f},  {-0.0412f, 0.0267f, -0.1364f},
    {-0.1293f, 0.0740f, 0.1636f},   {0.0680f, 0.3019f, 0.1128f},  {0.0032f, 0.0581f, 0.0639f},
    {-0.1251f, 0.0927f, 0.1699f},   {0.0060f, -0.0633f, 0.0005f}, {0.3477f, 0.2275f, 0.2950f},
    {0.1984f, 0.0913f, 0.1861f}};
const float kWan21Bias[3] = {-0.1835f, -0.0868f, -0.3360f};

// ComfyUI comfy/latent_formats.py, class Wan22(Wan21) (the same file in a later ComfyUI version;
// read from a public copy of it): latent_rgb_factors [48][3] and latent_rgb_factors_bias.
const float kWan22Factors[48][3] = {
    {0.0119f, 0.0103f, 0.0046f},    {-0.1062f, -0.0504f, 0.0165f},  {0.0140f, 0.0409f, 0.0491f},
    {-0.0813f, -0.0677f, 0.0607f},  {0.0656f, 0.0851f, 0.0808f},    {0.0264f, 0.0463f, 0.0912f},
    {0.0295f, 0.0326f, 0.0590f},    {-0.0244f, -0.0270f, 0.0025f},  {0.0443f, -0.0102f, 0.0288f},
    {-0.0465f, -0.0090f, -0.0205f}, {0.0359f, 0.0236f, 0.0082f},    {-0.0776f, 0.0854f, 0.1048f},
    {0.0564f, 0.0264f, 0.0561f},    {0.0006f, 0.0594f, 0.0418f},    {-0.0319f, -0.0542f, -0.0637f},
    {-0.0268f, 0.0024f, 0.0260f},   {0.0539f, 0.0265f, 0.0358f},    {-0.0359f, -0.0312f, -0.0287f},
    {-0.0285f, -0.1032f, -0.1237f}, {0.1041f, 0.0537f, 0.0622f},    {-0.0086f, -0.0374f, -0.0051f},
    {0.0390f, 0.0670f, 0.2863f},    {0.0069f, 0.0144f, 0.0082f},    {0.0006f, -0.0167f, 0.0079f},
    {0.0313f, -0.0574f, -0.0232f},  {-0.1454f, -0.0902f, -0.0481f}, {0.0714f, 0.0827f, 0.0447f},
    {-0.0304f, -0.0574f, -0.0196f}, {0.0401f, 0.0384f, 0.0204f},    {-0.0758f, -0.0297f, -0.0014f},
    {0.0568f, 0.1307f, 0.1372f},    {-0.0055f, -0.0310f, -0.0380f}, {0.0239f, -0.0305f, 0.0325f},
    {-0.0663f, -0.0673f, -0.0140f}, {-0.0416f, -0.0047f, -0.0023f}, {0.0166f, 0.0112f, -0.0093f},
    {-0.0211f, 0.0011f, 0.0331f},   {0.1833f, 0.1466f, 0.2250f},    {-0.0368f, 0.0370f, 0.0295f},
    {-0.3441f, -0.3543f, -0.2008f}, {-0.0479f, -0.0489f, -0.0420f}, {-0.0660f, -0.0153f, 0.0800f},
    {-0.0101f, 0.0068f, 0.0156f},   {-0.0690f, -0.0452f, -0.0927f}, {-0.0145f, 0.0041f, 0.0015f},
    {0.0421f, 0.0451f, 0.0373f},    {0.0504f, -0.0483f, -0.0356f},  {-0.0837f, 0.0168f, 0.0055f}};
const float kWan22Bias[3] = {0.0317f, -0.0878f, -0.1388f};

template <size_t Z>
LatentPreview from_table(const float (&factors)[Z][3], const float (&bias)[3]) {
  std::vector<float> flat;
  for (size_t z = 0; z < Z; ++z) flat.insert(flat.end(), factors[z], factors[z] + 3);
  const at::Tensor w = at::tensor(flat).view({int64_t(Z), 3}).t().contiguous();  // [3, z]
  return LatentPreview(w, at::tensor(std::vector<float>(bias, bias + 3)));
}

}  // namespace

LatentPreview::LatentPreview(const at::Tensor& weight, const at::Tensor& bias) {
  if (weight.dim() != 2 || weight.size(0) != 3 || bias.dim() != 1 || bias.size(0) != 3) {
    throw invalid("expects weight [3, z] and bias [3]");
  }
  weight_ = weight.to(at::kCPU, at::kFloat).contiguous();
  bias_ = bias.to(at::kCPU, at::kFloat).contiguous();
}

LatentPreview LatentPreview::for_version(WanVAEVersion version) {
  return version == WanVAEVersion::V2_1 ? from_table(kWan21Factors, kWan21Bias)
                                        : from_table(kWan22Factors, kWan22Bias);
}

at::Tensor LatentPreview::project(const at::Tensor& latent) const {
  c10::InferenceMode guard;
  const bool batched = latent.dim() == 5;
  if (!(latent.dim() == 4 || batched) || latent.size(batched ? 1 : 0) != latent_channels()) {
    throw invalid("expects a latent [z, F, h, w] or [B, z, F, h, w] with z = " +
                  std::to_string(latent_channels()));
  }
  const at::Tensor x = batched ? latent : latent.unsqueeze(0);  // [B, z, F, h, w]
  const at::Tensor w = weight_.to(x.device()), b = bias_.to(x.device());
  at::Tensor rgb = at::linear(x.to(at::kFloat).movedim(1, -1), w, b).movedim(-1, 1);  // [B,3,..]
  return batched ? rgb : rgb.squeeze(0);
}

at::Tensor LatentPreview::render(const at::Tensor& latent, int64_t width_px, int64_t height_px,
                                 PreviewFilter filter) const {
  c10::InferenceMode guard;
  if (width_px <= 0 || height_px <= 0) throw invalid("preview size must be positive");
  const at::Tensor rgb = project(latent);
  const bool batched = rgb.dim() == 5;
  const at::Tensor x = batched ? rgb : rgb.unsqueeze(0);  // [B, 3, F, h, w]
  const int64_t b = x.size(0), f = x.size(2);
  // Frames as a batch of images: [B F, 3, h, w].
  const at::Tensor images = x.transpose(1, 2).reshape({b * f, 3, x.size(3), x.size(4)});
  at::Tensor up = filter == PreviewFilter::Nearest
                      ? at::upsample_nearest2d(images, {height_px, width_px})
                      : at::upsample_bilinear2d(images, {height_px, width_px}, false);
  up = up.view({b, f, 3, height_px, width_px}).transpose(1, 2).add(1.0).mul_(0.5).clamp_(0, 1);
  return batched ? up : up.squeeze(0);  // [B, 3, F, H, W] in [0, 1]
}

LatentPreview LatentPreview::fit(const at::Tensor& latents, const at::Tensor& frames) {
  c10::InferenceMode guard;
  if (latents.dim() != 5 || frames.dim() != 5 || frames.size(1) != 3 ||
      latents.size(0) != frames.size(0)) {
    throw invalid("fit expects latents [B, z, F, h, w] and frames [B, 3, T, H, W]");
  }
  const int64_t b = latents.size(0), z = latents.size(1), f = latents.size(2), h = latents.size(3),
                w = latents.size(4);
  const int64_t t = frames.size(2);
  if (f > 1 && (t - 1) % (f - 1) != 0) {
    throw invalid("frame count " + std::to_string(t) + " is not 1 + k (" + std::to_string(f) +
                  " - 1) for " + std::to_string(f) + " latent frames");
  }
  if (f == 1 && t != 1) throw invalid("one latent frame decodes to one frame");
  if (frames.size(3) % h != 0 || frames.size(4) % w != 0) {
    throw invalid("frame size is not a multiple of the latent size");
  }
  const int64_t ts = f > 1 ? (t - 1) / (f - 1) : 1;
  const int64_t sh = frames.size(3) / h, sw = frames.size(4) / w;
  const at::Tensor fr = frames.to(at::kCPU, at::kDouble);
  // Average each latent pixel's footprint: frame 0, then groups of ts frames.
  std::vector<at::Tensor> groups{fr.narrow(2, 0, 1)};
  if (f > 1) {
    groups.push_back(
        fr.narrow(2, 1, t - 1).reshape({b, 3, f - 1, ts, frames.size(3), frames.size(4)}).mean(3));
  }
  at::Tensor target = at::cat(groups, 2);                         // [B, 3, F, H, W]
  target = target.reshape({b, 3, f, h, sh, w, sw}).mean({4, 6});  // [B, 3, F, h, w]
  const at::Tensor y = target.movedim(1, -1).reshape({-1, 3});    // [N, 3]
  const at::Tensor x = latents.to(at::kCPU, at::kDouble).movedim(1, -1).reshape({-1, z});
  if (x.size(0) < z + 1) {
    throw invalid("fit needs at least z + 1 = " + std::to_string(z + 1) + " latent pixels; got " +
                  std::to_string(x.size(0)));
  }
  const at::Tensor design = at::cat({x, at::ones({x.size(0), 1}, x.options())}, 1);  // [N, z+1]
  const at::Tensor gram = at::matmul(design.t(), design);                            // [z+1, z+1]
  const at::Tensor rhs = at::matmul(design.t(), y);                                  // [z+1, 3]
  const at::Tensor solution = at::linalg_solve(gram, rhs);                           // [z+1, 3]
  return LatentPreview(solution.narrow(0, 0, z).t(), solution[z]);
}

}  // namespace reelforge::models
