#include "bench_support.hpp"

#include <fstream>

#include "reelforge/core/error.hpp"

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

}  // namespace reelforge::cli
