// Loading into a model by name (load_state / StateDict / KeyMapper) and sharded checkpoints
// (`*.safetensors.index.json`), on real files written by the test.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"
#include "reelforge/tensors/state_dict.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using reelforge::Error;
using reelforge::ErrorCategory;
using namespace reelforge::tensors;

namespace {

template <typename F>
Error catch_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no reelforge::Error thrown";
  return Error(ErrorCategory::Internal, "none");
}

bool has(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

// A ComfyUI-style fp8 "scaled" DiT file: prefixed names, fp16 weights, int64 ids, scale tensors.
fs::path write_model(const fs::path& dir) {
  save_safetensors(dir / "model.safetensors",
                   {{"model.diffusion_model.blocks.0.q.weight", at::randn({4, 4}).to(at::kHalf)},
                    {"model.diffusion_model.blocks.0.q.scale_weight", at::ones({1})},
                    {"model.diffusion_model.head.bias", at::randn({4}, at::kDouble)},
                    {"model.diffusion_model.pos_ids", at::arange(3, at::kLong)}});
  return dir / "model.safetensors";
}

const std::vector<std::string> kExpected = {"blocks.0.q.weight", "head.bias", "pos_ids"};

}  // namespace

TEST(KeyMapper, StripsPrefixesIgnoresSuffixesAndComposes) {
  const KeyMapper m =
      compose(strip_prefix("model.diffusion_model."), ignore_suffixes({".scale_weight"}));
  EXPECT_EQ(m("model.diffusion_model.head.bias"), std::optional<std::string>("head.bias"));
  EXPECT_EQ(m("head.bias"), std::optional<std::string>("head.bias"));
  EXPECT_EQ(m("model.diffusion_model.x.scale_weight"), std::nullopt);
  EXPECT_EQ(identity_keys()("a.b"), std::optional<std::string>("a.b"));
}

TEST(LoadState, MapsConvertsAndReports) {
  reelforge::testing::TempDir dir;
  const Checkpoint ckpt = Checkpoint::open(write_model(dir.path()));
  const KeyMapper mapper =
      compose(strip_prefix("model.diffusion_model."), ignore_suffixes({".scale_weight"}));
  StateDict sd = load_state(ckpt, mapper, kExpected);
  EXPECT_EQ(sd.names(), kExpected);
  EXPECT_EQ(sd.report().ignored,
            (std::vector<std::string>{"model.diffusion_model.blocks.0.q.scale_weight"}));
  EXPECT_TRUE(sd.report().missing.empty());
  EXPECT_TRUE(sd.report().unexpected.empty());
  // Floating tensors become the CPU default (float32); integer tensors keep their dtype.
  EXPECT_EQ(default_load_dtype(c10::Device(c10::kCPU)), at::kFloat);
  EXPECT_EQ(default_load_dtype(c10::Device(c10::kCUDA, 0)), at::kBFloat16);
  EXPECT_EQ(sd.get("blocks.0.q.weight").scalar_type(), at::kFloat);
  EXPECT_EQ(sd.get("head.bias").scalar_type(), at::kFloat);
  EXPECT_EQ(sd.get("pos_ids").scalar_type(), at::kLong);
  EXPECT_TRUE(at::equal(sd.get("blocks.0.q.weight"),
                        ckpt.load("model.diffusion_model.blocks.0.q.weight").to(at::kFloat)));

  const at::Tensor q = sd.take("blocks.0.q.weight", {4, -1});
  EXPECT_EQ(q.sizes(), (std::vector<int64_t>{4, 4}));
  const Error wrong = catch_error([&] { sd.take("head.bias", {8}); });
  EXPECT_EQ(wrong.category(), ErrorCategory::Format);
  EXPECT_TRUE(has(wrong.message(), "'head.bias' has shape [4], expected [8]")) << wrong.what();
  EXPECT_EQ(catch_error([&] { sd.take("blocks.0.q.weight"); }).category(),
            ErrorCategory::NotFound);  // already taken
  EXPECT_EQ(sd.take_if_present("blocks.9.k.weight", {4, 4}), std::nullopt);
  const Error unused = catch_error([&] { sd.require_all_taken("the test model"); });
  EXPECT_TRUE(has(unused.message(), "not used by the test model: head.bias, pos_ids"))
      << unused.what();
  sd.take("head.bias", {4});
  sd.take("pos_ids", {3});
  EXPECT_NO_THROW(sd.require_all_taken("the test model"));

  LoadOptions bf16;
  bf16.dtype = at::kBFloat16;
  EXPECT_EQ(load_state(ckpt, mapper, kExpected, bf16).get("head.bias").scalar_type(),
            at::kBFloat16);
}

