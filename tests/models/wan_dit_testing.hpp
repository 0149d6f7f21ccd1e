#pragma once
// Helpers shared by the Wan DiT tests: fixture access (skip locally, fail in CI when absent), the
// fixtures' tolerance rule and a tiny random model for tests that need no fixture.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "reelforge/models/wan_dit.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"
#include "support/testing.hpp"

namespace reelforge::testing {

// The fixture file's path, or "" when the fixtures are absent.
inline std::filesystem::path wan_fixture(const std::string& name) {
  const auto dir = fixtures_or_empty();
  if (dir.empty() || !std::filesystem::exists(dir / "wan" / name)) return {};
  return dir / "wan" / name;
}

// Declares `var` as the opened fixture; skips the test (fails it in CI) when absent.
#define RF_OPEN_WAN_FIXTURE(var, name)                                                           \
  const std::filesystem::path var##_path = ::reelforge::testing::wan_fixture(name);              \
  if (var##_path.empty()) {                                                                      \
    if (::reelforge::testing::running_in_ci()) FAIL() << "fixture " << name << " missing in CI"; \
    GTEST_SKIP()                                                                                 \
        << "golden fixture wan/" << name                                                         \
        << " not found (set REELFORGE_FIXTURES or put ../shared/fixtures beside the tree)";      \
  }                                                                                              \
  const auto var = ::reelforge::tensors::Checkpoint::open(var##_path)

inline double max_abs(const at::Tensor& t) { return t.abs().max().item<double>(); }

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble).cpu() - b.to(at::kDouble).cpu()).abs().max().item<double>();
}

// The fixtures' pass rule: max|actual - expected| <= tol * max(1, max|expected|).
inline ::testing::AssertionResult close_by_rule(const at::Tensor& actual,
                                                const at::Tensor& expected, double tol = 1e-4) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure()
           << "shape " << actual.sizes() << " != " << expected.sizes();
  }
  const double diff = max_abs_diff(actual, expected);
  const double bound = tol * std::max(1.0, max_abs(expected.to(at::kDouble)));
  if (diff <= bound) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max abs diff " << diff << " > " << bound;
}

// The fixture's weights as official names (no input./output./debug. tensors).
inline tensors::NamedTensors fixture_weights(const tensors::Checkpoint& file) {
  tensors::NamedTensors out;
  for (const auto& name : file.names()) {
    if (name.rfind("input.", 0) == 0 || name.rfind("output.", 0) == 0 ||
        name.rfind("debug.", 0) == 0)
      continue;
    out.emplace_back(name, file.load(name));
  }
  return out;
}

inline models::WanDiTLoadOptions fixture_load_options(int64_t heads = 4, int64_t text_len = 16) {
  models::WanDiTLoadOptions o;
  o.device = Device::CPU;
  o.dtype = ComputeDType::Float32;
  o.hints.num_heads = heads;
  o.hints.text_len = text_len;
  o.ignore_prefixes = {"input.", "output.", "debug."};
  return o;
}

// A small float32 model with random weights (the tiny fixtures' sizes).
inline models::WanDiTConfig tiny_config() {
  models::WanDiTConfig c;
  c.in_dim = c.out_dim = 16;
  c.dim = 64;
  c.ffn_dim = 128;
  c.text_dim = 32;
  c.text_len = 16;
  c.num_heads = 4;
  c.num_layers = 2;
  return c;
}

inline models::WanDiT tiny_random_model(ComputeDType dtype = ComputeDType::Float32) {
  models::WanDiTLoadOptions o;
  o.device = Device::CPU;
  o.dtype = dtype;
  return models::WanDiT::random(tiny_config(), o, 7);
}

}  // namespace reelforge::testing
