// Solver behaviour that holds for any model: straight flows are integrated exactly, the last step
// lands on the x0 prediction, the sigma = 1 start of DPM++ stays finite, higher order beats Euler,
// reset() and late starts (video-to-video) behave, and misuse gives clear errors.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "reelforge/core/error.hpp"
#include "reelforge/sampling/noise.hpp"
#include "reelforge/sampling/scheduler.hpp"

namespace rs = reelforge::sampling;
using reelforge::Error;
using reelforge::ErrorCategory;

namespace {

const rs::SolverKind kAllSolvers[] = {rs::SolverKind::Euler, rs::SolverKind::UniPC,
                                      rs::SolverKind::DPMpp};

std::unique_ptr<rs::Scheduler> make(rs::SolverKind kind, int steps, double shift) {
  rs::SchedulerConfig config;
  config.solver = kind;
  config.steps = steps;
  config.shift = shift;
  return rs::make_scheduler(config);
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// A smooth nonlinear velocity field, driven by sigma rather than the truncated timestep so that the
// solvers integrate one well-defined ODE.
at::Tensor smooth_velocity(const at::Tensor& x, float sigma) {
  return at::tanh(x) * sigma + 0.1 * at::cos(x) - 0.3 * x;
}

at::Tensor integrate(rs::Scheduler& scheduler, at::Tensor x) {
  while (!scheduler.done()) x = scheduler.step(smooth_velocity(x, scheduler.sigma()), x);
  return x;
}

}  // namespace

// On the straight path x(sigma) = (1 - sigma) x0 + sigma * noise the exact velocity is
// noise - x0 everywhere; every solver must then end on x0 (up to float32 rounding).
TEST(Solvers, StraightFlowEndsOnTheCleanSample) {
  const at::Tensor x0 = rs::make_noise({2, 3, 4, 5}, 1);
  const at::Tensor noise = rs::make_noise({2, 3, 4, 5}, 2);
  const at::Tensor velocity = noise - x0;
  for (const auto kind : kAllSolvers) {
    for (const auto& [steps, shift] :
         std::vector<std::pair<int, double>>{{10, 5.0}, {7, 3.0}, {1, 1.0}, {30, 8.0}}) {
      auto sched = make(kind, steps, shift);
      at::Tensor x = rs::add_noise(x0, noise, sched->sigmas()[0]);
      while (!sched->done()) x = sched->step(velocity, x);
      EXPECT_LT(max_abs_diff(x, x0), 2e-5) << rs::to_string(kind) << " " << steps;
    }
  }
}

// With final sigma 0 the multistep solvers return exactly the last x0 prediction x - sigma * v.
TEST(Solvers, LastStepReturnsTheX0Prediction) {
  for (const auto kind : {rs::SolverKind::UniPC, rs::SolverKind::DPMpp}) {
    auto sched = make(kind, 6, 5.0);
    at::Tensor x = rs::make_noise({3, 8}, 7);
    while (sched->step_index() < sched->num_steps() - 1) {
      x = sched->step(smooth_velocity(x, sched->sigma()), x);
    }
    const at::Tensor v = smooth_velocity(x, sched->sigma());
    const at::Tensor expected = x - v * sched->sigma();
    const at::Tensor out = sched->step(v, x);
    EXPECT_TRUE(sched->done());
    EXPECT_TRUE(at::equal(out, expected))
        << rs::to_string(kind) << " off by " << max_abs_diff(out, expected);
  }
}

// DPM++ starts at sigma 1, where lambda = -inf: step 0 must be the exact first-order
// interpolation sigma_1 * x + (1 - sigma_1) * x0, and no step may produce inf or NaN.
TEST(Solvers, DPMppHandlesSigmaOneWithoutNaN) {
  auto sched = make(rs::SolverKind::DPMpp, 10, 5.0);
  ASSERT_EQ(sched->sigmas()[0], 1.0f);
  at::Tensor x = rs::make_noise({4, 16}, 3);
  const at::Tensor v0 = smooth_velocity(x, 1.0f);
  const float s1 = sched->sigmas()[1];
  const at::Tensor expected = x * s1 + (x - v0) * (1.0f - s1);
  x = sched->step(v0, x);
  EXPECT_LT(max_abs_diff(x, expected), 1e-6);
  while (!sched->done()) {
    x = sched->step(smooth_velocity(x, sched->sigma()), x);
    ASSERT_TRUE(at::isfinite(x).all().item<bool>()) << "step " << sched->step_index();
  }
}

// On a smooth nonlinear field the error of the second-order solvers shrinks about 4x when the
// step count doubles, Euler's only about 2x: the multistep updates are really second order.
TEST(Solvers, SecondOrderSolversConvergeFaster) {
  const at::Tensor start = rs::make_noise({64}, 11);
  for (const auto grid : {rs::SigmaGrid::FromOne, rs::SigmaGrid::FromTrainingMax}) {
    rs::SchedulerConfig config{rs::SolverKind::DPMpp, 1000, 3.0, grid};
    auto reference_solver = rs::make_scheduler(config);
    const at::Tensor reference = integrate(*reference_solver, start).to(at::kDouble);
    const rs::SolverKind second_order =
        grid == rs::SigmaGrid::FromOne ? rs::SolverKind::DPMpp : rs::SolverKind::UniPC;
    for (const auto kind : {rs::SolverKind::Euler, second_order}) {
      std::vector<double> errors;
      for (const int steps : {10, 20, 40}) {
        config.solver = kind;
        config.steps = steps;
        auto sched = rs::make_scheduler(config);
        errors.push_back(max_abs_diff(integrate(*sched, start).to(at::kDouble), reference));
      }
      const double rate = errors[2] / errors[1];
      std::printf("  %-6s errors at 10/20/40 steps: %.3g %.3g %.3g (last ratio %.2f)\n",
                  rs::to_string(kind), errors[0], errors[1], errors[2], rate);
      EXPECT_LT(errors[2], errors[1]);
      EXPECT_LT(errors[1], errors[0]);
      if (kind == rs::SolverKind::Euler) {
        EXPECT_GT(rate, 0.4) << "Euler should be first order";
      } else {
        EXPECT_LT(rate, 0.35) << rs::to_string(kind) << " should be second order";
      }
    }
  }
}

TEST(Solvers, ResetRepeatsARunBitForBit) {
  for (const auto kind : kAllSolvers) {
    auto sched = make(kind, 8, 5.0);
    const at::Tensor start = rs::make_noise({2, 5, 6}, 5);
    const at::Tensor first = integrate(*sched, start);
    sched->reset();
    EXPECT_EQ(sched->step_index(), 0);
    const at::Tensor second = integrate(*sched, start);
    EXPECT_TRUE(at::equal(first, second)) << rs::to_string(kind);
    auto fresh = make(kind, 8, 5.0);
    EXPECT_TRUE(at::equal(first, integrate(*fresh, start))) << rs::to_string(kind);
  }
}

// The sample passed in is not kept by reference: changing it in place afterwards (as an I2V
// pipeline does when it re-imposes the first frame) must not change the solver's history.
TEST(Solvers, CallerOwnsTheSampleTensor) {
  auto a = make(rs::SolverKind::UniPC, 5, 5.0);
  auto b = make(rs::SolverKind::UniPC, 5, 5.0);
  at::Tensor xa = rs::make_noise({10}, 9);
  at::Tensor xb = xa.clone();
  while (!a->done()) {
    const at::Tensor va = smooth_velocity(xa, a->sigma());
    const at::Tensor input = xa.clone();
    xa = a->step(va, input);
    input.fill_(1e6);  // scribble over what the solver was given
    xb = b->step(smooth_velocity(xb, b->sigma()), xb);
  }
  EXPECT_TRUE(at::equal(xa, xb));
}

// Video-to-video: noise a clean latent to the start sigma, start late, and a straight flow still
// lands on the clean latent; the late start uses first-order steps (no history from before).
TEST(Solvers, LateStartFromStrength) {
  const at::Tensor x0 = rs::make_noise({3, 4, 4}, 21);
  const at::Tensor noise = rs::make_noise({3, 4, 4}, 22);
  for (const auto kind : kAllSolvers) {
    auto sched = make(kind, 10, 5.0);
    const rs::StrengthStart start = rs::start_for_strength(sched->schedule(), 0.6);
    ASSERT_EQ(start.start_step, 4);
    sched->reset(start.start_step);
    EXPECT_EQ(sched->timestep(), sched->timesteps()[4]);
    at::Tensor x = rs::add_noise(x0, noise, start.sigma);
    int calls = 0;
    while (!sched->done()) {
      x = sched->step(noise - x0, x);
      ++calls;
    }
    EXPECT_EQ(calls, 6);
    EXPECT_LT(max_abs_diff(x, x0), 2e-5) << rs::to_string(kind);
  }
  // reset(start) forgets the history of an earlier run: it matches a scheduler that never ran.
  auto a = make(rs::SolverKind::DPMpp, 10, 5.0);
  auto b = make(rs::SolverKind::DPMpp, 10, 5.0);
  integrate(*a, rs::make_noise({8}, 1));  // leaves history behind
  a->reset(4);
  b->reset(4);
  const at::Tensor x = rs::make_noise({8}, 2);
  EXPECT_TRUE(at::equal(integrate(*a, x), integrate(*b, x)));
}

TEST(Solvers, AddNoiseInterpolates) {
  const at::Tensor x0 = rs::make_noise({5, 5}, 1);
  const at::Tensor n = rs::make_noise({5, 5}, 2);
  EXPECT_TRUE(at::equal(rs::add_noise(x0, n, 0.0f), x0));
  EXPECT_TRUE(at::equal(rs::add_noise(x0, n, 1.0f), n));
  EXPECT_LT(max_abs_diff(rs::add_noise(x0, n, 0.25f), x0 * 0.75 + n * 0.25), 1e-6);
  EXPECT_THROW(rs::add_noise(x0, n, 1.5f), Error);
  EXPECT_THROW(rs::add_noise(x0, n, -0.01f), Error);
  EXPECT_THROW(rs::add_noise(x0, rs::make_noise({5, 4}, 2), 0.5f), Error);
}

TEST(Solvers, Bf16InputsAreComputedInFloat32) {
  auto f32 = make(rs::SolverKind::UniPC, 6, 5.0);
  auto bf16 = make(rs::SolverKind::UniPC, 6, 5.0);
  at::Tensor x = rs::make_noise({256}, 4);
  at::Tensor y = x.clone();
  while (!f32->done()) {
    x = f32->step(smooth_velocity(x, f32->sigma()), x);
    y = bf16->step(smooth_velocity(y, bf16->sigma()).to(at::kBFloat16), y.to(at::kBFloat16));
    EXPECT_EQ(y.scalar_type(), at::kFloat);
  }
  EXPECT_LT(max_abs_diff(x, y), 0.05);
  EXPECT_GT(max_abs_diff(x, y), 0.0);  // the bf16 rounding of the inputs is visible, not ignored
}

TEST(Solvers, MisuseIsReportedClearly) {
  auto sched = make(rs::SolverKind::DPMpp, 2, 5.0);
  const at::Tensor x = rs::make_noise({4}, 1);
  try {
    sched->step(rs::make_noise({5}, 1), x);
    ADD_FAILURE() << "shape mismatch accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("[5]"), std::string::npos) << e.what();
  }
  at::Tensor y = sched->step(x, x);
  y = sched->step(y, y);
  EXPECT_TRUE(sched->done());
  EXPECT_THROW(sched->step(y, y), Error);
  EXPECT_THROW(sched->timestep(), Error);
  EXPECT_THROW(sched->reset(3), Error);
  sched->reset(2);  // == num_steps(): nothing left to run, but valid
  EXPECT_TRUE(sched->done());

  rs::SchedulerConfig bad;
  bad.steps = 0;
  EXPECT_THROW(rs::make_scheduler(bad), Error);
  bad.steps = 10;
  bad.shift = 0.0;
  EXPECT_THROW(rs::make_scheduler(bad), Error);
  bad.shift = 5.0;
  bad.grid = rs::SigmaGrid::FromOne;  // UniPC cannot start at sigma 1
  try {
    rs::make_scheduler(bad);
    ADD_FAILURE() << "UniPC on the FromOne grid accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
  }
}

TEST(Solvers, RunSamplingReportsProgressAndCancels) {
  auto sched = make(rs::SolverKind::UniPC, 5, 5.0);
  std::vector<int64_t> seen_t;
  std::vector<int64_t> progress_steps;
  const rs::VelocityFn model = [&](const at::Tensor& x, int64_t t) {
    seen_t.push_back(t);
    return at::tanh(x) * (t / 1000.0);
  };
  rs::run_sampling(*sched, rs::make_noise({6}, 1), model, [&](const reelforge::Progress& p) {
    EXPECT_EQ(p.stage, "sample");
    EXPECT_EQ(p.total, 5);
    progress_steps.push_back(p.step);
  });
  EXPECT_EQ(seen_t, sched->timesteps());
  EXPECT_EQ(progress_steps, (std::vector<int64_t>{1, 2, 3, 4, 5}));

  sched->reset();
  seen_t.clear();
  reelforge::CancellationToken cancel;
  try {
    rs::run_sampling(
        *sched, rs::make_noise({6}, 1), model,
        [&](const reelforge::Progress& p) {
          if (p.step == 2) cancel.cancel();
        },
        cancel);
    ADD_FAILURE() << "cancellation ignored";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Cancelled);
  }
  EXPECT_EQ(seen_t.size(), 2u);  // no model call after the token fired
  EXPECT_EQ(sched->step_index(), 2);
}
