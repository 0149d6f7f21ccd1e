#pragma once
// The silhouette head's objective (TrainConfig::silhouette_loss_weight): a training-only linear
// head reads the DiT's residual stream part way through and predicts, for every token, the
// objects' coverage of each 2x2-pixel cell under it. The silhouette of a red star on blue is the
// same as that of a white star on gray, so the head asks the blocks for the outline apart from the
// colours, which the velocity alone mixes into every latent pixel.

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace reelforge::training {

// Pixels across a silhouette cell.
constexpr int64_t kSilhouetteCell = 2;

// The objects' silhouette per latent frame: coverage [T, H, W] in [0, 1] (T = 1 + k x
// temporal_stride) averaged over the pixel frames each latent frame holds (the first alone, then
// groups of temporal_stride, as the causal VAE groups them) and over each cell. A moving object
// leaves the smear its latent frame holds. Returns [F, H / cell, W / cell].
at::Tensor silhouette_map(const at::Tensor& coverage, int64_t temporal_stride);

// Maps [B, F, H / cell, W / cell] rearranged per token of a DiT whose tokens are token_h x token_w
// pixels, in the DiT's token order (frame, row, column): [B, F x rows x columns, cells per token],
// each token's cells row by row.
at::Tensor silhouette_tokens(const at::Tensor& maps, int64_t token_h, int64_t token_w);

// The head's loss: the mean squared error of `predicted` against `target` (both [B, L, cells])
// over the tokens where `generated` [B, L] is 1 (not the conditioning frames').
at::Tensor silhouette_loss(const at::Tensor& predicted, const at::Tensor& target,
                           const at::Tensor& generated);

}  // namespace reelforge::training
