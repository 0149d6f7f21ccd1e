// UniPC for flow matching, as Wan's FlowUniPCMultistepScheduler (wan/utils/fm_solvers_unipc.py,
// itself diffusers' UniPCMultistepScheduler converted to flow prediction) runs with Wan's settings:
// solver_order 2, predict_x0, bh2, lower_order_final, final sigma 0, no disabled correctors.
//
// Each step: (1) convert the velocity to an x0 prediction, x0 = x - sigma * v; (2) from the second
// step on, the corrector UniC re-does the previous step with the new x0 and replaces the current
// sample; (3) the predictor UniP extrapolates to the next sigma, with order 1 at the first and last
// steps and order 2 otherwise. Coefficients are float32 scalars computed on the host in the
// reference's operation order; tensor terms are rounded one operation at a time like its 0-d
// tensor arithmetic.

#include <ATen/ATen.h>

#include <array>
#include <cmath>
#include <utility>

#include "reelforge/core/error.hpp"
#include "sampling/solvers.hpp"

namespace reelforge::sampling::detail {
namespace {

constexpr int kSolverOrder = 2;

// rho for the order-2 corrector: the solution of [[1, 1], [rk, 1]] rho = b, solved like
// torch.linalg.solve (LU with partial pivoting) in float32.
std::array<float, 2> solve_2x2(float rk, float b0, float b1) {
  float a00 = 1.0f, a01 = 1.0f, a10 = rk, a11 = 1.0f;
  if (std::fabs(a10) > std::fabs(a00)) {
    std::swap(a00, a10);
    std::swap(a01, a11);
    std::swap(b0, b1);
  }
  const float l10 = a10 / a00;
  const float u11 = a11 - l10 * a01;
  const float y1 = b1 - l10 * b0;
  const float x1 = y1 / u11;
  const float x0 = (b0 - a01 * x1) / a00;
  return {x0, x1};
}

class UniPCScheduler final : public Scheduler {
 public:
  explicit UniPCScheduler(Schedule schedule) : Scheduler(SolverKind::UniPC, std::move(schedule)) {}

 protected:
  at::Tensor step_impl(const at::Tensor& v, const at::Tensor& x, int i) override {
    const std::vector<float>& sig = sigmas();

    // x0 prediction into the history slot of step i - 3, which nothing needs any more.
    const int slot = (newest_ + 1) % 3;
    at::Tensor& x0 = scratch_like(history_[slot], x);
    at::mul_out(x0, v, sig[i]);  // [same as x]
    at::sub_out(x0, x, x0);

    if (has_last_sample_) {
      correct(x0, i);  // last_sample_ becomes the corrected current sample
    } else {
      scratch_like(last_sample_, x).copy_(x);
      has_last_sample_ = true;
    }

    const int previous = newest_;
    newest_ = slot;
    int order = std::min(kSolverOrder, num_steps() - i);  // lower_order_final
    order = std::min(order, lower_order_nums_ + 1);       // warm-up of the multistep history
    RF_CHECK(order >= 1, "UniPC order is at least 1");
    this_order_ = order;
    if (lower_order_nums_ < kSolverOrder) ++lower_order_nums_;

    return predict(order, i, previous);
  }

  void reset_state() override {
    newest_ = -1;
    has_last_sample_ = false;
    lower_order_nums_ = 0;
    this_order_ = 1;
  }

 private:
  // UniP: x_{i+1} from the (corrected) sample at step i and the x0 predictions of steps i, i-1.
  at::Tensor predict(int order, int i, int previous) {
    const std::vector<float>& sig = sigmas();
    const float sigma_t = sig[i + 1];
    const float sigma_s0 = sig[i];
    const float alpha_t = 1.0f - sigma_t;
    const float lambda_s0 = flow_lambda(sigma_s0);
    const float h = flow_lambda(sigma_t) - lambda_s0;  // +inf on the last step (sigma_t = 0)
    const float hh = -h;                               // predict_x0
    const float h_phi_1 = std::expm1(hh);
    const float b_h = std::expm1(hh);  // bh2

    const at::Tensor& m0 = history_[newest_];
    at::Tensor out = at::mul(last_sample_, sigma_t / sigma_s0);  // [same as x]
    at::Tensor& work = scratch_like(work_, out);
    at::mul_out(work, m0, alpha_t * h_phi_1);
    out.sub_(work);
    if (order == 2) {
      // D1 = (m1 - m0) / rk; the order-2 predictor uses rho = 0.5 (the reference's shortcut).
      const float rk = (flow_lambda(sig[i - 1]) - lambda_s0) / h;
      at::sub_out(work, history_[previous], m0).div_(rk).mul_(0.5f);
      work.mul_(alpha_t * b_h);
      out.sub_(work);
    }
    return out;
  }

  // UniC: re-does step i-1 with x0_i (`model_t`) and replaces last_sample_ with the result.
  void correct(const at::Tensor& model_t, int i) {
    const std::vector<float>& sig = sigmas();
    const int order = this_order_;  // the order step i-1 predicted with
    const float sigma_t = sig[i];
    const float sigma_s0 = sig[i - 1];
    const float alpha_t = 1.0f - sigma_t;
    const float lambda_s0 = flow_lambda(sigma_s0);
    const float h = flow_lambda(sigma_t) - lambda_s0;
    const float hh = -h;
    const float h_phi_1 = std::expm1(hh);
    const float b_h = std::expm1(hh);

    const at::Tensor& m0 = history_[newest_];
    at::Tensor& work = scratch_like(work_, model_t);
    at::Tensor& corr = scratch_like(work2_, model_t);
    at::sub_out(corr, model_t, m0);  // D1_t
    if (order == 1) {
      corr.mul_(0.5f);  // rhos_c = [0.5]
    } else {
      RF_CHECK(order == 2 && i >= 2, "UniC order 2 needs two earlier model outputs");
      const int older = (newest_ + 2) % 3;  // x0 of step i - 2
      const float rk = (flow_lambda(sig[i - 2]) - lambda_s0) / h;
      // b_k = h_phi_k * k! / B(h), h_phi_{k+1} = h_phi_k / hh - 1 / (k+1)!
      float h_phi_k = h_phi_1 / hh - 1.0f;
      const float b0 = h_phi_k * 1.0f / b_h;
      h_phi_k = h_phi_k / hh - 0.5f;
      const float b1 = h_phi_k * 2.0f / b_h;
      const std::array<float, 2> rho = solve_2x2(rk, b0, b1);
      corr.mul_(rho[1]);                                             // rho_last * D1_t
      at::sub_out(work, history_[older], m0).div_(rk).mul_(rho[0]);  // rho_0 * D1
      corr.add_(work);
    }
    corr.mul_(alpha_t * b_h);
    at::Tensor& x = last_sample_;  // in place: the corrected sample replaces the predicted one
    x.mul_(sigma_t / sigma_s0);
    at::mul_out(work, m0, alpha_t * h_phi_1);
    x.sub_(work).sub_(corr);
  }

  std::array<at::Tensor, 3> history_;  // x0 predictions of the last steps, a ring
  int newest_ = -1;                    // slot of the newest x0 prediction
  at::Tensor last_sample_;             // the current sample (after correction)
  bool has_last_sample_ = false;
  int lower_order_nums_ = 0;
  int this_order_ = 1;
  at::Tensor work_, work2_;
};

}  // namespace

std::unique_ptr<Scheduler> make_unipc(Schedule schedule) {
  return std::make_unique<UniPCScheduler>(std::move(schedule));
}

}  // namespace reelforge::sampling::detail
