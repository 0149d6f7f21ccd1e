// The linear latent-to-RGB preview: published defaults, projection, rendering, and the
// least-squares fit recovering a known projection.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include "reelforge/core/error.hpp"
#include "reelforge/models/latent_preview.hpp"

namespace reelforge {
namespace {

using models::LatentPreview;

TEST(LatentPreview, PublishedFactorsHaveTheVAEChannelCounts) {
  const LatentPreview p21 = LatentPreview::for_version(models::WanVAEVersion::V2_1);
  const LatentPreview p22 = LatentPreview::for_version(models::WanVAEVersion::V2_2);
  EXPECT_EQ(p21.latent_channels(), 16);
  EXPECT_EQ(p22.latent_channels(), 48);
  // ComfyUI's row 0 of Wan21 is (-0.1299, -0.1692, 0.2932): column 0 of the [3, z] weight.
  EXPECT_NEAR(p21.weight()[0][0].item<double>(), -0.1299, 1e-6);
  EXPECT_NEAR(p21.weight()[2][0].item<double>(), 0.2932, 1e-6);
  EXPECT_NEAR(p22.bias()[2].item<double>(), -0.1388, 1e-6);
}

TEST(LatentPreview, ProjectsAndRenders) {
  c10::InferenceMode guard;
  const at::Tensor w = at::randn({3, 4}), b = at::randn({3});
  const LatentPreview p(w, b);
  const at::Tensor z = at::randn({4, 2, 3, 5});  // [z, F, h, w]
  const at::Tensor rgb = p.project(z);
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{3, 2, 3, 5}));
  const double expected =
      (w[1] * z.select(1, 1).select(1, 2).select(1, 4)).sum().item<double>() + b[1].item<double>();
  EXPECT_NEAR(rgb[1][1][2][4].item<double>(), expected, 1e-5);
  const at::Tensor image = p.render(z, 40, 24, models::PreviewFilter::Nearest);
  ASSERT_EQ(image.sizes(), (std::vector<int64_t>{3, 2, 24, 40}));
  EXPECT_GE(image.min().item<double>(), 0.0);
  EXPECT_LE(image.max().item<double>(), 1.0);
  // Nearest: each latent pixel becomes an 8x8 block of ((rgb + 1) / 2) clamped.
  const double v = std::clamp((rgb[0][0][1][2].item<double>() + 1) / 2, 0.0, 1.0);
  EXPECT_NEAR(image[0][0][8 + 3][16 + 5].item<double>(), v, 1e-5);
  EXPECT_THROW(p.project(at::randn({5, 1, 2, 2})), Error);
}

TEST(LatentPreview, FitRecoversAKnownProjection) {
  c10::InferenceMode guard;
  const int64_t z = 16;
  const at::Tensor w = at::randn({3, z}).mul_(0.2), b = at::randn({3}).mul_(0.1);
  const LatentPreview truth(w, b);
  const at::Tensor latents = at::randn({2, z, 3, 4, 5});  // [B, z, F, h, w]
  // Frames a VAE with strides 4 x 8 x 8 would produce if it were this linear map: frame 0 from
  // latent frame 0, frames 1..4 from latent frame 1, ..., with pixel noise that averages out
  // within each latent pixel's footprint.
  const at::Tensor rgb = truth.project(latents);  // [B, 3, F, h, w]
  at::Tensor frames = at::cat({rgb.narrow(2, 0, 1), rgb.narrow(2, 1, 2).repeat_interleave(4, 2)}, 2)
                          .repeat_interleave(8, 3)
                          .repeat_interleave(8, 4);  // [B, 3, 9, 32, 40]
  at::Tensor noise = at::randn(frames.sizes()).mul_(0.05);
  noise = noise - noise.reshape({2, 3, 9, 4, 8, 5, 8})
                      .mean({4, 6}, true)
                      .expand({2, 3, 9, 4, 8, 5, 8})
                      .reshape(frames.sizes());
  frames = frames + noise;
  const LatentPreview fitted = LatentPreview::fit(latents, frames);
  EXPECT_LE((fitted.weight() - w).abs().max().item<double>(), 1e-4);
  EXPECT_LE((fitted.bias() - b).abs().max().item<double>(), 1e-4);
  EXPECT_THROW(LatentPreview::fit(latents, frames.narrow(2, 0, 8)), Error);
  EXPECT_THROW(LatentPreview::fit(latents.narrow(3, 0, 1).narrow(4, 0, 1).narrow(0, 0, 1),
                                  frames.narrow(0, 0, 1).narrow(3, 0, 8).narrow(4, 0, 8)),
               Error);  // 3 samples < z + 1
}

}  // namespace
}  // namespace reelforge
