#include "reelforge/training/silhouette.hpp"

#include <ATen/ATen.h>

#include "reelforge/core/error.hpp"

namespace reelforge::training {

at::Tensor silhouette_map(const at::Tensor& coverage, int64_t temporal_stride) {
  if (coverage.dim() != 3 || temporal_stride < 1 || (coverage.size(0) - 1) % temporal_stride != 0 ||
      coverage.size(1) % kSilhouetteCell != 0 || coverage.size(2) % kSilhouetteCell != 0) {
    throw Error(ErrorCategory::InvalidArgument,
                "coverage has shape " + c10::str(coverage.sizes()) + "; expected [1 + k x " +
                    std::to_string(temporal_stride) + ", H, W] with H and W even");
  }
  const int64_t frames = coverage.size(0), height = coverage.size(1), width = coverage.size(2);
  const at::Tensor rest =
      coverage.narrow(0, 1, frames - 1)
          .reshape({(frames - 1) / temporal_stride, temporal_stride, height, width})
          .mean(1);
  const at::Tensor per_latent_frame = at::cat({coverage.narrow(0, 0, 1), rest}, 0);
  return at::avg_pool2d(per_latent_frame.unsqueeze(1), {kSilhouetteCell, kSilhouetteCell})
      .squeeze(1);
}

at::Tensor silhouette_tokens(const at::Tensor& maps, int64_t token_h, int64_t token_w) {
  const int64_t ch = token_h / kSilhouetteCell, cw = token_w / kSilhouetteCell;
  if (maps.dim() != 4 || token_h % kSilhouetteCell != 0 || token_w % kSilhouetteCell != 0 ||
      maps.size(2) % ch != 0 || maps.size(3) % cw != 0) {
    throw Error(ErrorCategory::InvalidArgument,
                "silhouette maps of shape " + c10::str(maps.sizes()) + " do not divide into " +
                    std::to_string(token_h) + "x" + std::to_string(token_w) + "-pixel tokens");
  }
  const int64_t batch = maps.size(0), frames = maps.size(1);
  const int64_t gh = maps.size(2) / ch, gw = maps.size(3) / cw;
  return maps.reshape({batch, frames, gh, ch, gw, cw})
      .permute({0, 1, 2, 4, 3, 5})
      .reshape({batch, frames * gh * gw, ch * cw});
}

at::Tensor silhouette_loss(const at::Tensor& predicted, const at::Tensor& target,
                           const at::Tensor& generated) {
  return ((predicted - target).pow(2).mean(-1) * generated).sum() / generated.sum().clamp_min(1.0);
}

}  // namespace reelforge::training
