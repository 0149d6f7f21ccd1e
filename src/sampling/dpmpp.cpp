// DPM-Solver++ 2M for flow matching, as Wan's FlowDPMSolverMultistepScheduler
// (wan/utils/fm_solvers.py, from diffusers' DPMSolverMultistepScheduler) runs with Wan's settings:
// algorithm dpmsolver++, solver_order 2, midpoint, lower_order_final, final sigma 0.
//
// The first step and the last step are first order (a DDIM-like exponential-integrator step on the
// x0 prediction); the steps in between add the midpoint correction from the previous x0.
//
// The grid starts at sigma = 1, where lambda = log(1 - sigma) - log(sigma) = -inf. The reference
// relies on IEEE arithmetic there and so do we: h = +inf, exp(-h) = 0 makes step 0 the exact
// interpolation sigma_1 * x + (1 - sigma_1) * x0, and at step 1 r0 = inf makes the second-order
// term 0 * (m0 - m1). That term is skipped when its factor is exactly 0, which gives the same bits
// for any finite model output. At the last step sigma_next = 0 gives lambda = +inf and the result
// is exactly the x0 prediction.

#include <ATen/ATen.h>

#include <array>
#include <cmath>
#include <utility>

#include "reelforge/core/error.hpp"
#include "sampling/solvers.hpp"

namespace reelforge::sampling::detail {
namespace {

constexpr int kSolverOrder = 2;

class DPMppScheduler final : public Scheduler {
 public:
  explicit DPMppScheduler(Schedule schedule) : Scheduler(SolverKind::DPMpp, std::move(schedule)) {}

 protected:
  at::Tensor step_impl(const at::Tensor& v, const at::Tensor& x, int i) override {
    const std::vector<float>& sig = sigmas();

    // x0 prediction into the slot of step i - 2, which the 2M update no longer needs.
    const int previous = newest_;
    const int slot = (newest_ + 1) % 2;
    at::Tensor& m0 = scratch_like(history_[slot], x);
    at::mul_out(m0, v, sig[i]);  // [same as x]
    at::sub_out(m0, x, m0);
    newest_ = slot;

    // final_sigmas_type "zero" forces a first-order last step whatever the step count.
    const bool first_order = lower_order_nums_ < 1 || i == num_steps() - 1;

    const float sigma_t = sig[i + 1];
    const float sigma_s0 = sig[i];
    const float alpha_t = 1.0f - sigma_t;
    const float lambda_s0 = flow_lambda(sigma_s0);
    const float h = flow_lambda(sigma_t) - lambda_s0;
    const float c = alpha_t * (std::exp(-h) - 1.0f);

    // x_t = (sigma_t / sigma_s0) * x - c * D0 [- 0.5 * c * D1]
    at::Tensor out = at::mul(x, sigma_t / sigma_s0);
    at::Tensor& work = scratch_like(work_, out);
    at::mul_out(work, m0, c);
    out.sub_(work);
    if (!first_order) {
      const float h_0 = lambda_s0 - flow_lambda(sig[i - 1]);
      const float r0 = h_0 / h;
      const float inv_r0 = 1.0f / r0;  // 0 at step 1 of a grid that starts at sigma 1
      if (inv_r0 != 0.0f) {
        at::sub_out(work, m0, history_[previous]).mul_(inv_r0);  // D1 = (m0 - m1) / r0
        work.mul_(0.5f * c);
        out.sub_(work);
      }
    }
    if (lower_order_nums_ < kSolverOrder) ++lower_order_nums_;
    return out;
  }

  void reset_state() override {
    newest_ = -1;
    lower_order_nums_ = 0;
  }

 private:
  std::array<at::Tensor, 2> history_;  // x0 predictions of steps i - 1 and i, a ring
  int newest_ = -1;
  int lower_order_nums_ = 0;
  at::Tensor work_;
};

}  // namespace

std::unique_ptr<Scheduler> make_dpmpp(Schedule schedule) {
  return std::make_unique<DPMppScheduler>(std::move(schedule));
}

}  // namespace reelforge::sampling::detail
