#include "reelforge/models/attention.hpp"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "reelforge/core/error.hpp"

namespace reelforge::models {
namespace {

// Additive float32 mask [B, 1, 1, Lk]: 0 for valid keys, -inf for keys >= key_lengths[b]; undefined
// when every key is valid (the common unpadded case costs nothing).
at::Tensor key_length_mask(const std::vector<int64_t>& key_lengths, int64_t batch, int64_t lk,
                           const at::Device& device) {
  if (key_lengths.empty()) return {};
  RF_CHECK(int64_t(key_lengths.size()) == batch,
           "attention: " + std::to_string(key_lengths.size()) + " key lengths for batch " +
               std::to_string(batch));
  bool any_masked = false;
  for (int64_t len : key_lengths) {
    RF_CHECK(len >= 1 && len <= lk, "attention: key length " + std::to_string(len) +
                                        " outside [1, " + std::to_string(lk) + "]");
    any_masked = any_masked || len < lk;
  }
  if (!any_masked) return {};
  at::Tensor mask =
      at::zeros({batch, 1, 1, lk}, at::TensorOptions().dtype(at::kFloat));  // [B,1,1,Lk]
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = key_lengths[size_t(b)];
    if (len < lk) mask[b].narrow(-1, len, lk - len).fill_(-std::numeric_limits<float>::infinity());
  }
  return mask.to(device);
}

// One chunk of query rows: q [B, H, n, D] against all keys.
at::Tensor attend_rows(const at::Tensor& q, const at::Tensor& k_t, const at::Tensor& v,
                       double scale, const at::Tensor& bias, const at::Tensor& mask) {
  at::Tensor scores = at::matmul(q, k_t);  // [B, H, n, Lk]
  // Softmax statistics in float32 even for bf16 inputs.
  if (scores.scalar_type() != at::kFloat) scores = scores.to(at::kFloat);
  if (scale != 1.0) scores.mul_(scale);
  if (bias.defined()) scores.add_(bias);
  if (mask.defined()) scores.add_(mask);
  at::Tensor probs = at::softmax(scores, -1);
  if (probs.scalar_type() != v.scalar_type()) probs = probs.to(v.scalar_type());
  return at::matmul(probs, v);  // [B, H, n, D]
}

}  // namespace

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const std::vector<int64_t>& key_lengths, const at::Tensor& bias,
                     const AttentionOptions& options) {
  RF_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention expects [B, H, L, D] tensors");
  const int64_t batch = q.size(0), heads = q.size(1), lq = q.size(2), head_dim = q.size(3);
  const int64_t lk = k.size(2);
  RF_CHECK(k.size(0) == batch && v.size(0) == batch && k.size(1) == heads && v.size(1) == heads &&
               k.size(3) == head_dim && v.size(2) == lk,
           "attention: q, k, v shapes disagree");
  RF_CHECK(!bias.defined() || bias.dim() == 4, "attention: bias must be 4-D");
  const double scale = options.scale.value_or(1.0 / std::sqrt(double(head_dim)));
  const at::Tensor mask = key_length_mask(key_lengths, batch, lk, q.device());

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  if (options.backend == AttentionBackend::Auto) {
    // The fused kernel (flash / memory-efficient on CUDA, flash on CPU) is memory-bounded itself.
    at::Tensor attn_mask;
    if (bias.defined() && mask.defined()) {
      attn_mask = bias.to(at::kFloat) + mask;
    } else if (bias.defined()) {
      attn_mask = bias;
    } else {
      attn_mask = mask;
    }
    if (attn_mask.defined()) attn_mask = attn_mask.to(q.scalar_type());
    const c10::optional<at::Tensor> mask_arg =
        attn_mask.defined() ? c10::optional<at::Tensor>(attn_mask) : c10::nullopt;
    return at::scaled_dot_product_attention(q, k, v, mask_arg, 0.0, false, scale);
  }
#endif

  const at::Tensor k_t = k.transpose(-2, -1);  // [B, H, D, Lk]
  const at::Tensor bias_f = bias.defined() ? bias.to(at::kFloat) : at::Tensor();
  const int64_t row_bytes = std::max<int64_t>(1, batch * heads * lk * int64_t(sizeof(float)));
  int64_t chunk = options.query_chunk > 0
                      ? options.query_chunk
                      : std::max<int64_t>(1, kAttentionScoreBudgetBytes / row_bytes);
  if (chunk >= lq) return attend_rows(q, k_t, v, scale, bias_f, mask);

  at::Tensor out = at::empty({batch, heads, lq, v.size(3)}, q.options());  // [B, H, Lq, D]
  for (int64_t start = 0; start < lq; start += chunk) {
    const int64_t n = std::min(chunk, lq - start);
    const at::Tensor bias_rows =
        bias_f.defined() && bias_f.size(2) == lq && lq > 1 ? bias_f.narrow(2, start, n) : bias_f;
    out.narrow(2, start, n)
        .copy_(attend_rows(q.narrow(2, start, n), k_t, v, scale, bias_rows, mask));
  }
  return out;
}

}  // namespace reelforge::models