TEST(LoadState, MissingAndUnexpectedKeysFailUnlessAllowed) {
  reelforge::testing::TempDir dir;
  const Checkpoint ckpt = Checkpoint::open(write_model(dir.path()));
  const KeyMapper mapper = strip_prefix("model.diffusion_model.");
  std::vector<std::string> expected = kExpected;
  for (int i = 0; i < 12; ++i) expected.push_back("blocks." + std::to_string(i + 1) + ".q.weight");

  const Error missing = catch_error([&] { load_state(ckpt, mapper, expected); });
  EXPECT_EQ(missing.category(), ErrorCategory::NotFound);
  EXPECT_EQ(missing.context(), (dir / "model.safetensors").string());
  EXPECT_TRUE(has(missing.message(), "lacks 12 of the 15 expected weights: blocks.1.q.weight"))
      << missing.what();
  EXPECT_TRUE(has(missing.message(), "... (2 more)")) << missing.what();

  // Without ignore_suffixes the scale tensor is unexpected.
  const Error unexpected = catch_error([&] { load_state(ckpt, mapper, kExpected); });
  EXPECT_EQ(unexpected.category(), ErrorCategory::Format);
  EXPECT_TRUE(has(unexpected.message(),
                  "1 weights the model does not expect: "
                  "blocks.0.q.scale_weight"))
      << unexpected.what();

  LoadOptions lenient;
  lenient.allow_missing = true;
  lenient.allow_unexpected = true;
  const StateDict sd = load_state(ckpt, mapper, expected, lenient);
  EXPECT_EQ(sd.size(), 3u);  // unexpected tensors are reported, not loaded
  EXPECT_EQ(sd.report().missing.size(), 12u);
  EXPECT_EQ(sd.report().unexpected, (std::vector<std::string>{"blocks.0.q.scale_weight"}));
  EXPECT_TRUE(has(sd.report().summary(), "12 missing (blocks.1.q.weight")) << sd.report().summary();
}

TEST(LoadState, TwoNamesMappingToOneIsAnError) {
  const Checkpoint ckpt = Checkpoint::from_safetensors_bytes(
      serialize_safetensors({{"model.diffusion_model.w", at::ones({1})}, {"w", at::ones({1})}}));
  const Error e = catch_error([&] { load_all(ckpt, strip_prefix("model.diffusion_model.")); });
  EXPECT_TRUE(has(e.message(), "both map to 'w'")) << e.what();
  EXPECT_EQ(load_all(ckpt, identity_keys()).size(), 2u);
}

class Sharded : public ::testing::Test {
 protected:
  void SetUp() override {
    save_safetensors(dir_ / "model-00001-of-00002.safetensors",
                     {{"a", at::arange(4, at::kFloat)}, {"b", at::ones({2, 2}, at::kBFloat16)}},
                     {{"format", "pt"}});
    save_safetensors(dir_ / "model-00002-of-00002.safetensors", {{"c", at::arange(3, at::kLong)}},
                     {{"format", "pt"}, {"shard", "2"}});
    index_ = {{"metadata", {{"total_size", 28}}},
              {"weight_map",
               {{"a", "model-00001-of-00002.safetensors"},
                {"b", "model-00001-of-00002.safetensors"},
                {"c", "model-00002-of-00002.safetensors"}}}};
  }
  fs::path write_index() {
    const fs::path path = dir_ / "model.safetensors.index.json";
    std::ofstream(path) << index_.dump(2);
    return path;
  }
  std::string open_error(ErrorCategory category) {
    const fs::path path = write_index();
    const Error e = catch_error([&] { Checkpoint::open(path); });
    EXPECT_EQ(e.category(), category) << e.what();
    EXPECT_EQ(e.context(), path.string());
    return e.message();
  }
  reelforge::testing::TempDir dir_;
  nlohmann::json index_;
};

