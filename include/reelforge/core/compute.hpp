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

// OpenMP's spin count for ReelForge's model runs. LibTorch's OpenMP threads spin for a long time
// after each parallel region by default, and OpenBLAS (float32 matmuls) keeps two threads of its
// own that spin too; on a 2-core machine the two pools take turns burning the cores (Wan 1.3B
// forward in float32: 9.2 s -> 5.7 s with this setting; docs/performance.md).
inline constexpr const char* kOpenMPSpinCount = "10000";

// libgomp reads its environment once, as it loads, before main(). A program about to run models
// calls this first: when GOMP_SPINCOUNT is not set it sets kOpenMPSpinCount and re-executes the
// program with the same arguments (once; a value the user set is kept). Returns when no
// re-execution was needed or possible.
void reexec_with_openmp_environment(char** argv);

// Sets OpenBLAS's own thread count for as long as it lives, then restores it; does nothing where
// LibTorch's BLAS is not OpenBLAS. bf16 training does its large matmuls in oneDNN on LibTorch's
// threads and leaves OpenBLAS only small float32 ones, after each of which OpenBLAS's second
// thread keeps yielding the core the other pool needs (built-in recipe: 0.73 -> 0.66 s per DiT
// step with one thread; docs/performance.md).
class ScopedBLASThreads {
 public:
  explicit ScopedBLASThreads(int threads);
  ~ScopedBLASThreads();
  ScopedBLASThreads(const ScopedBLASThreads&) = delete;
  ScopedBLASThreads& operator=(const ScopedBLASThreads&) = delete;

 private:
  int previous_ = 0;  // 0: nothing was changed
};

// One line per fact, for `reelforge info` and bug reports.
std::string describe(const ComputeInfo& info);

}  // namespace reelforge
