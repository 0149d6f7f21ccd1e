#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"
#include "support/testing.hpp"

using reelforge::testing::run_program;
using reelforge::testing::TempDir;

namespace {

// A model folder whose DiT file has official Wan key names and whose VAE file is missing.
void write_model(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  reelforge::write_file_atomic(dir / "model.json", R"({
    "format": "reelforge.model", "version": 1, "name": "cli-test-model", "family": "wan",
    "variant": "test", "tasks": ["t2v"],
    "components": {
      "dit": {"files": ["dit.safetensors"]},
      "text_encoder": {"files": ["te.safetensors"], "tokenizer": "spiece.model"},
      "vae": {"files": ["vae.safetensors"]}
    },
    "native": {"fps": 16, "frame_count": 17, "sizes": {"wide": [160, 96]}}
  })");
  reelforge::tensors::save_safetensors(
      dir / "dit.safetensors", {{"patch_embedding.weight", at::zeros({8, 4, 1, 2, 2})},
                                {"blocks.0.self_attn.q.weight", at::zeros({8, 8}, at::kBFloat16)}});
  reelforge::tensors::save_safetensors(dir / "te.safetensors",
                                       {{"shared.weight", at::zeros({10, 8})}});
}

}  // namespace

TEST(ModelsCli, ListAndInspectReportWhatIsThereAndWhatIsMissing) {
  TempDir root;
  write_model(root / "m");
  const std::string env = "REELFORGE_MODELS=" + root.path().string();
  auto list = run_program({"env", env, REELFORGE_CLI_PATH, "models", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("cli-test-model"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("missing 2 file(s)"), std::string::npos) << list.out;

  auto inspect = run_program({REELFORGE_CLI_PATH, "models", "inspect", (root / "m").string(), "--json"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const auto j = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(j["components"]["dit"]["parameters"], 8 * 4 * 4 + 64);
  EXPECT_EQ(j["components"]["dit"]["layout"], "wan");
  EXPECT_EQ(j["components"]["dit"]["dtypes"]["BF16"], 64);
  EXPECT_EQ(j["components"]["text_encoder"]["layout"], "huggingface");
  const auto missing = j["missing"].dump();
  EXPECT_NE(missing.find("vae.safetensors"), std::string::npos) << missing;
  EXPECT_NE(missing.find("spiece.model"), std::string::npos) << missing;

  auto bad = run_program({REELFORGE_CLI_PATH, "models", "inspect", (root / "nope").string()});
  EXPECT_EQ(bad.exit_code, 3) << bad.err;
  auto sub = run_program({REELFORGE_CLI_PATH, "models", "delete"});
  EXPECT_EQ(sub.exit_code, 2);
  EXPECT_NE(sub.err.find("valid: list, inspect"), std::string::npos) << sub.err;
}
