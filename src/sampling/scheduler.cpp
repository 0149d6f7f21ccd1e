// The Scheduler base (argument checks, step counting), the factory, the plain Euler solver and the
// sampling loop.

#include "reelforge/sampling/scheduler.hpp"

#include <c10/util/StringUtil.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <sstream>
#include <string>
#include <utility>

#include "reelforge/core/error.hpp"
#include "sampling/solvers.hpp"

namespace reelforge::sampling {
namespace {

// x_{i+1} = x_i + (sigma_{i+1} - sigma_i) * v: the flow ODE's explicit Euler step. Stateless.
class EulerScheduler final : public Scheduler {
 public:
  explicit EulerScheduler(Schedule schedule) : Scheduler(SolverKind::Euler, std::move(schedule)) {}

 protected:
  at::Tensor step_impl(const at::Tensor& v, const at::Tensor& x, int i) override {
    const float dt = sigmas()[i + 1] - sigmas()[i];  // float32, like the reference's 0-d tensors
    return at::mul(v, dt).add_(x);
  }
  void reset_state() override {}
};

}  // namespace

namespace detail {

std::unique_ptr<Scheduler> make_euler(Schedule schedule) {
  return std::make_unique<EulerScheduler>(std::move(schedule));
}

float flow_lambda(float sigma) {
  const float alpha = 1.0f - sigma;
  return std::log(alpha) - std::log(sigma);
}

at::Tensor& scratch_like(at::Tensor& buffer, const at::Tensor& like) {
  if (!buffer.defined() || buffer.sizes() != like.sizes() || buffer.device() != like.device() ||
      buffer.scalar_type() != like.scalar_type() ||
      // An inference tensor cannot be written outside InferenceMode: re-allocate when a run
      // starts in the other mode than the one the buffer was made in.
      buffer.is_inference() != c10::InferenceMode::is_enabled()) {
    buffer = at::empty_like(like, at::MemoryFormat::Contiguous);
  }
  return buffer;
}

}  // namespace detail

Scheduler::Scheduler(SolverKind kind, Schedule schedule)
    : kind_(kind), schedule_(std::move(schedule)) {
  RF_CHECK(schedule_.steps() >= 1 &&
               schedule_.sigmas.size() == static_cast<size_t>(schedule_.steps()) + 1,
           "a schedule has S >= 1 timesteps and S + 1 sigmas");
}

Scheduler::~Scheduler() = default;

int64_t Scheduler::timestep() const {
  if (done()) {
    throw Error(ErrorCategory::InvalidArgument,
                "all " + std::to_string(num_steps()) + " sampling steps are done; call reset()");
  }
  return schedule_.timesteps[step_index_];
}

float Scheduler::sigma() const {
  if (done()) {
    throw Error(ErrorCategory::InvalidArgument,
                "all " + std::to_string(num_steps()) + " sampling steps are done; call reset()");
  }
  return schedule_.sigmas[step_index_];
}

at::Tensor Scheduler::step(const at::Tensor& model_output, const at::Tensor& sample) {
  if (done()) {
    throw Error(ErrorCategory::InvalidArgument, "step() called after the last of " +
                                                    std::to_string(num_steps()) +
                                                    " sampling steps; call reset() to start again");
  }
  if (!model_output.defined() || !sample.defined()) {
    throw Error(ErrorCategory::InvalidArgument, "step() needs a model output and a sample");
  }
  if (model_output.sizes() != sample.sizes()) {
    throw Error(ErrorCategory::InvalidArgument,
                "model output shape " + c10::str(model_output.sizes()) +
                    " differs from the sample shape " + c10::str(sample.sizes()));
  }
  if (model_output.device() != sample.device()) {
    throw Error(ErrorCategory::InvalidArgument,
                "model output is on " + model_output.device().str() + " but the sample is on " +
                    sample.device().str());
  }
  if (!at::isFloatingType(model_output.scalar_type()) ||
      !at::isFloatingType(sample.scalar_type())) {
    throw Error(ErrorCategory::InvalidArgument, "step() needs floating-point tensors");
  }
  // The reference upcasts to float32 for the update; doing it for the model output too keeps the
  // x0 prediction (sample - sigma * v) out of bf16.
  const at::Tensor v = model_output.to(at::kFloat);
  const at::Tensor x = sample.to(at::kFloat);
  at::Tensor next = step_impl(v, x, step_index_);
  ++step_index_;
  return next;
}

void Scheduler::reset(int start_step) {
  if (start_step < 0 || start_step > num_steps()) {
    throw Error(ErrorCategory::InvalidArgument, "start step " + std::to_string(start_step) +
                                                    " is out of range; valid: 0 to " +
                                                    std::to_string(num_steps()));
  }
  reset_state();
  step_index_ = start_step;
}

std::unique_ptr<Scheduler> make_scheduler(const SchedulerConfig& config) {
  const SigmaGrid grid = resolve_grid(config.grid, config.solver);
  if (config.solver == SolverKind::UniPC && grid == SigmaGrid::FromOne) {
    throw Error(ErrorCategory::InvalidArgument,
                "the UniPC solver cannot start from sigma 1 (its corrector divides by "
                "log(0)); use the FromTrainingMax grid, or DPM++ / Euler for FromOne");
  }
  Schedule schedule = make_schedule(grid, config.steps, config.shift, config.num_train_timesteps);
  switch (config.solver) {
    case SolverKind::Euler:
      return detail::make_euler(std::move(schedule));
    case SolverKind::UniPC:
      return detail::make_unipc(std::move(schedule));
    case SolverKind::DPMpp:
      return detail::make_dpmpp(std::move(schedule));
  }
  throw Error(ErrorCategory::InvalidArgument, "unknown solver kind");
}

at::Tensor run_sampling(Scheduler& scheduler, at::Tensor sample, const VelocityFn& model,
                        const ProgressCallback& progress, const CancellationToken& cancel) {
  if (!model) throw Error(ErrorCategory::InvalidArgument, "run_sampling() needs a model");
  const int64_t total = scheduler.num_steps();
  while (!scheduler.done()) {
    cancel.throw_if_cancelled("sampling");
    const int64_t t = scheduler.timestep();
    const at::Tensor v = model(sample, t);
    sample = scheduler.step(v, sample);
    if (progress) {
      progress(Progress{"sample", scheduler.step_index(), total,
                        "t=" + std::to_string(t) + " (" + to_string(scheduler.kind()) + ")"});
    }
  }
  return sample;
}

at::Tensor add_noise(const at::Tensor& clean, const at::Tensor& noise, float sigma) {
  if (!(sigma >= 0.0f && sigma <= 1.0f)) {
    throw Error(ErrorCategory::InvalidArgument,
                "noise level sigma " + std::to_string(sigma) + " is out of range; valid: 0 to 1");
  }
  if (!clean.defined() || !noise.defined() || clean.sizes() != noise.sizes()) {
    throw Error(ErrorCategory::InvalidArgument,
                "the clean latent and the noise must have the same shape; got " +
                    (clean.defined() ? c10::str(clean.sizes()) : std::string("undefined")) +
                    " and " +
                    (noise.defined() ? c10::str(noise.sizes()) : std::string("undefined")));
  }
  const at::Tensor x0 = clean.to(at::kFloat);
  const at::Tensor n = noise.to(x0.device(), at::kFloat);
  // (1 - sigma) * x0 + sigma * noise; alpha is rounded to float32 first, as the reference's
  // 1 - sigma on a float32 tensor.
  const float alpha = 1.0f - sigma;
  return at::mul(x0, alpha).add_(at::mul(n, sigma));
}

}  // namespace reelforge::sampling
