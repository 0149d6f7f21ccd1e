#pragma once
// The torch-facing side of core/compute.hpp: the LibTorch device and dtype for a ReelForge device
// and compute-dtype setting, with Auto resolved through the current compute_info().

#include <ATen/core/Tensor.h>

#include "reelforge/core/compute.hpp"

namespace reelforge::tensors {

at::Device torch_device(Device device);          // Auto: CUDA when available, else CPU
at::ScalarType torch_dtype(ComputeDType dtype);  // Auto: bf16 on CUDA / native-bf16 CPUs

}  // namespace reelforge::tensors
