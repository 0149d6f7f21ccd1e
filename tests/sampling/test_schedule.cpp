// Schedules: the exact grids of Wan's two solvers, the shift, truncated timesteps, strength-based
// starts and the errors for bad settings.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "reelforge/core/error.hpp"
#include "reelforge/sampling/schedule.hpp"

namespace rs = reelforge::sampling;
using reelforge::Error;
using reelforge::ErrorCategory;

namespace {

template <typename F>
void expect_invalid(F&& f, const std::string& must_mention) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument) << e.what();
    EXPECT_NE(std::string(e.what()).find(must_mention), std::string::npos)
        << "'" << e.what() << "' does not mention '" << must_mention << "'";
  }
}

}  // namespace

TEST(Schedule, UniPCGridStartsBelowOneAt999) {
  const rs::Schedule s = rs::make_schedule(rs::SigmaGrid::FromTrainingMax, 10, 5.0);
  ASSERT_EQ(s.steps(), 10);
  ASSERT_EQ(s.sigmas.size(), 11u);
  const std::vector<int64_t> head(s.timesteps.begin(), s.timesteps.begin() + 4);
  EXPECT_EQ(head, (std::vector<int64_t>{999, 978, 952, 920}));  // README, "Quirks"
  // The unshifted start is float32(0.999), not 0.999.
  const rs::Schedule unshifted = rs::make_schedule(rs::SigmaGrid::FromTrainingMax, 10, 1.0);
  EXPECT_EQ(unshifted.sigmas_f64[0], 0.9990000128746033);
  EXPECT_EQ(s.sigmas.back(), 0.0f);
}

TEST(Schedule, DPMppGridStartsAtOneAnd1000) {
  const rs::Schedule s = rs::make_schedule(rs::SigmaGrid::FromOne, 10, 5.0);
  const std::vector<int64_t> head(s.timesteps.begin(), s.timesteps.begin() + 4);
  EXPECT_EQ(head, (std::vector<int64_t>{1000, 978, 952, 921}));
  EXPECT_EQ(s.sigmas.front(), 1.0f);
  EXPECT_EQ(s.sigmas.back(), 0.0f);
}

TEST(Schedule, SolverDefaultsPickTheReferenceGrids) {
  EXPECT_EQ(rs::resolve_grid(rs::SigmaGrid::SolverDefault, rs::SolverKind::UniPC),
            rs::SigmaGrid::FromTrainingMax);
  EXPECT_EQ(rs::resolve_grid(rs::SigmaGrid::SolverDefault, rs::SolverKind::DPMpp),
            rs::SigmaGrid::FromOne);
  EXPECT_EQ(rs::resolve_grid(rs::SigmaGrid::FromOne, rs::SolverKind::UniPC),
            rs::SigmaGrid::FromOne);
  expect_invalid([] { rs::make_schedule(rs::SigmaGrid::SolverDefault, 10, 5.0); }, "grid");
}

TEST(Schedule, ShiftOneIsTheIdentity) {
  for (int i = 0; i <= 1000; ++i) {
    const double s = i / 1000.0;
    EXPECT_EQ(rs::shift_sigma(s, 1.0), s) << s;
  }
  // The shift-1 grid is numpy's linspace itself, and the timesteps are its truncation.
  const rs::Schedule s = rs::make_schedule(rs::SigmaGrid::FromOne, 10, 1.0);
  for (int i = 0; i < 10; ++i) {
    double expected = i * (-1.0 / 10.0);
    expected += 1.0;
    EXPECT_EQ(s.sigmas_f64[i], expected) << i;
    EXPECT_EQ(s.sigmas[i], static_cast<float>(expected)) << i;
  }
  // 6 * -0.1 + 1 = 0.3999999999999999 in double, so the reference's truncation gives 399, not 400.
  EXPECT_EQ(s.timesteps, (std::vector<int64_t>{1000, 900, 800, 700, 600, 500, 399, 299, 199, 99}));
}