TEST_F(Sharded, LoadsTensorsFromEveryShard) {
  const Checkpoint ckpt = Checkpoint::open(write_index());
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ckpt.files().size(), 2u);
  EXPECT_TRUE(at::equal(ckpt.load("a"), at::arange(4, at::kFloat)));
  EXPECT_TRUE(at::equal(ckpt.load("b", at::kFloat), at::ones({2, 2})));
  EXPECT_TRUE(at::equal(ckpt.load("c"), at::arange(3, at::kLong)));
  EXPECT_EQ(ckpt.metadata().at("format"), "pt");
  EXPECT_EQ(ckpt.metadata().at("shard"), "2");
  // The folder opens through its index (the shards beside it are not candidates themselves).
  EXPECT_EQ(Checkpoint::open(dir_.path()).names(), ckpt.names());
  EXPECT_EQ(load_all(ckpt, identity_keys()).size(), 3u);
}

TEST_F(Sharded, RejectsAMissingShard) {
  index_["weight_map"]["c"] = "model-00003-of-00002.safetensors";
  EXPECT_TRUE(has(open_error(ErrorCategory::NotFound),
                  "shard 'model-00003-of-00002.safetensors' named by the index (for 'c'"));
}

TEST_F(Sharded, RejectsATensorThatIsNotWhereTheIndexSays) {
  index_["weight_map"]["c"] = "model-00001-of-00002.safetensors";
  const std::string msg = open_error(ErrorCategory::Format);
  EXPECT_TRUE(has(msg, "puts 'c' in 'model-00001-of-00002.safetensors', which does not hold it"))
      << msg;
}

TEST_F(Sharded, RejectsATensorTheIndexDoesNotList) {
  index_["weight_map"].erase("b");
  EXPECT_TRUE(has(open_error(ErrorCategory::Format), "holds 'b', but the index does not list it"));
}

TEST_F(Sharded, RejectsShardPathsOutsideTheFolder) {
  index_["weight_map"]["c"] = "../model-00002-of-00002.safetensors";
  EXPECT_TRUE(has(open_error(ErrorCategory::Format), "must be plain file names"));
  index_["weight_map"]["c"] = "/etc/passwd";
  EXPECT_TRUE(has(open_error(ErrorCategory::Format), "must be plain file names"));
}

TEST_F(Sharded, RejectsMalformedIndexes) {
  index_ = {{"metadata", {}}};
  EXPECT_TRUE(has(open_error(ErrorCategory::Format), "no \"weight_map\" object"));
  index_ = {{"weight_map", {{"a", 3}}}};
  EXPECT_TRUE(has(open_error(ErrorCategory::Format), "is not a file name string"));
  std::ofstream(dir_ / "model.safetensors.index.json") << "{\"weight_map\": {";
  const Error e = catch_error([&] { Checkpoint::open(dir_ / "model.safetensors.index.json"); });
  EXPECT_TRUE(has(e.message(), "not valid JSON")) << e.what();
}

TEST(CheckpointOpen, FoldersAndMissingPaths) {
  reelforge::testing::TempDir dir;
  EXPECT_EQ(catch_error([&] { Checkpoint::open(dir / "nope.safetensors"); }).category(),
            ErrorCategory::NotFound);
  EXPECT_EQ(catch_error([&] { Checkpoint::open(dir.path()); }).category(), ErrorCategory::NotFound);
  save_safetensors(dir / "one.safetensors", {{"x", at::ones({1})}});
  EXPECT_EQ(Checkpoint::open(dir.path()).names(), (std::vector<std::string>{"x"}));
  save_safetensors(dir / "two.safetensors", {{"y", at::ones({1})}});
  const Error two = catch_error([&] { Checkpoint::open(dir.path()); });
  EXPECT_EQ(two.category(), ErrorCategory::InvalidArgument);
  EXPECT_TRUE(has(two.message(), "2 candidate checkpoints ('one.safetensors', 'two.safetensors')"))
      << two.what();
}
