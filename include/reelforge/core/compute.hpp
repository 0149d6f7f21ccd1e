#pragma once
// LibTorch set-up in one place: thread count, device and compute dtype. Torch-free on purpose, so
// front ends can include it without the cost of LibTorch's headers; the torch-facing side
// (at::Device, at::ScalarType) lives with the tensor code.

#include <string>

namespace reelforge {

enum class Device { Auto, CPU, CUDA };
enum class ComputeDType { Auto, Float32, BFloat16 };

struct ComputeOptions {
  Device device = Device::Auto;        // Auto: CUDA when available, else CPU
  ComputeDType dtype = ComputeDType::Auto;  // Auto: bf16 on CUDA and on CPUs with native bf16
  int threads = 0;                     // intra-op threads; 0 = one per hardware thread
};

struct ComputeInfo {
  Device device = Device::CPU;         // resolved, never Auto
  ComputeDType dtype = ComputeDType::Float32;  // resolved, never Auto
  int threads = 1;
  bool cuda_available = false;
  bool cpu_has_native_bf16 = false;    // AVX512-BF16 or AMX-BF16
  std::string torch_version;
  std::string cpu_name;
  std::string cuda_device_name;        // empty without CUDA
};

// Applies the options to LibTorch (thread pool, device choice) and logs the versions once.
// Error(Unsupported) when CUDA is requested but unavailable. Safe to call again with new options.
ComputeInfo init_compute(const ComputeOptions& options = {});

// The result of the last init_compute() (initialising with defaults if it never ran).
const ComputeInfo& compute_info();

Device parse_device(const std::string& name);              // auto | cpu | cuda
ComputeDType parse_compute_dtype(const std::string& name);  // auto | float32 | bf16
const char* to_string(Device device);
const char* to_string(ComputeDType dtype);

// One line per fact, for `reelforge info` and bug reports.
std::string describe(const ComputeInfo& info);

}  // namespace reelforge
