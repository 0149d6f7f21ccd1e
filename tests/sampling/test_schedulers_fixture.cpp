// The golden fixture: Wan's reference UniPC / DPM++ / Euler loops (schedulers.safetensors), run
// through fixtures::run_schedulers_fixture and compared with the README's rule:
// max|actual - expected| <= 1e-5 * max(1, max|expected|), int64 timesteps exact.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "reelforge/core/error.hpp"
#include "reelforge/fixtures/fixture_runner.hpp"
#include "reelforge/sampling/noise.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
namespace rf = reelforge::fixtures;
using reelforge::tensors::Checkpoint;

namespace {

fs::path fixture_file() {
  const fs::path dir = reelforge::testing::fixtures_or_empty();
  if (dir.empty()) return {};
  const fs::path file = dir / "wan" / "schedulers.safetensors";
  return fs::exists(file) ? file : fs::path();
}

rf::Outputs run(const Checkpoint& file) {
  const auto& meta = file.metadata();
  const rf::FixtureContext context{file, meta.count("source") ? meta.at("source") : "",
                                   nlohmann::json::parse(meta.at("config")),
                                   nlohmann::json::parse(meta.at("call"))};
  return rf::run_schedulers_fixture(context);
}

}  // namespace

TEST(SchedulersFixture, MatchesTheReference) {
  const fs::path path = fixture_file();
  if (path.empty()) {
    if (reelforge::testing::running_in_ci())
      FAIL() << "fixtures/wan/schedulers.safetensors missing";
    GTEST_SKIP() << "fixtures/wan/schedulers.safetensors not found (set REELFORGE_FIXTURES)";
  }
  const Checkpoint file = Checkpoint::open(path);
  const rf::Outputs outputs = run(file);

  std::set<std::string> expected_names;
  for (const std::string& name : file.names()) {
    if (name.rfind("output.", 0) == 0) expected_names.insert(name.substr(7));
  }
  std::set<std::string> actual_names;
  for (const auto& [name, tensor] : outputs) actual_names.insert(name);
  EXPECT_EQ(actual_names, expected_names);
  EXPECT_EQ(expected_names.size(), 16u);  // 2 runs x (2 solvers x 3 fields + 2 Euler samples)

  for (const auto& [name, actual] : outputs) {
    if (!expected_names.count(name)) continue;
    const at::Tensor expected = file.load("output." + name);
    ASSERT_EQ(actual.sizes(), expected.sizes()) << name;
    if (expected.scalar_type() == at::kLong) {
      ASSERT_EQ(actual.scalar_type(), at::kLong) << name;
      EXPECT_TRUE(at::equal(actual, expected)) << name << "\n" << actual << "\n" << expected;
      continue;
    }
    const double scale = std::max(1.0, expected.abs().max().item<double>());
    const double diff =
        (actual.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5 * scale) << name;
    std::printf("  %-40s max|diff| %.3g (limit %.3g)\n", name.c_str(), diff, 1e-5 * scale);
  }
}

// The runner works for any fixture of its kind: a file written here with another shape, other
// runs and only some fields gets exactly those outputs back, consistent with the solver grids.
TEST(SchedulersFixture, DiscoversRunsFromOutputNames) {
  reelforge::testing::TempDir tmp;
  const at::Tensor x_T = reelforge::sampling::make_noise({2, 7}, 3);
  const auto placeholder = at::zeros({1});
  reelforge::tensors::save_safetensors(
      tmp / "sched.safetensors",
      {{"input.x_T", x_T},
       {"output.unipc.s4_shift2.5.timesteps", placeholder},
       {"output.dpmpp.s5_shift1.samples", placeholder},
       {"output.euler_dpmpp_sigmas.s5_shift1.samples", placeholder}},
      {{"config", R"({"num_train_timesteps": 1000, "solver_order": 2})"},
       {"call", R"({"runs": [[4, 2.5], [5, 1.0]]})"}});
  const Checkpoint file = Checkpoint::open(tmp / "sched.safetensors");
  const rf::Outputs outputs = run(file);
  ASSERT_EQ(outputs.size(), 3u);
  const at::Tensor t = outputs.at("unipc.s4_shift2.5.timesteps");
  EXPECT_EQ(t.scalar_type(), at::kLong);
  // linspace(float32(0.999), 0, 5)[:4] shifted by 2.5 (computed in Python's float64):
  // 0.99960, 0.88194, 0.71388, 0.45421 -> truncated.
  EXPECT_TRUE(at::equal(t, at::tensor(std::vector<int64_t>{999, 881, 713, 454}))) << t;
  const at::Tensor samples = outputs.at("dpmpp.s5_shift1.samples");
  EXPECT_EQ(samples.sizes(), (std::vector<int64_t>{6, 2, 7}));
  EXPECT_TRUE(at::equal(samples[0], x_T));
  // On a flow-matching path a first-order DPM++ step is exactly an Euler step, and the reference's
  // step 1 from sigma 1 is first order too (r0 = inf); the two loops part only where DPM++ uses
  // its second-order update (steps 2 and 3 of 5).
  const at::Tensor euler = outputs.at("euler_dpmpp_sigmas.s5_shift1.samples");
  EXPECT_LT((samples[2] - euler[2]).abs().max().item<double>(), 1e-6);
  EXPECT_GT((samples[5] - euler[5]).abs().max().item<double>(), 1e-4);

  reelforge::tensors::save_safetensors(
      tmp / "bad.safetensors", {{"input.x_T", x_T}, {"output.ddim.s3_shift1.samples", placeholder}},
      {{"config", R"({"solver_order": 2})"}, {"call", "{}"}});
  EXPECT_THROW(run(Checkpoint::open(tmp / "bad.safetensors")), reelforge::Error);
  reelforge::tensors::save_safetensors(
      tmp / "order3.safetensors",
      {{"input.x_T", x_T}, {"output.unipc.s3_shift1.samples", placeholder}},
      {{"config", R"({"solver_order": 3})"}, {"call", "{}"}});
  EXPECT_THROW(run(Checkpoint::open(tmp / "order3.safetensors")), reelforge::Error);
}
