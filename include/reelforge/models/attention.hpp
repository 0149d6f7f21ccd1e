#pragma once
// Exact softmax attention shared by the neural modules (Wan DiT, Wan VAE, umT5). One entry point
// with the masking semantics the Wan reference code uses (keys at positions >= key_lengths[b] are
// excluded, every query row is computed), an optional additive bias (umT5's relative position
// bias) and an optional scale (umT5 uses none). On LibTorch >= 2 it calls the fused
// at::scaled_dot_product_attention; on LibTorch 1.13 it computes the softmax explicitly, in query
// chunks so that long sequences never materialise a full Lq x Lk score matrix.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace reelforge::models {

enum class AttentionBackend {
  Auto,     // fused kernel where LibTorch offers one (>= 2.0), else Chunked
  Chunked,  // explicit softmax, query rows in chunks (bounded memory); works on every version
};

struct AttentionOptions {
  // Multiplies q k^T; nullopt = 1 / sqrt(head_dim). umT5 passes 1.0.
  std::optional<double> scale;
  // Query rows per chunk for the explicit path; 0 = automatic: as many rows as keep one chunk's
  // scores under kAttentionScoreBudgetBytes (so short sequences run as a single chunk).
  int64_t query_chunk = 0;
  AttentionBackend backend = AttentionBackend::Auto;
};

// Score memory the automatic chunking aims to stay under, per chunk.
constexpr int64_t kAttentionScoreBudgetBytes = int64_t(256) << 20;

// softmax(q k^T * scale + bias + key_mask) v.
//   q: [B, H, Lq, D]; k, v: [B, H, Lk, D] (same dtype and device; any strides).
//   key_lengths: empty = all keys valid, else B entries in [1, Lk]: keys at positions >= the
//     entry are excluded for that batch element.
//   bias: undefined, or additive logits broadcastable to [B, H, Lq, Lk].
// Returns [B, H, Lq, D] in q's dtype. Scores and softmax statistics are float32 whatever the input
// dtype (bf16 inputs keep float32 softmax), so bf16 attention loses no more than its matmuls do.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const std::vector<int64_t>& key_lengths = {}, const at::Tensor& bias = {},
                     const AttentionOptions& options = {});

}  // namespace reelforge::models
