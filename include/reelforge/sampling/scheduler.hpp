#pragma once
// Flow-matching solvers with the reference's step-by-step numerics. A Scheduler owns one schedule
// and the multistep state of one sampling run: the pipeline asks it for the timestep, calls the
// model, and hands the velocity back to step(), which returns the next, less noisy sample.
//
//   auto sched = make_scheduler({SolverKind::UniPC, /*steps=*/50, /*shift=*/5.0});
//   while (!sched->done()) {
//     at::Tensor v = model(x, sched->timestep());
//     x = sched->step(v, x);
//   }
//
// All arithmetic of step() is float32 whatever the model's compute dtype (the reference upcasts),
// and the result is float32 on the sample's device. The per-step coefficients are computed on the
// host, so step() never synchronises with a GPU.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "reelforge/core/cancel.hpp"
#include "reelforge/sampling/schedule.hpp"

namespace reelforge::sampling {

struct SchedulerConfig {
  SolverKind solver = SolverKind::UniPC;
  int steps = 50;
  double shift = 5.0;
  SigmaGrid grid = SigmaGrid::SolverDefault;
  int num_train_timesteps = kDefaultTrainTimesteps;
};

// The interface every solver implements. Not thread-safe; one instance per sampling run (or call
// reset() between runs). Buffers for the multistep history are kept across steps and runs, so a
// second run of the same size allocates little.
class Scheduler {
 public:
  virtual ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  SolverKind kind() const { return kind_; }
  const Schedule& schedule() const { return schedule_; }
  const std::vector<int64_t>& timesteps() const { return schedule_.timesteps; }  // [S]
  const std::vector<float>& sigmas() const { return schedule_.sigmas; }          // [S + 1]
  int num_steps() const { return schedule_.steps(); }

  // The index of the step the next step() call performs; num_steps() when finished.
  int step_index() const { return step_index_; }
  bool done() const { return step_index_ >= num_steps(); }
  // Timestep and sigma of the next step (what to call the model with). Error(InvalidArgument)
  // once done().
  int64_t timestep() const;
  float sigma() const;

  // One solver step: `model_output` is the velocity the model predicted for `sample` at
  // timestep(); both have the same shape and device (any floating dtype). Returns the sample at
  // sigmas()[step_index() + 1] as a new float32 tensor and advances. Error(InvalidArgument) on
  // mismatched shapes or devices or when called after the last step.
  at::Tensor step(const at::Tensor& model_output, const at::Tensor& sample);

  // Forgets the multistep history and starts again at `start_step` (0..num_steps(); see
  // start_for_strength()). A run that starts late begins with first-order steps, as the
  // reference does with set_begin_index().
  void reset(int start_step = 0);

 protected:
  Scheduler(SolverKind kind, Schedule schedule);
  // `v` and `x` are float32 and same-shaped; `i` is the step index.
  virtual at::Tensor step_impl(const at::Tensor& v, const at::Tensor& x, int i) = 0;
  virtual void reset_state() = 0;

 private:
  SolverKind kind_;
  Schedule schedule_;
  int step_index_ = 0;
};

// Builds the solver. Error(InvalidArgument) for bad steps / shift (see make_schedule()) and for
// UniPC on the FromOne grid: its second-order corrector divides by lambda(1) = -inf there.
std::unique_ptr<Scheduler> make_scheduler(const SchedulerConfig& config);

// The model as the sampling loop sees it: velocity for `sample` at `timestep` (0..1000 scale).
using VelocityFn = std::function<at::Tensor(const at::Tensor& sample, int64_t timestep)>;

// Runs the scheduler from its current step to the end: x = step(model(x, t), x). Reports progress
// as stage "sample" after each step and checks `cancel` before each model call (Error(Cancelled)).
at::Tensor run_sampling(Scheduler& scheduler, at::Tensor sample, const VelocityFn& model,
                        const ProgressCallback& progress = {},
                        const CancellationToken& cancel = CancellationToken());

// Flow-matching interpolation x = (1 - sigma) * clean + sigma * noise, in float32 (the reference's
// add_noise / scale_noise). Error(InvalidArgument) for sigma outside [0, 1] or mismatched shapes.
at::Tensor add_noise(const at::Tensor& clean, const at::Tensor& noise, float sigma);

}  // namespace reelforge::sampling
