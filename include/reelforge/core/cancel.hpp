#pragma once
// Progress reporting and cooperative cancellation for long work (encoding, sampling, rendering).
// Long operations take a ProgressCallback and a CancellationToken, check the token at least once
// per step and leave no partial output under a final name when it fires.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace reelforge {

class CancellationToken {
 public:
  CancellationToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}

  // Copies share the flag: cancel() on any copy is seen by all of them.
  void cancel() const { flag_->store(true, std::memory_order_relaxed); }
  bool cancelled() const { return flag_->load(std::memory_order_relaxed); }
  // Throws Error(Cancelled) naming `what` when the token has fired.
  void throw_if_cancelled(const std::string& what = {}) const;

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

struct Progress {
  std::string stage;   // "encode", "decode", "sample", ...
  int64_t step = 0;    // steps finished so far
  int64_t total = 0;   // 0 when unknown
  std::string detail;  // free text for a log line
};

using ProgressCallback = std::function<void(const Progress&)>;

}  // namespace reelforge
