#include "reelforge/tensors/device.hpp"

namespace reelforge::tensors {

at::Device torch_device(Device device) {
  if (device == Device::Auto) device = compute_info().device;
  return device == Device::CUDA ? at::Device(at::kCUDA) : at::Device(at::kCPU);
}

at::ScalarType torch_dtype(ComputeDType dtype) {
  if (dtype == ComputeDType::Auto) dtype = compute_info().dtype;
  return dtype == ComputeDType::BFloat16 ? at::kBFloat16 : at::kFloat;
}

}  // namespace reelforge::tensors
