// The model folder writer: a random tiny model written to disk must be a model like any other
// (manifest, registry, every loader), run finite forward passes, be reproducible from its seed,
// and save_model() must write loaded networks back unchanged.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/manifest.hpp"
#include "reelforge/models/model_writer.hpp"
#include "reelforge/models/registry.hpp"
#include "reelforge/models/tokenizer.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using reelforge::Error;
using reelforge::ErrorCategory;
using reelforge::read_file;
using reelforge::tensors::Checkpoint;
using reelforge::testing::TempDir;
using namespace reelforge::models;

using reelforge::testing::ScopedEnv;

namespace {

const char* const kFiles[] = {kDiTWeightsFile, kTextEncoderWeightsFile, kVAEWeightsFile,
                              kTokenizerFile, "model.json"};

WanDiTLoadOptions dit_options(const ModelManifest& m) {
  WanDiTLoadOptions o;
  o.device = reelforge::Device::CPU;
  o.dtype = reelforge::ComputeDType::Float32;
  o.hints.num_heads = m.dit.num_heads;
  o.hints.model_type = parse_wan_model_type(m.dit.model_type);
  o.hints.text_len = m.text_encoder.text_len;
  return o;
}

WanVAELoadOptions vae_options(const ModelManifest& m) {
  WanVAELoadOptions o = WanVAELoadOptions::from_spec(m.vae);
  o.device = reelforge::Device::CPU;
  o.dtype = reelforge::ComputeDType::Float32;
  return o;
}

bool finite(const at::Tensor& t) {
  return at::isfinite(t).all().item<bool>();
}
double stddev(const at::Tensor& t) {
  return t.to(at::kDouble).std().item<double>();
}

void expect_invalid(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument) << e.what();
    EXPECT_NE(e.message().find(needle), std::string::npos) << e.message();
  }
}

// One tiny model written once for the suite: training the tokenizer is the slow part.
class ModelWriter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = std::make_unique<TempDir>();
    manifest_ = std::make_unique<ModelManifest>(write_random_model(dir(), RandomModelSpec{}));
  }
  static void TearDownTestSuite() {
    manifest_.reset();
    root_.reset();
  }
  static fs::path dir() { return root_->path() / "tiny-random"; }

  static std::unique_ptr<TempDir> root_;
  static std::unique_ptr<ModelManifest> manifest_;
};
std::unique_ptr<TempDir> ModelWriter::root_;
std::unique_ptr<ModelManifest> ModelWriter::manifest_;

}  // namespace

TEST_F(ModelWriter, ManifestNamesTheFilesAndTheTinyGeometry) {
  const ModelManifest m = ModelManifest::load(dir());
  EXPECT_EQ(m.to_json(), manifest_->to_json());  // what the writer returned is what it wrote
  EXPECT_EQ(m.name, "tiny-random");
  EXPECT_EQ(m.family, "wan");
  EXPECT_EQ(m.dit.files, std::vector<std::string>{"dit.safetensors"});
  EXPECT_EQ(m.text_encoder.files, std::vector<std::string>{"umt5.safetensors"});
  EXPECT_EQ(m.text_encoder.tokenizer, "spiece.model");
  EXPECT_EQ(m.vae.files, std::vector<std::string>{"vae.safetensors"});
  EXPECT_TRUE(m.missing_files().empty());
  EXPECT_EQ(m.dit.model_type, "t2v");
  EXPECT_EQ(m.dit.num_heads, 2);
  EXPECT_EQ(m.text_encoder.text_len, 64);
  EXPECT_EQ(m.vae.version, "2.1");
  EXPECT_TRUE(m.vae.latent_mean.empty());  // the published 2.1 normalisation
  EXPECT_TRUE(m.supports(Task::TextToVideo));
  EXPECT_TRUE(m.supports(Task::VideoToVideo));
  EXPECT_EQ(m.fps, 16);
  EXPECT_EQ(m.frame_count, 17);
  ASSERT_EQ(m.native_sizes.size(), 3u);
  EXPECT_EQ(m.native_sizes.at("wide").width_px, 80);
  EXPECT_EQ(m.native_sizes.at("wide").height_px, 48);
  EXPECT_EQ(m.native_sizes.at("vertical").width_px, 48);
  EXPECT_EQ(m.native_sizes.at("square").height_px, 64);
  EXPECT_EQ(m.defaults.steps, 4);
  EXPECT_EQ(m.defaults.solver, "unipc");
  for (const char* file : kFiles) EXPECT_TRUE(fs::is_regular_file(dir() / file)) << file;
  // Nothing but the model: no temporaries or trainer leftovers.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir()), fs::directory_iterator()), 5);
}

