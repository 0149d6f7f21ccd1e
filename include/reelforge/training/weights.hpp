#pragma once
// Trainable weights: the parameters of a network as float32 master tensors that require
// gradients, keyed by the official checkpoint names the inference loaders read. The training
// forwards (dit_trainable, umt5_trainable, vae_trainable) are autograd-safe twins of the
// inference classes that take their weights from such a map, so a trained map is written with
// tensors::save_safetensors and loaded back by WanDiT / UMT5Encoder / WanVAE unchanged.

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace reelforge::training {

using NamedWeights = std::map<std::string, at::Tensor>;

// Float32 clones of `named` (e.g. WanDiT::named_parameters()) on the same device, each a leaf
// that requires grad.
NamedWeights trainable_copy(const std::vector<std::pair<std::string, at::Tensor>>& named);

// The tensor called `name`; Error(InvalidArgument) naming it when absent.
const at::Tensor& weight(const NamedWeights& weights, const std::string& name);

// `w` in the compute dtype: a differentiable cast, so the gradient reaches the float32 master.
at::Tensor in_dtype(const at::Tensor& w, at::ScalarType dtype);

// Detached copies in `dtype` under the same names, in name order (for save_safetensors).
std::vector<std::pair<std::string, at::Tensor>> export_weights(const NamedWeights& weights,
                                                               at::ScalarType dtype);

}  // namespace reelforge::training
