// The silhouette head's targets: the objects' coverage grouped as the causal VAE groups frames,
// averaged over 2x2-pixel cells, and laid out per DiT token in the DiT's token order.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "reelforge/core/error.hpp"
#include "reelforge/training/silhouette.hpp"

namespace reelforge::training {
namespace {

TEST(Silhouette, CoverageIsGroupedAsTheVAEGroupsFramesAndAveragedOverCells) {
  // 9 frames of 32x48: a 2x2 block at rows 18-19, columns 36-37 in frame 0; one pixel of the next
  // cell in frames 1 and 2 (the second latent frame holds frames 1-4); nothing after.
  at::Tensor coverage = at::zeros({9, 32, 48});
  coverage[0].narrow(0, 18, 2).narrow(1, 36, 2).fill_(1);
  coverage[1][18][38] = 1;
  coverage[2][18][38] = 1;
  const at::Tensor map = silhouette_map(coverage, 4);
  ASSERT_EQ(map.sizes(), (at::IntArrayRef{3, 16, 24}));
  EXPECT_FLOAT_EQ(map[0][9][18].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(map[0].sum().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(map[1][9][19].item<float>(), 2.0f / 4 / 4);  // 2 of 4 frames, 1 of 4 pixels
  EXPECT_FLOAT_EQ(map[1].sum().item<float>(), 0.125f);
  EXPECT_FLOAT_EQ(map[2].sum().item<float>(), 0.0f);
  EXPECT_THROW(silhouette_map(at::zeros({8, 32, 48}), 4), Error);  // not 1 + 4k frames
  EXPECT_THROW(silhouette_map(at::zeros({9, 31, 48}), 4), Error);  // odd height
  EXPECT_THROW(silhouette_map(at::zeros({32, 48}), 4), Error);     // no frames
}

TEST(Silhouette, TokensTakeTheirCellsInTheDiTsOrder) {
  // 16x16-pixel tokens over a 32x48 frame: 2 rows x 3 columns per latent frame, 8x8 cells each.
  at::Tensor maps = at::zeros({2, 3, 16, 24});
  maps[0][0][9][18] = 1;    // frame 0, token row 1, column 2 (token 5); cell row 1, column 2
  maps[1][2][15][0] = 0.5;  // frame 2, token row 1, column 0 (token 12 + 3); cell row 7, column 0
  const at::Tensor tokens = silhouette_tokens(maps, 16, 16);
  ASSERT_EQ(tokens.sizes(), (at::IntArrayRef{2, 18, 64}));
  EXPECT_FLOAT_EQ(tokens[0][5][1 * 8 + 2].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(tokens[0].sum().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(tokens[1][15][7 * 8].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(tokens[1].sum().item<float>(), 0.5f);
  EXPECT_THROW(silhouette_tokens(maps, 16, 20), Error);  // 10 cells do not divide 24
  EXPECT_THROW(silhouette_tokens(maps, 16, 15), Error);  // not whole cells
}

TEST(Silhouette, TheLossCountsOnlyGeneratedTokens) {
  const at::Tensor target = at::zeros({1, 2, 4});
  at::Tensor predicted = at::zeros({1, 2, 4});
  predicted[0][0].fill_(1);  // wrong by 1 everywhere on token 0
  predicted[0][1].fill_(3);  // wrong by 3 on token 1, a conditioning token
  const auto loss = [&](float first, float second) {
    return silhouette_loss(predicted, target, at::tensor({first, second}).view({1, 2}))
        .item<float>();
  };
  EXPECT_FLOAT_EQ(loss(1, 0), 1.0f);
  EXPECT_FLOAT_EQ(loss(1, 1), 5.0f);
  EXPECT_FLOAT_EQ(loss(0, 0), 0.0f);
}

}  // namespace
}  // namespace reelforge::training