TEST_F(ModelWriter, RegistryFindsTheModelOnTheSearchPath) {
  const ScopedEnv env("REELFORGE_MODELS", root_->path().string());
  const ModelManifest found = find_model("tiny-random");
  EXPECT_EQ(fs::canonical(found.dir), fs::canonical(dir()));
  bool listed = false;
  for (const auto& model : list_models()) {
    if (model.manifest.name == "tiny-random") listed = model.problem.empty();
  }
  EXPECT_TRUE(listed);
}

TEST_F(ModelWriter, EveryLoaderReadsItsFileWithTheSpecConfig) {
  c10::InferenceMode guard;
  const ModelManifest m = ModelManifest::load(dir());
  const RandomModelSpec spec;

  const WanDiT dit = WanDiT::load(Checkpoint::open(dir() / m.dit.files[0]), dit_options(m));
  const WanDiTConfig& dc = dit.config();
  EXPECT_EQ(dc.model_type, WanModelType::T2V);
  EXPECT_EQ(dc.dim, 64);
  EXPECT_EQ(dc.num_heads, 2);
  EXPECT_EQ(dc.num_layers, 2);
  EXPECT_EQ(dc.ffn_dim, 128);
  EXPECT_EQ(dc.freq_dim, 32);
  EXPECT_EQ(dc.in_dim, 16);
  EXPECT_EQ(dc.out_dim, 16);
  EXPECT_EQ(dc.text_dim, 32);
  EXPECT_EQ(dc.text_len, 64);
  EXPECT_EQ(dc.patch_size, (std::array<int64_t, 3>{1, 2, 2}));

  const T5Tokenizer tokenizer =
      T5Tokenizer::load(dir() / m.text_encoder.tokenizer, {m.text_encoder.text_len});
  EXPECT_EQ(tokenizer.pad_id(), 0);
  EXPECT_EQ(tokenizer.eos_id(), 1);
  EXPECT_GE(tokenizer.vocab_size(), 100);
  EXPECT_LE(tokenizer.vocab_size(), spec.tokenizer_vocab);

  UMT5LoadOptions text_options;
  text_options.unexpected = UnexpectedKeys::Error;
  const UMT5Encoder text =
      UMT5Encoder::load(Checkpoint::open(dir() / m.text_encoder.files[0]), text_options);
  UMT5Config expected_text = spec.text;
  expected_text.vocab = tokenizer.vocab_size();  // vocab 0 in the spec: the tokenizer's
  EXPECT_TRUE(text.config() == expected_text);

  const WanVAE vae = WanVAE::load(Checkpoint::open(dir() / m.vae.files[0]), vae_options(m));
  EXPECT_EQ(vae.config().version, WanVAEVersion::V2_1);
  EXPECT_EQ(vae.config().dim, 8);
  EXPECT_EQ(vae.config().z_dim, 16);
  EXPECT_EQ(vae.config().spatial_stride(), 8);
  EXPECT_EQ(vae.config().temporal_stride(), 4);

  // The whole chain at the wide native size: prompt -> context -> DiT -> VAE.
  const std::string prompt = "a red ball rolls left";
  const TokenBatch batch = tokenizer.encode({prompt});
  EXPECT_EQ(batch.ids.sizes(), (std::vector<int64_t>{1, 64}));
  EXPECT_LT(batch.ids.max().item<int64_t>(), text.config().vocab);
  const int64_t tokens = batch.mask.sum().item<int64_t>();
  EXPECT_GT(tokens, 3);
  EXPECT_EQ(tokenizer.decode(tokenizer.tokenize(prompt)), prompt);
  // Every letter and digit is a piece, so ordinary prompts need no <unk> (id 2).
  for (const std::string text : {"The quick brown fox jumps over the lazy dog.",
                                 "JACKDAWS LOVE MY BIG SPHINX OF QUARTZ", "0123456789 (5%)"}) {
    const std::vector<int64_t> ids = tokenizer.tokenize(text);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 0) << text;
    EXPECT_EQ(tokenizer.decode(ids), text);
  }
  const std::vector<at::Tensor> context = text.encode(batch.ids, batch.mask);
  ASSERT_EQ(context.size(), 1u);
  EXPECT_EQ(context[0].sizes(), (std::vector<int64_t>{tokens, 32}));
  EXPECT_TRUE(finite(context[0]));
  EXPECT_GT(stddev(context[0]), 0.1);

  const auto& wide = m.native_sizes.at("wide");
  const int64_t latent_frames = 1 + (m.frame_count - 1) / 4;  // 5
  at::manual_seed(1);
  const at::Tensor noise = at::randn({1, 16, latent_frames, wide.height_px / 8, wide.width_px / 8});
  const at::Tensor velocity =
      dit.forward_batch(noise, at::full({1}, 900.0), dit.embed_text(context));
  EXPECT_EQ(velocity.sizes(), noise.sizes());
  EXPECT_TRUE(finite(velocity));
  EXPECT_GT(stddev(velocity), 0.1);
  EXPECT_LT(stddev(velocity), 10.0);

  const at::Tensor video = vae.decode(noise);  // [1, 3, 17, 48, 80]
  EXPECT_EQ(video.sizes(),
            (std::vector<int64_t>{1, 3, m.frame_count, wide.height_px, wide.width_px}));
  EXPECT_TRUE(finite(video));
  EXPECT_GT(stddev(video), 0.05);  // of order 1: a visible picture, not a flat or exploded one
  EXPECT_LT(video.abs().max().item<double>(), 20.0);
  const at::Tensor latent = vae.encode(video.clamp(-1, 1));
  EXPECT_EQ(latent.sizes(), noise.sizes());
  EXPECT_TRUE(finite(latent));
}

