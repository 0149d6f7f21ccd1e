#pragma once
// The concrete solvers behind make_scheduler(). Private to the sampling module: callers only see
// the Scheduler interface.

#include <memory>

#include "reelforge/sampling/scheduler.hpp"

namespace reelforge::sampling::detail {

std::unique_ptr<Scheduler> make_euler(Schedule schedule);
std::unique_ptr<Scheduler> make_unipc(Schedule schedule);
std::unique_ptr<Scheduler> make_dpmpp(Schedule schedule);

// lambda(sigma) = log(alpha) - log(sigma) with alpha = 1 - sigma: the half log-SNR the
// exponential-integrator solvers step in. float32 like the reference's 0-d tensors, and IEEE on
// purpose: lambda(1) = -inf and lambda(0) = +inf carry the first and last steps.
float flow_lambda(float sigma);

// Reusable scratch tensor: re-allocated only when the shape or device changes.
at::Tensor& scratch_like(at::Tensor& buffer, const at::Tensor& like);

}  // namespace reelforge::sampling::detail
