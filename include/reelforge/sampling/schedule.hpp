#pragma once
// Flow-matching noise schedules as Wan's samplers build them, reproduced bit for bit: the sigma
// grid (with Wan's timestep shift), the int64 timesteps the model is called with, and where a
// video-to-video run starts for a given strength. Torch-free: a schedule is a few dozen numbers.
//
// Flow matching interpolates linearly between data and noise: x(sigma) = (1 - sigma) * x0 +
// sigma * noise, sigma in [0, 1]; the model predicts the velocity v = noise - x0.

#include <cstdint>
#include <string_view>
#include <vector>

namespace reelforge::sampling {

// The solvers of Wan's reference code (wan/utils/fm_solvers*.py) plus the plain Euler step.
enum class SolverKind {
  Euler,  // x += (sigma_next - sigma) * v; first order, one model call per step
  UniPC,  // FlowUniPCMultistepScheduler: bh2, predict_x0, order 2, lower_order_final (Wan default)
  DPMpp,  // FlowDPMSolverMultistepScheduler: dpmsolver++ 2M, midpoint, lower_order_final
};

const char* to_string(SolverKind kind);  // "euler", "unipc", "dpm++" (Wan's --sample_solver names)
// Accepts "euler", "unipc", "dpm++" and "dpmpp"; Error(InvalidArgument) listing them otherwise.
SolverKind parse_solver_kind(std::string_view name);

// Where the unshifted grid starts. The two Wan solvers differ here, and the difference is visible
// in the timesteps (999 vs 1000 for the first step), so it is part of the schedule's identity.
enum class SigmaGrid {
  SolverDefault,    // FromTrainingMax for UniPC, FromOne for DPM++ and Euler
  FromTrainingMax,  // linspace(float32(1 - 1/N), 0, S + 1)[:S]: FlowUniPCMultistepScheduler
  FromOne,          // linspace(1, 0, S + 1)[:S]: get_sampling_sigmas(), used with DPM++
};

SigmaGrid resolve_grid(SigmaGrid grid, SolverKind kind);  // never returns SolverDefault

inline constexpr int kDefaultTrainTimesteps = 1000;

struct Schedule {
  std::vector<int64_t> timesteps;  // [S] int64(sigma * N) of the float64 sigmas, truncated
  std::vector<float> sigmas;       // [S + 1] the float64 sigmas rounded to float32, then 0
  std::vector<double> sigmas_f64;  // [S] shifted sigmas before the float32 rounding
  int steps() const { return static_cast<int>(timesteps.size()); }
};

// Wan's timestep shift, s' = k*s / (1 + (k - 1)*s), evaluated in the reference's order in double.
// k > 1 spends more of the steps at high noise; k = 1 is the identity.
double shift_sigma(double sigma, double shift);

// The schedule of `steps` steps with `shift`, exactly as the reference computes it (numpy linspace
// in float64, shift, truncation to int64, float32 sigmas with a final 0). Error(InvalidArgument)
// for steps outside 1..num_train_timesteps, shift not a finite number > 0, or grid SolverDefault.
Schedule make_schedule(SigmaGrid grid, int steps, double shift,
                       int num_train_timesteps = kDefaultTrainTimesteps);

// Where a run that starts from a clean latent (video-to-video, image-to-video re-noising) begins.
struct StrengthStart {
  int start_step = 0;  // first step to run; == steps() when there is nothing to run (strength 0)
  int steps_to_run = 0;
  float sigma = 0.0f;  // the schedule's sigma at start_step: noise the clean latent to this level
};

// Strength in [0, 1]: the share of the schedule to run, as diffusers' img2img pipelines count it:
// floor(steps * strength) steps from the end (a 1e-9 slack keeps 0.29 * 100 at 29 steps).
// Strength 1 runs every step, 0 none. Error(InvalidArgument) outside [0, 1] or NaN.
StrengthStart start_for_strength(const Schedule& schedule, double strength);

}  // namespace reelforge::sampling
