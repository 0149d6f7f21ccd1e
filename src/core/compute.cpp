#include "reelforge/core/compute.hpp"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "reelforge/core/error.hpp"

namespace reelforge {
namespace {

struct CpuFacts {
  std::string name;
  bool native_bf16 = false;
};

CpuFacts read_cpu_facts() {
  CpuFacts facts;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && facts.name.empty()) facts.name = value;
    if (key == "flags") {
      std::istringstream flags(value);
      std::string flag;
      while (flags >> flag) {
        if (flag == "avx512_bf16" || flag == "amx_bf16") facts.native_bf16 = true;
      }
      break;
    }
  }
  return facts;
}

std::mutex g_mutex;
std::optional<ComputeInfo> g_info;

}  // namespace

namespace {

// glibc serves blocks above its (adaptive) mmap threshold with fresh mmaps and gives them back on
// free, so every forward pass page-faults its activations in again: measured ~3 s of kernel time
// per Wan 1.3B forward here. Serving blocks up to 32 MiB from the heap and never trimming it
// makes steady-state passes reuse memory that is already mapped (bench dit bf16: 3.36 s -> 2.75 s,
// first pass 4.42 s -> 3.25 s). The cost: the heap keeps its high-water mark.
void keep_freed_memory_for_reuse() {
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    return true;
  }();
  (void)done;
}

}  // namespace

namespace {

// OpenBLAS's thread controls, when LibTorch was linked with it (looked up at run time, so that a
// build against another BLAS still links).
struct OpenBLASControls {
  int (*get)() = nullptr;
  void (*set)(int) = nullptr;
};

const OpenBLASControls& openblas_controls() {
  static const OpenBLASControls controls = [] {
    OpenBLASControls c;
    c.get = reinterpret_cast<int (*)()>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    c.set = reinterpret_cast<void (*)(int)>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (c.get == nullptr || c.set == nullptr) c = {};
    return c;
  }();
  return controls;
}

}  // namespace

ScopedBLASThreads::ScopedBLASThreads(int threads) {
  const OpenBLASControls& blas = openblas_controls();
  if (blas.set == nullptr || threads < 1) return;
  previous_ = blas.get();
  if (previous_ == threads) {
    previous_ = 0;
    return;
  }
  blas.set(threads);
}

ScopedBLASThreads::~ScopedBLASThreads() {
  if (previous_ > 0) openblas_controls().set(previous_);
}

void reexec_with_openmp_environment(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  ::setenv("GOMP_SPINCOUNT", kOpenMPSpinCount, 1);
  ::execv("/proc/self/exe", argv);
  // Still here: exec failed (no /proc?). Run on with libgomp's defaults, only slower.
  spdlog::debug("could not re-execute with GOMP_SPINCOUNT set: {}", std::strerror(errno));
}

ComputeInfo init_compute(const ComputeOptions& options) {
  std::lock_guard<std::mutex> lock(g_mutex);
  static const CpuFacts cpu = read_cpu_facts();
  ComputeInfo info;
  info.torch_version = TORCH_VERSION;
  info.cpu_name = cpu.name;
  info.cpu_has_native_bf16 = cpu.native_bf16;
  info.cuda_available = torch::cuda::is_available();

  switch (options.device) {
    case Device::Auto: info.device = info.cuda_available ? Device::CUDA : Device::CPU; break;
    case Device::CPU: info.device = Device::CPU; break;
    case Device::CUDA:
      if (!info.cuda_available) {
        throw Error(ErrorCategory::Unsupported,
                    "CUDA was requested but no CUDA device is available (this LibTorch " +
                        info.torch_version + " build or this machine has none); use --device cpu");
      }
      info.device = Device::CUDA;
      break;
  }
  switch (options.dtype) {
    case ComputeDType::Auto:
      info.dtype = (info.device == Device::CUDA || info.cpu_has_native_bf16) ? ComputeDType::BFloat16
                                                                            : ComputeDType::Float32;
      break;
    default: info.dtype = options.dtype;
  }

  if (options.threads < 0) {
    throw Error(ErrorCategory::InvalidArgument,
                "thread count " + std::to_string(options.threads) + " is negative; use 0 for automatic");
  }
  keep_freed_memory_for_reuse();
  const int hw = std::max(1u, std::thread::hardware_concurrency());
  info.threads = options.threads > 0 ? options.threads : hw;
  at::set_num_threads(info.threads);

  const bool first = !g_info.has_value();
  g_info = info;
  if (first) {
    spdlog::info("LibTorch {} on {}; {} thread(s); device {}; compute dtype {}", info.torch_version,
                 info.cpu_name.empty() ? "unknown CPU" : info.cpu_name, info.threads,
                 to_string(info.device), to_string(info.dtype));
  }
  return info;
}

const ComputeInfo& compute_info() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_info) return *g_info;
  }
  init_compute();
  std::lock_guard<std::mutex> lock(g_mutex);
  return *g_info;
}

Device parse_device(const std::string& name) {
  if (name == "auto") return Device::Auto;
  if (name == "cpu") return Device::CPU;
  if (name == "cuda") return Device::CUDA;
  throw Error(ErrorCategory::InvalidArgument, "unknown device '" + name + "'; valid: auto, cpu, cuda");
}

ComputeDType parse_compute_dtype(const std::string& name) {
  if (name == "auto") return ComputeDType::Auto;
  if (name == "float32" || name == "f32" || name == "fp32") return ComputeDType::Float32;
  if (name == "bf16" || name == "bfloat16") return ComputeDType::BFloat16;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown compute dtype '" + name + "'; valid: auto, float32, bf16");
}

const char* to_string(Device device) {
  switch (device) {
    case Device::Auto: return "auto";
    case Device::CPU: return "cpu";
    case Device::CUDA: return "cuda";
  }
  return "?";
}

const char* to_string(ComputeDType dtype) {
  switch (dtype) {
    case ComputeDType::Auto: return "auto";
    case ComputeDType::Float32: return "float32";
    case ComputeDType::BFloat16: return "bf16";
  }
  return "?";
}

std::string describe(const ComputeInfo& info) {
  std::ostringstream s;
  s << "libtorch: " << info.torch_version << "\n"
    << "cpu: " << (info.cpu_name.empty() ? "unknown" : info.cpu_name)
    << (info.cpu_has_native_bf16 ? " (native bf16)" : " (no native bf16)") << "\n"
    << "threads: " << info.threads << "\n"
    << "cuda: " << (info.cuda_available ? "available" : "not available") << "\n"
    << "device: " << to_string(info.device) << "\n"
    << "compute dtype: " << to_string(info.dtype) << "\n";
  return s.str();
}

}  // namespace reelforge
