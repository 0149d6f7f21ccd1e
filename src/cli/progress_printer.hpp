#pragma once
// Shows a core ProgressCallback on the terminal: a redrawn bar with ETA when stderr is a terminal,
// plain progress lines (one per 10%) when it is a pipe or a log file.

#include <chrono>
#include <string>

#include "reelforge/core/cancel.hpp"

namespace reelforge::cli {

class ProgressPrinter {
 public:
  ProgressPrinter();
  ~ProgressPrinter();  // ends the bar's line
  void operator()(const Progress& p);
  ProgressCallback callback();

 private:
  bool tty_;
  std::string stage_;
  int last_percent_ = -1;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point stage_start_;
};

std::string format_duration(double seconds);

}  // namespace reelforge::cli
