#include "reelforge/sampling/schedule.hpp"

#include <cmath>
#include <sstream>
#include <string>

#include "reelforge/core/error.hpp"

namespace reelforge::sampling {
namespace {

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// numpy.linspace(start, stop, num) element i (< num - 1): i * step + start with
// step = (stop - start) / (num - 1). Two separate roundings, as numpy does them; the last element
// (stop itself) is never needed here. The separate statements keep the compiler from fusing the
// multiply-add, which would change the last bit and, through truncation, a timestep.
double linspace_at(double start, double stop, int num, int i) {
  const double step = (stop - start) / static_cast<double>(num - 1);
  double value = static_cast<double>(i) * step;
  value += start;
  return value;
}

}  // namespace

const char* to_string(SolverKind kind) {
  switch (kind) {
    case SolverKind::Euler:
      return "euler";
    case SolverKind::UniPC:
      return "unipc";
    case SolverKind::DPMpp:
      return "dpm++";
  }
  return "?";
}

SolverKind parse_solver_kind(std::string_view name) {
  if (name == "euler") return SolverKind::Euler;
  if (name == "unipc") return SolverKind::UniPC;
  if (name == "dpm++" || name == "dpmpp") return SolverKind::DPMpp;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown solver '" + std::string(name) + "'; valid: euler, unipc, dpm++");
}

SigmaGrid resolve_grid(SigmaGrid grid, SolverKind kind) {
  if (grid != SigmaGrid::SolverDefault) return grid;
  return kind == SolverKind::UniPC ? SigmaGrid::FromTrainingMax : SigmaGrid::FromOne;
}

double shift_sigma(double sigma, double shift) {
  // shift * sigma / (1 + (shift - 1) * sigma), rounded step by step like the numpy expression.
  const double numerator = shift * sigma;
  double denominator = (shift - 1.0) * sigma;
  denominator += 1.0;
  return numerator / denominator;
}

Schedule make_schedule(SigmaGrid grid, int steps, double shift, int num_train_timesteps) {
  if (num_train_timesteps < 2) {
    throw Error(ErrorCategory::InvalidArgument, "num_train_timesteps " +
                                                    std::to_string(num_train_timesteps) +
                                                    " is too small; valid: 2 or more (Wan: 1000)");
  }
  if (steps < 1 || steps > num_train_timesteps) {
    throw Error(ErrorCategory::InvalidArgument, "sampling steps " + std::to_string(steps) +
                                                    " is out of range; valid: 1 to " +
                                                    std::to_string(num_train_timesteps));
  }
  if (!std::isfinite(shift) || shift <= 0.0) {
    throw Error(ErrorCategory::InvalidArgument,
                "timestep shift " + format_number(shift) +
                    " is not valid; it must be a finite number > 0 (1 = no shift)");
  }

  double start = 1.0;
  switch (grid) {
    case SigmaGrid::FromOne:
      break;
    case SigmaGrid::FromTrainingMax:
      // The top of the 1000-step training grid, 1 - 1/N, after the reference's float32 round trip:
      // float32(0.999) = 0.9990000128746033 for N = 1000.
      start = static_cast<double>(static_cast<float>(1.0 - 1.0 / num_train_timesteps));
      break;
    case SigmaGrid::SolverDefault:
      throw Error(ErrorCategory::InvalidArgument,
                  "a schedule needs a concrete sigma grid; resolve SolverDefault with "
                  "resolve_grid() first");
  }

  Schedule schedule;
  schedule.timesteps.reserve(steps);
  schedule.sigmas.reserve(steps + 1);
  schedule.sigmas_f64.reserve(steps);
  for (int i = 0; i < steps; ++i) {
    const double sigma = shift_sigma(linspace_at(start, 0.0, steps + 1, i), shift);
    schedule.sigmas_f64.push_back(sigma);
    // numpy's float64 product, then torch's float -> int64 conversion, which truncates.
    schedule.timesteps.push_back(
        static_cast<int64_t>(sigma * static_cast<double>(num_train_timesteps)));
    schedule.sigmas.push_back(static_cast<float>(sigma));
  }
  schedule.sigmas.push_back(0.0f);  // final_sigmas_type "zero"
  return schedule;
}

StrengthStart start_for_strength(const Schedule& schedule, double strength) {
  if (!(strength >= 0.0 && strength <= 1.0)) {  // also rejects NaN
    throw Error(ErrorCategory::InvalidArgument,
                "strength " + format_number(strength) +
                    " is out of range; valid: 0 (keep the input) to 1 (ignore it)");
  }
  const int steps = schedule.steps();
  int to_run = static_cast<int>(std::floor(static_cast<double>(steps) * strength + 1e-9));
  if (to_run > steps) to_run = steps;
  StrengthStart start;
  start.start_step = steps - to_run;
  start.steps_to_run = to_run;
  start.sigma = schedule.sigmas.at(start.start_step);
  return start;
}

}  // namespace reelforge::sampling
