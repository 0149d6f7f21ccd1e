#include "bench_support.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <fstream>

#include "reelforge/core/error.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"

namespace reelforge::cli {

double seconds_since(BenchClock::time_point start) {
  return std::chrono::duration<double>(BenchClock::now() - start).count();
}

int64_t proc_status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

bool reset_peak_rss() {
  {
    std::ofstream out("/proc/self/clear_refs");
    if (!out) return false;
    out << "5";
    if (!out.flush()) return false;
  }
  return proc_status_bytes("VmHWM") <= proc_status_bytes("VmRSS") + (int64_t(4) << 20);
}

std::pair<int64_t, int64_t> parse_size_option(const std::string& text) {
  const size_t x = text.find('x');
  try {
    if (x != std::string::npos) {
      size_t end_w = 0, end_h = 0;
      const long long w = std::stoll(text.substr(0, x), &end_w);
      const long long h = std::stoll(text.substr(x + 1), &end_h);
      if (end_w == x && end_h == text.size() - x - 1) return {w, h};
    }
  } catch (const std::exception&) {
  }
  throw Error(ErrorCategory::InvalidArgument,
              "--size expects WIDTHxHEIGHT, e.g. 160x96; got '" + text + "'");
}

namespace {

// Best of 3 runs of `op` (after a warm-up), synchronised through a scalar read.
template <typename Op>
double best_seconds(Op op) {
  (void)op().sum().template item<double>();
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    const auto start = BenchClock::now();
    (void)op().sum().template item<double>();
    best = std::min(best, seconds_since(start));
  }
  return best;
}

}  // namespace

double matmul_rate_gflops(c10::ScalarType dtype, const c10::Device& device) {
  c10::InferenceMode guard;
  const int64_t n = 3072;
  const auto opt = at::TensorOptions().dtype(dtype).device(device);
  const at::Tensor a = at::randn({n, n}, opt), b = at::randn({n, n}, opt);
  return 2.0 * double(n) * n * n / best_seconds([&] { return at::mm(a, b); }) / 1e9;
}

double conv3d_rate_gflops(c10::ScalarType dtype, const c10::Device& device) {
  c10::InferenceMode guard;
  const int64_t c = 192, t = 6, h = 48, w = 80;
  const auto opt = at::TensorOptions().dtype(dtype).device(device);
  const at::Tensor x = at::randn({1, c, t, h, w}, opt);
  const at::Tensor weight = at::randn({c, c, 3, 3, 3}, opt).mul_(0.01);
  const double flops = 2.0 * c * c * 27 * (t - 2) * h * w;
  return flops /
         best_seconds([&] { return at::conv3d(x, weight, {}, {1, 1, 1}, {0, 1, 1}); }) / 1e9;
}

tensors::Checkpoint float32_checkpoint(
    const std::vector<std::pair<std::string, at::Tensor>>& parameters) {
  tensors::NamedTensors named;
  for (const auto& [name, value] : parameters) named.emplace_back(name, value.to(at::kFloat));
  return tensors::Checkpoint::from_safetensors_bytes(tensors::serialize_safetensors(named),
                                                     "float32 copy");
}

}  // namespace reelforge::cli
