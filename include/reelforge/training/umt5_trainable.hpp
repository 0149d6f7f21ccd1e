#pragma once
// Autograd-safe twin of models::UMT5Encoder::forward for training the text encoder jointly with
// the DiT: the same computation, written with out-of-place ATen ops on the float32 master weights
// of a NamedWeights map (Wan-layout names, as UMT5Encoder::named_parameters() gives them), so
// backward reaches every weight. The inference class keeps its buffers and in-place ops.

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include "reelforge/models/umt5.hpp"
#include "reelforge/training/weights.hpp"

namespace reelforge::training {

// ids [B, L] integer token ids in [0, vocab); mask [B, L] (1 = real token, 0 = padding).
// Returns [B, L, dim] float32 after the final norm: what UMT5Encoder::forward returns for the
// same weights. compute_dtype kFloat or kBFloat16 splits the work as the inference class does
// (embedding gather and matmuls in the compute dtype; norms, softmax and the residual stream in
// float32). Error(InvalidArgument) naming the problem for bad inputs, a bad dtype, a missing
// weight or a weight whose shape does not match `config`.
at::Tensor umt5_forward(const NamedWeights& w, const models::UMT5Config& config,
                        const at::Tensor& ids, const at::Tensor& mask,
                        at::ScalarType compute_dtype);

}  // namespace reelforge::training