TEST(Schedule, ShiftedGridIsTheShiftOfTheUnshiftedOne) {
  for (const auto grid : {rs::SigmaGrid::FromOne, rs::SigmaGrid::FromTrainingMax}) {
    const rs::Schedule plain = rs::make_schedule(grid, 7, 1.0);
    const rs::Schedule shifted = rs::make_schedule(grid, 7, 3.0);
    for (int i = 0; i < 7; ++i) {
      EXPECT_EQ(shifted.sigmas_f64[i], rs::shift_sigma(plain.sigmas_f64[i], 3.0));
      EXPECT_GE(shifted.sigmas_f64[i], plain.sigmas_f64[i]);  // shift > 1 stays at high noise
      EXPECT_EQ(shifted.timesteps[i], static_cast<int64_t>(shifted.sigmas_f64[i] * 1000.0));
      if (i > 0) {
        EXPECT_LT(shifted.sigmas[i], shifted.sigmas[i - 1]);
      }
    }
  }
  // The closed form: 0.5 shifted by 3 is 1.5 / 2 = 0.75.
  EXPECT_DOUBLE_EQ(rs::shift_sigma(0.5, 3.0), 0.75);
  EXPECT_EQ(rs::shift_sigma(1.0, 5.0), 1.0);
  EXPECT_EQ(rs::shift_sigma(0.0, 5.0), 0.0);
}

TEST(Schedule, OneStepIsValid) {
  const rs::Schedule s = rs::make_schedule(rs::SigmaGrid::FromTrainingMax, 1, 5.0);
  EXPECT_EQ(s.timesteps, (std::vector<int64_t>{999}));
  EXPECT_EQ(s.sigmas.size(), 2u);
}

TEST(Schedule, RejectsBadStepsAndShift) {
  expect_invalid([] { rs::make_schedule(rs::SigmaGrid::FromOne, 0, 5.0); }, "steps 0");
  expect_invalid([] { rs::make_schedule(rs::SigmaGrid::FromOne, -3, 5.0); }, "1 to 1000");
  expect_invalid([] { rs::make_schedule(rs::SigmaGrid::FromOne, 1001, 5.0); }, "1001");
  expect_invalid([] { rs::make_schedule(rs::SigmaGrid::FromOne, 10, 0.0); }, "> 0");
  expect_invalid([] { rs::make_schedule(rs::SigmaGrid::FromOne, 10, -2.0); }, "-2");
  expect_invalid([] { rs::make_schedule(rs::SigmaGrid::FromOne, 10, std::nan("")); }, "shift");
  expect_invalid(
      [] {
        rs::make_schedule(rs::SigmaGrid::FromOne, 10, std::numeric_limits<double>::infinity());
      },
      "shift");
}

TEST(Schedule, StrengthPicksTheStartStep) {
  const rs::Schedule s = rs::make_schedule(rs::SigmaGrid::FromOne, 10, 5.0);
  const rs::StrengthStart full = rs::start_for_strength(s, 1.0);
  EXPECT_EQ(full.start_step, 0);
  EXPECT_EQ(full.steps_to_run, 10);
  EXPECT_EQ(full.sigma, 1.0f);

  const rs::StrengthStart partial = rs::start_for_strength(s, 0.7);
  EXPECT_EQ(partial.start_step, 3);
  EXPECT_EQ(partial.steps_to_run, 7);
  EXPECT_EQ(partial.sigma, s.sigmas[3]);

  const rs::StrengthStart none = rs::start_for_strength(s, 0.0);
  EXPECT_EQ(none.start_step, 10);
  EXPECT_EQ(none.steps_to_run, 0);
  EXPECT_EQ(none.sigma, 0.0f);

  // 100 * 0.29 is 28.999999999999996 in double; the slack keeps it at 29 steps.
  const rs::Schedule s100 = rs::make_schedule(rs::SigmaGrid::FromOne, 100, 5.0);
  EXPECT_EQ(rs::start_for_strength(s100, 0.29).steps_to_run, 29);
  EXPECT_EQ(rs::start_for_strength(s100, 0.295).steps_to_run, 29);  // floor, as diffusers
}

TEST(Schedule, StrengthOutsideZeroToOneIsRejected) {
  const rs::Schedule s = rs::make_schedule(rs::SigmaGrid::FromOne, 10, 5.0);
  expect_invalid([&] { rs::start_for_strength(s, -0.1); }, "0 (keep the input) to 1");
  expect_invalid([&] { rs::start_for_strength(s, 1.5); }, "1.5");
  expect_invalid([&] { rs::start_for_strength(s, std::nan("")); }, "strength");
}

TEST(Schedule, SolverNamesRoundTrip) {
  for (const auto kind : {rs::SolverKind::Euler, rs::SolverKind::UniPC, rs::SolverKind::DPMpp}) {
    EXPECT_EQ(rs::parse_solver_kind(rs::to_string(kind)), kind);
  }
  EXPECT_EQ(rs::parse_solver_kind("dpmpp"), rs::SolverKind::DPMpp);
  expect_invalid([] { rs::parse_solver_kind("ddim"); }, "euler, unipc, dpm++");
}
