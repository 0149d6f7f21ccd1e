#include "reelforge/sampling/guidance.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "reelforge/core/error.hpp"

namespace reelforge::sampling {

bool needs_unconditional_pass(double guidance_scale) { return guidance_scale != 1.0; }

at::Tensor apply_guidance(const at::Tensor& cond, const at::Tensor& uncond, double guidance_scale) {
  if (!std::isfinite(guidance_scale)) {
    throw Error(ErrorCategory::InvalidArgument,
                "guidance scale " + std::to_string(guidance_scale) +
                    " is not a finite number (Wan uses 5.0; 1 disables guidance)");
  }
  if (!cond.defined()) {
    throw Error(ErrorCategory::InvalidArgument, "guidance needs the conditional model output");
  }
  if (!needs_unconditional_pass(guidance_scale)) return cond.to(at::kFloat);
  if (!uncond.defined() || uncond.sizes() != cond.sizes()) {
    throw Error(ErrorCategory::InvalidArgument,
                "guidance scale " + std::to_string(guidance_scale) +
                    " needs an unconditional output of the same shape as the conditional one");
  }
  const at::Tensor u = uncond.to(cond.device(), at::kFloat);
  // uncond + scale * (cond - uncond), rounded in the reference's order; one fresh tensor.
  at::Tensor out = at::sub(cond.to(at::kFloat), u);
  out.mul_(guidance_scale).add_(u);
  return out;
}

}  // namespace reelforge::sampling