TEST_F(ModelWriter, SaveModelWritesLoadedNetworksBackUnchanged) {
  const ModelManifest m = ModelManifest::load(dir());
  const ModelComponents components{
      WanDiT::load(Checkpoint::open(dir() / kDiTWeightsFile), dit_options(m)),
      UMT5Encoder::load(Checkpoint::open(dir() / kTextEncoderWeightsFile), UMT5LoadOptions{}),
      WanVAE::load(Checkpoint::open(dir() / kVAEWeightsFile), vae_options(m)),
      dir() / kTokenizerFile};
  TempDir copy;
  ModelManifest renamed = m;
  renamed.name = "tiny-copy";
  const ModelManifest written = save_model(copy / "copy", renamed, components);
  EXPECT_EQ(written.name, "tiny-copy");
  EXPECT_TRUE(written.missing_files().empty());
  for (const char* file :
       {kDiTWeightsFile, kTextEncoderWeightsFile, kVAEWeightsFile, kTokenizerFile}) {
    EXPECT_TRUE(read_file(copy / "copy" / file) == read_file(dir() / file)) << file;
  }
  EXPECT_EQ(ModelManifest::load(copy / "copy").dit.num_heads, 2);

  // bf16 storage halves the floating-point weights and still loads.
  SaveModelOptions bf16;
  bf16.weight_dtype = WeightDType::BFloat16;
  save_model(copy / "bf16", renamed, components, bf16);
  const Checkpoint dit_bf16 = Checkpoint::open(copy / "bf16" / kDiTWeightsFile);
  EXPECT_EQ(dit_bf16.info("patch_embedding.weight").dtype, reelforge::tensors::DType::BF16);
  EXPECT_LT(fs::file_size(copy / "bf16" / kDiTWeightsFile),
            fs::file_size(dir() / kDiTWeightsFile) * 6 / 10);
  EXPECT_EQ(WanDiT::load(dit_bf16, dit_options(m)).config().dim, 64);

  // A tokenizer with more pieces than the encoder knows is refused before anything is written.
  UMT5Config small = components.text_encoder.config();
  small.vocab = 20;
  const ModelComponents mismatched{components.dit, UMT5Encoder::random(small, UMT5LoadOptions{}),
                                   components.vae, components.tokenizer_model};
  expect_invalid([&] { save_model(copy / "bad", renamed, mismatched); }, "more than the text");
  EXPECT_FALSE(fs::exists(copy / "bad"));
}

