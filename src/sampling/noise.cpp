#include "reelforge/sampling/noise.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <string>

#include "reelforge/core/error.hpp"

namespace reelforge::sampling {

at::Tensor make_noise(at::IntArrayRef shape, uint64_t seed, at::ScalarType dtype,
                      at::Device device) {
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      throw Error(ErrorCategory::InvalidArgument, "noise shape has a negative size " +
                                                      std::to_string(shape[i]) + " at dimension " +
                                                      std::to_string(i));
    }
  }
  if (!at::isFloatingType(dtype)) {
    throw Error(ErrorCategory::InvalidArgument,
                std::string("noise dtype ") + c10::toString(dtype) +
                    " is not a floating-point type; valid: float32, bfloat16, float16, float64");
  }
  // A private generator, so the draw depends on nothing but the seed (not on the global generator
  // or other threads), and always the CPU one, so CUDA runs start from the same noise.
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::Tensor noise = at::randn(shape, generator, at::TensorOptions().dtype(at::kFloat));
  return noise.to(device, dtype);
}

}  // namespace reelforge::sampling
