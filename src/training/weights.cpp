#include "reelforge/training/weights.hpp"

#include <ATen/ATen.h>

#include "reelforge/core/error.hpp"

namespace reelforge::training {

NamedWeights trainable_copy(const std::vector<std::pair<std::string, at::Tensor>>& named) {
  NamedWeights out;
  for (const auto& [name, tensor] : named) {
    at::Tensor master = tensor.detach().to(at::kFloat).clone().contiguous();
    master.set_requires_grad(true);
    out.emplace(name, std::move(master));
  }
  return out;
}

const at::Tensor& weight(const NamedWeights& weights, const std::string& name) {
  const auto it = weights.find(name);
  if (it == weights.end()) {
    throw Error(ErrorCategory::InvalidArgument, "trainable weights have no tensor '" + name + "'");
  }
  return it->second;
}

at::Tensor in_dtype(const at::Tensor& w, at::ScalarType dtype) {
  return w.scalar_type() == dtype ? w : w.to(dtype);
}

std::vector<std::pair<std::string, at::Tensor>> export_weights(const NamedWeights& weights,
                                                               at::ScalarType dtype) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  out.reserve(weights.size());
  for (const auto& [name, tensor] : weights) {
    out.emplace_back(name, tensor.detach().to(dtype).contiguous());
  }
  return out;
}

}  // namespace reelforge::training
