#include "progress_printer.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace reelforge::cli {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

ProgressPrinter::ProgressPrinter() : tty_(::isatty(STDERR_FILENO) == 1) {}

ProgressPrinter::~ProgressPrinter() {
  if (tty_ && drawn_) std::fputc('\n', stderr);
}

ProgressCallback ProgressPrinter::callback() {
  return [this](const Progress& p) { (*this)(p); };
}

void ProgressPrinter::operator()(const Progress& p) {
  const auto now = std::chrono::steady_clock::now();
  if (p.stage != stage_) {
    if (tty_ && drawn_) std::fputc('\n', stderr);
    stage_ = p.stage;
    stage_start_ = now;
    last_percent_ = -1;
    drawn_ = false;
  }
  const int percent = p.total > 0 ? int(100 * p.step / p.total) : 0;
  // A terminal redraws on every percent; a log gets a line per 10% so it stays readable.
  const int bucket = tty_ ? percent : percent / 10;
  if (bucket == last_percent_ && p.step != p.total) return;
  last_percent_ = bucket;
  const double elapsed = std::chrono::duration<double>(now - stage_start_).count();
  const double eta = (p.total > 0 && p.step > 0) ? elapsed * double(p.total - p.step) / double(p.step) : -1;
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = p.total > 0 ? int(kWidth * p.step / p.total) : 0;
    std::string bar(size_t(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%-10s [%s] %3d%% %lld/%lld  ETA %s  %s\x1b[K", p.stage.c_str(), bar.c_str(),
                 percent, (long long)p.step, (long long)p.total, format_duration(eta).c_str(),
                 p.detail.c_str());
    drawn_ = true;
  } else {
    std::fprintf(stderr, "%s: %d%% (%lld/%lld) ETA %s%s%s\n", p.stage.c_str(), percent, (long long)p.step,
                 (long long)p.total, format_duration(eta).c_str(), p.detail.empty() ? "" : " ",
                 p.detail.c_str());
  }
  std::fflush(stderr);
}

}  // namespace reelforge::cli