TEST_F(ModelWriter, SameSeedGivesIdenticalFilesAndAnotherSeedDifferentWeights) {
  TempDir again;
  write_random_model(again / "same", RandomModelSpec{});
  for (const char* file : kFiles) {
    EXPECT_TRUE(read_file(again / "same" / file) == read_file(dir() / file)) << file;
  }
  RandomModelSpec other;
  other.seed = 1;
  write_random_model(again / "other", other);
  for (const char* file : {kDiTWeightsFile, kTextEncoderWeightsFile, kVAEWeightsFile}) {
    EXPECT_FALSE(read_file(again / "other" / file) == read_file(dir() / file)) << file;
  }
  // The tokenizer does not depend on the seed.
  EXPECT_TRUE(read_file(again / "other" / kTokenizerFile) == read_file(dir() / kTokenizerFile));
}

TEST(ModelWriterTI2V, PerTokenTimestepModelLoadsAndRuns) {
  c10::InferenceMode guard;
  TempDir root;
  const ModelManifest m =
      write_random_model(root / "ti2v", RandomModelSpec::tiny(WanModelType::TI2V));
  EXPECT_EQ(m.name, "tiny-random-ti2v");
  EXPECT_EQ(ModelManifest::load(root / "ti2v").dit.model_type, "ti2v");
  EXPECT_TRUE(m.supports(Task::ImageToVideo));
  const WanDiT dit =
      WanDiT::load(Checkpoint::open(root / "ti2v" / kDiTWeightsFile), dit_options(m));
  EXPECT_EQ(dit.config().model_type, WanModelType::TI2V);
  EXPECT_EQ(dit.config().in_dim, 16);

  // Per-token timesteps as Wan 2.2 gives them: 0 for the clean first latent frame.
  const auto& square = m.native_sizes.at("square");
  const int64_t h = square.height_px / 8, w = square.width_px / 8;  // 8 x 8 latent
  const int64_t per_frame = (h / 2) * (w / 2);
  const at::Tensor x = at::randn({1, 16, 5, h, w});
  at::Tensor t = at::full({1, 5 * per_frame}, 700.0);
  t.slice(1, 0, per_frame).zero_();
  const at::Tensor context = at::randn({7, 32});
  const at::Tensor out = dit.forward_batch(x, t, dit.embed_text({context}));
  EXPECT_EQ(out.sizes(), x.sizes());
  EXPECT_TRUE(finite(out));
}

TEST(ModelWriterErrors, MismatchedSpecsAreRefusedBeforeWriting) {
  TempDir root;
  RandomModelSpec text_dim;
  text_dim.dit.text_dim = 48;
  expect_invalid([&] { write_random_model(root / "a", text_dim); }, "text_dim 48");
  RandomModelSpec z;
  z.vae.z_dim = 12;
  expect_invalid([&] { write_random_model(root / "b", z); }, "z_dim 12");
  RandomModelSpec size;
  size.native_sizes["wide"] = {72, 48};
  expect_invalid([&] { write_random_model(root / "c", size); }, "native size 'wide'");
  RandomModelSpec frames;
  frames.frame_count = 16;
  expect_invalid([&] { write_random_model(root / "d", frames); }, "1 + 4k");
  for (const char* name : {"a", "b", "c", "d"}) EXPECT_FALSE(fs::exists(root / name)) << name;
}
