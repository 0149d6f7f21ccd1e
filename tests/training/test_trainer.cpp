// The trainer on its toy recipe: a run folder is created, trained, resumed, refused with another
// recipe, and exported to a model folder that the normal pipeline loads and generates with.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <vector>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/manifest.hpp"
#include "reelforge/pipeline/generator.hpp"
#include "reelforge/pipeline/model_runtime.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"
#include "reelforge/training/dit_trainable.hpp"
#include "reelforge/training/flow_matching.hpp"
#include "reelforge/training/optimizer.hpp"
#include "reelforge/training/trainer.hpp"
#include "support/testing.hpp"

namespace reelforge::training {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

models::ModelManifest identity() {
  models::ModelManifest m;
  m.name = "smoke";
  m.display_name = "smoke test model";
  m.variant = "builtin";
  m.license = "Apache-2.0";
  m.defaults.steps = 3;
  m.defaults.guidance = 3.0;
  return m;
}

std::string file_bytes(const fs::path& path) {
  return read_file(path);
}

TEST(Trainer, StagesResumeAndExportAModelThePipelineRuns) {
  TempDir dir;
  const fs::path run = dir / "run";
  const TrainConfig config = TrainConfig::smoke();
  {
    Trainer trainer = Trainer::create_or_resume(run, config);
    EXPECT_TRUE(fs::exists(run / "spiece.model"));
    EXPECT_THROW(trainer.train(TrainStage::DiT), Error);  // needs the VAE first
    TrainLimits limits;
    limits.max_steps = 2;
    EXPECT_EQ(trainer.train(TrainStage::VAE, limits), 2);
    EXPECT_EQ(trainer.steps_done(TrainStage::VAE), 2);
  }
  // A second piece continues from the checkpoint to the target.
  Trainer trainer = Trainer::resume(run);
  std::vector<TrainProgress> seen;
  EXPECT_EQ(trainer.train(TrainStage::VAE, {}, [&](const TrainProgress& p) { seen.push_back(p); }),
            config.vae_steps - 2);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().step, config.vae_steps);
  EXPECT_EQ(seen.back().total, config.vae_steps);
  EXPECT_TRUE(std::isfinite(seen.back().loss));

  EXPECT_EQ(trainer.train(TrainStage::DiT), config.dit_steps);
  EXPECT_TRUE(fs::exists(run / "vae_stats.json"));
  // The loss log has one line per step of both stages, after its header.
  const std::string log = file_bytes(run / "loss.tsv");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1 + config.vae_steps + config.dit_steps);

  const models::ModelManifest written = trainer.export_model(dir / "model", identity());
  const models::ModelManifest m = models::ModelManifest::load(dir / "model");
  EXPECT_EQ(m.dit.model_type, "ti2v");
  EXPECT_TRUE(m.supports(models::Task::ImageToVideo));
  EXPECT_EQ(m.frame_count, config.frame_count);
  EXPECT_EQ(m.native_sizes.size(), config.buckets.size());
  EXPECT_EQ(m.vae.preview_weight.size(), 3U);
  EXPECT_EQ(m.defaults.shift, config.shift);

  // The exported folder is an ordinary model: load it and sample one image-conditioned window.
  pipeline::RuntimeOptions options;
  options.device = Device::CPU;
  options.dtype = ComputeDType::Float32;
  auto runtime = pipeline::ModelRuntime::load(m, options);
  EXPECT_TRUE(runtime->conditions_on_images());
  const auto size = m.native_sizes.at("square");
  pipeline::WindowRequest request;
  request.context =
      runtime->encode_text({"a small red circle moving left on a gray background"})[0];
  request.negative_context = runtime->encode_text({""})[0];
  request.frame_count = m.frame_count;
  request.size = {size.width_px, size.height_px};
  request.sampling.steps = 2;
  request.sampling.guidance = 3.0;
  request.sampling.shift = m.defaults.shift;
  request.seed = 4;
  const at::Tensor latent = pipeline::sample_window(*runtime, request);
  const std::vector<cv::Mat> frames = pipeline::decode_latent(*runtime, latent);
  ASSERT_EQ(int(frames.size()), m.frame_count);
  EXPECT_EQ(frames[0].cols, size.width_px);
}

// Trains the toy recipe two steps per stage in `dir`/first and exports it to `dir`/model; returns
// its config.
TrainConfig export_toy_model(const fs::path& dir) {
  TrainConfig config = TrainConfig::smoke();
  config.vae_steps = 2;
  config.dit_steps = 2;
  Trainer trainer = Trainer::create_or_resume(dir / "first", config);
  trainer.train(TrainStage::VAE);
  trainer.train(TrainStage::DiT);
  trainer.export_model(dir / "model", identity());
  return config;
}

// A run started from an exported model holds exactly that model: exported again untrained it gives
// the same weights; its DiT stage trains on from there; other architectures are refused.
TEST(Trainer, ARunStartsFromAModelFolder) {
  TempDir dir;
  const TrainConfig config = export_toy_model(dir.path());
  TrainConfig next = config;
  next.seed = 7;
  next.dit_steps = 3;
  Trainer trainer = Trainer::create_from_model(dir / "next", next, dir / "model");
  EXPECT_EQ(trainer.steps_done(TrainStage::VAE), next.vae_steps);
  EXPECT_EQ(trainer.steps_done(TrainStage::DiT), 0);
  EXPECT_EQ(file_bytes(dir / "next" / "spiece.model"), file_bytes(dir / "model" / "spiece.model"));
  const auto stats = nlohmann::json::parse(file_bytes(dir / "next" / "vae_stats.json"));
  const auto manifest = models::ModelManifest::load(dir / "model");
  EXPECT_EQ(stats.at("latent_mean").get<std::vector<double>>(), manifest.vae.latent_mean);
  EXPECT_EQ(stats.at("latent_std").get<std::vector<double>>(), manifest.vae.latent_std);
  EXPECT_GT(stats.at("reconstruction_psnr_db").get<double>(), 0.0);

  trainer.export_model(dir / "again", identity());
  for (const char* file : {"dit.safetensors", "umt5.safetensors", "vae.safetensors"}) {
    const auto a = tensors::Checkpoint::open(dir / "model" / file);
    const auto b = tensors::Checkpoint::open(dir / "again" / file);
    ASSERT_EQ(a.names(), b.names()) << file;
    for (const std::string& name : a.names()) {
      EXPECT_TRUE(at::equal(a.load(name), b.load(name))) << file << ": " << name;
    }
  }

  EXPECT_EQ(trainer.train(TrainStage::VAE), 0);  // already done: it came with the model
  std::vector<TrainProgress> seen;
  EXPECT_EQ(trainer.train(TrainStage::DiT, {}, [&](const TrainProgress& p) { seen.push_back(p); }),
            3);
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(std::isfinite(seen.back().loss));
  // The trained DiT moved away from the model's.
  trainer.export_model(dir / "trained", identity());
  const auto before = tensors::Checkpoint::open(dir / "model" / "dit.safetensors");
  const auto after = tensors::Checkpoint::open(dir / "trained" / "dit.safetensors");
  bool changed = false;
  for (const std::string& name : before.names()) {
    changed = changed || !at::equal(before.load(name), after.load(name));
  }
  EXPECT_TRUE(changed);

  // Only into a new folder, and only from a model of the recipe's architecture.
  EXPECT_THROW(Trainer::create_from_model(dir / "next", next, dir / "model"), Error);
  TrainConfig wider = next;
  wider.dit.dim = 48;
  try {
    Trainer::create_from_model(dir / "wider", wider, dir / "model");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Format);
    EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "wider" / "config.json"));
  EXPECT_THROW(Trainer::create_from_model(dir / "none", next, dir / "missing"), Error);
}

// A run may take only a model's tokenizer and VAE (a finished stage 1 with its normalisation)
// and start a DiT of another width from zero on them.
TEST(Trainer, AFreshDiTTakesOnlyTheModelsTokenizerAndVAE) {
  TempDir dir;
  const TrainConfig config = export_toy_model(dir.path());
  TrainConfig wider = config;
  wider.seed = 9;
  wider.set_dit_width(48);
  Trainer trainer =
      Trainer::create_from_model(dir / "wider", wider, dir / "model", ModelImport::TokenizerAndVAE);
  EXPECT_EQ(trainer.steps_done(TrainStage::VAE), wider.vae_steps);
  EXPECT_EQ(trainer.steps_done(TrainStage::DiT), 0);
  EXPECT_EQ(file_bytes(dir / "wider" / "spiece.model"), file_bytes(dir / "model" / "spiece.model"));
  const auto stats = nlohmann::json::parse(file_bytes(dir / "wider" / "vae_stats.json"));
  EXPECT_EQ(stats.at("latent_std").get<std::vector<double>>(),
            models::ModelManifest::load(dir / "model").vae.latent_std);

  trainer.export_model(dir / "fresh", identity());
  const auto same = [](const fs::path& a_file, const fs::path& b_file) {
    const auto a = tensors::Checkpoint::open(a_file);
    const auto b = tensors::Checkpoint::open(b_file);
    if (a.names() != b.names()) return false;
    for (const std::string& name : a.names()) {
      if (!at::equal(a.load(name), b.load(name))) return false;
    }
    return true;
  };
  EXPECT_TRUE(same(dir / "model" / "vae.safetensors", dir / "fresh" / "vae.safetensors"));
  EXPECT_FALSE(same(dir / "model" / "umt5.safetensors", dir / "fresh" / "umt5.safetensors"));
  const auto dit = tensors::Checkpoint::open(dir / "fresh" / "dit.safetensors");
  EXPECT_EQ(dit.info("blocks.0.self_attn.q.weight").shape, (std::vector<int64_t>{48, 48}));
  EXPECT_EQ(models::ModelManifest::load(dir / "fresh").dit.num_heads, std::optional<int>(3));
  // The fresh networks are the seed's: importing again gives them bit for bit.
  Trainer::create_from_model(dir / "again", wider, dir / "model", ModelImport::TokenizerAndVAE)
      .export_model(dir / "fresh-again", identity());
  EXPECT_TRUE(same(dir / "fresh" / "dit.safetensors", dir / "fresh-again" / "dit.safetensors"));

  std::vector<TrainProgress> seen;
  EXPECT_EQ(trainer.train(TrainStage::DiT, {}, [&](const TrainProgress& p) { seen.push_back(p); }),
            wider.dit_steps);
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(std::isfinite(seen.back().loss));
}

NamedWeights load_weights(const fs::path& file) {
  const auto checkpoint = tensors::Checkpoint::open(file);
  NamedWeights w;
  for (const std::string& name : checkpoint.names())
    w.emplace(name, checkpoint.load(name, at::kFloat));
  return w;
}

// A model's DiT with a 1x4x4 patch starts a 1x2x2 run as the same network looking at the picture
// magnified twice: on a latent x the fine DiT predicts what the coarse one predicts on x
// upsampled 2x, averaged back down. Everything but the patch embedding and the head is copied.
TEST(Trainer, AFinerPatchStartsAsTheModelOnAMagnifiedPicture) {
  TempDir dir;
  const TrainConfig coarse = export_toy_model(dir.path());
  TrainConfig fine = coarse;
  fine.dit.patch_size = {1, 2, 2};
  Trainer trainer = Trainer::create_from_model(dir / "fine", fine, dir / "model");
  EXPECT_EQ(trainer.config().dit.patch_size, fine.dit.patch_size);
  trainer.export_model(dir / "fine-model", identity());

  const NamedWeights a = load_weights(dir / "model" / "dit.safetensors");
  const NamedWeights b = load_weights(dir / "fine-model" / "dit.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, w] : a) {
    if (name == "patch_embedding.weight" || name.rfind("head.head.", 0) == 0) continue;
    EXPECT_TRUE(at::equal(w, b.at(name))) << name;
  }
  EXPECT_EQ(b.at("patch_embedding.weight").sizes(),
            (std::vector<int64_t>{coarse.dit.dim, coarse.dit.in_dim, 1, 2, 2}));

  at::manual_seed(3);
  const int64_t z = coarse.vae.z_dim;
  const at::Tensor x = at::randn({1, z, 3, 4, 6});
  const at::Tensor magnified = at::upsample_nearest3d(x, {3, 8, 12});
  const at::Tensor t = at::full({1}, 600.0);
  const at::Tensor text = at::randn({1, 5, coarse.dit.text_dim});
  const at::Tensor seen = dit_forward(a, coarse.dit, magnified, t, text, at::kFloat);
  const at::Tensor expected = at::avg_pool3d(seen, {1, 2, 2});
  const at::Tensor got = dit_forward(b, fine.dit, x, t, text, at::kFloat);
  ASSERT_EQ(got.sizes(), x.sizes());
  const double scale = expected.abs().max().item<double>();
  ASSERT_GT(scale, 1e-3);  // the trained head predicts something
  // The fine weights are stored in bf16 after summing bf16 ones: equal to about 1%.
  EXPECT_LT((got - expected).abs().max().item<double>(), 0.02 * scale);

  // Only finer: a model with a finer patch cannot start a coarser run.
  TrainConfig coarser = coarse;
  coarser.dit.patch_size = {1, 8, 8};
  coarser.buckets = {{"wide", {64, 32}}, {"square", {32, 32}}};
  EXPECT_THROW(Trainer::create_from_model(dir / "coarser", coarser, dir / "model"), Error);
}

// A model's DiT starts a deeper run as the same network: its blocks are copied, the blocks added
// between them start as the identity, so on any input the deeper DiT predicts what the model does;
// one training step then moves the new blocks. A shallower run is refused.
// A run that predicts the clean latent, from a model that predicts the velocity: every weight is
// the model's but the output layer, which starts from zero; the exported model says "clean".
TEST(Trainer, AnotherPredictionStartsTheOutputLayerAgain) {
  TempDir dir;
  const TrainConfig velocity = export_toy_model(dir.path());
  ASSERT_EQ(velocity.dit.prediction, models::WanPrediction::Velocity);
  TrainConfig clean = velocity;
  clean.dit.prediction = models::WanPrediction::Clean;
  Trainer::create_from_model(dir / "clean", clean, dir / "model")
      .export_model(dir / "clean-model", identity());
  const NamedWeights a = load_weights(dir / "model" / "dit.safetensors");
  const NamedWeights b = load_weights(dir / "clean-model" / "dit.safetensors");
  for (const auto& [name, w] : a) {
    if (name.rfind("head.head.", 0) == 0) {
      EXPECT_GT(w.abs().max().item<double>(), 0.0) << name;
      EXPECT_EQ(b.at(name).abs().max().item<double>(), 0.0) << name;
    } else {
      EXPECT_TRUE(at::equal(w, b.at(name))) << name;
    }
  }
  EXPECT_EQ(models::ModelManifest::load(dir / "clean-model").dit.prediction, "clean");
}

// The silhouette head trains beside the DiT from zero: it leaves the model's first step as it was,
// logs its own loss, learns, and stays out of the exported model.
TEST(Trainer, ASilhouetteHeadTrainsBesideTheDiTAndIsNotExported) {
  TempDir dir;
  TrainConfig plain = export_toy_model(dir.path());
  plain.dit_steps = 12;
  TrainConfig outlined = plain;
  outlined.silhouette_loss_weight = 4;
  Trainer with_head = Trainer::create_from_model(dir / "outlined", outlined, dir / "model");
  with_head.export_model(dir / "untrained", identity());
  const NamedWeights model = load_weights(dir / "model" / "dit.safetensors");
  const NamedWeights untrained = load_weights(dir / "untrained" / "dit.safetensors");
  ASSERT_EQ(model.size(), untrained.size());
  for (const auto& [name, w] : model) EXPECT_TRUE(at::equal(w, untrained.at(name))) << name;

  Trainer without_head = Trainer::create_from_model(dir / "plain", plain, dir / "model");
  without_head.train(TrainStage::DiT);
  with_head.train(TrainStage::DiT);
  const auto rows = [&](const fs::path& run) {
    std::vector<std::vector<std::string>> out;
    std::istringstream lines(file_bytes(run / "loss.tsv"));
    std::string line;
    while (std::getline(lines, line)) {
      std::vector<std::string> fields;
      std::istringstream cells(line);
      std::string cell;
      while (std::getline(cells, cell, '\t')) fields.push_back(cell);
      out.push_back(fields);
    }
    return out;
  };
  const auto plain_rows = rows(dir / "plain"), head_rows = rows(dir / "outlined");
  ASSERT_EQ(plain_rows.size(), 13u);
  ASSERT_EQ(head_rows.size(), 13u);
  EXPECT_EQ(plain_rows[0].size(), 5u);
  ASSERT_EQ(head_rows[0].size(), 6u);
  EXPECT_EQ(head_rows[0][5], "silhouette_loss");
  // The head starts at zero, so the first step's flow-matching loss is the model's own.
  EXPECT_EQ(head_rows[1][2], plain_rows[1][2]);
  std::vector<double> silhouette;
  for (size_t i = 1; i < head_rows.size(); ++i) {
    ASSERT_EQ(head_rows[i].size(), 6u) << i;
    silhouette.push_back(std::stod(head_rows[i][5]));
    EXPECT_TRUE(std::isfinite(silhouette.back()));
  }
  // A zero head's error is the silhouettes' mean square: the objects are there to be found.
  EXPECT_GT(silhouette.front(), 0.0);
  EXPECT_LT(silhouette.back(), silhouette.front());
  EXPECT_NE(head_rows.back()[2], plain_rows.back()[2]);  // the head's gradient reached the DiT

  const NamedWeights state = load_weights(dir / "outlined" / "dit_state.safetensors");
  bool head_trained = false;
  for (const auto& [name, w] : state) {
    if (name.find("silhouette/head.weight") != std::string::npos) {
      head_trained = head_trained || w.abs().max().item<double>() > 0;
    }
  }
  EXPECT_TRUE(head_trained);
  with_head.export_model(dir / "trained", identity());
  const NamedWeights trained = load_weights(dir / "trained" / "dit.safetensors");
  EXPECT_EQ(trained.size(), model.size());
  for (const auto& [name, w] : trained) EXPECT_TRUE(model.count(name)) << name;

  // Resumed runs keep the head they were started with; the config refuses what cannot train.
  EXPECT_THROW(Trainer::create_or_resume(dir / "plain", outlined), Error);
  TrainConfig bad = outlined;
  bad.silhouette_block = bad.dit.num_layers + 1;
  EXPECT_THROW(bad.validate(), Error);
}

TEST(Trainer, ADeeperDiTStartsAsTheModel) {
  TempDir dir;
  const TrainConfig shallow = export_toy_model(dir.path());
  ASSERT_EQ(shallow.dit.num_layers, 1);
  TrainConfig deep = shallow;
  deep.dit.num_layers = 3;
  deep.dit_steps = 1;
  Trainer trainer = Trainer::create_from_model(dir / "deep", deep, dir / "model");
  trainer.export_model(dir / "deep-model", identity());

  const NamedWeights a = load_weights(dir / "model" / "dit.safetensors");
  const NamedWeights b = load_weights(dir / "deep-model" / "dit.safetensors");
  for (const auto& [name, w] : a) EXPECT_TRUE(at::equal(w, b.at(name))) << name;
  const char* outputs[] = {"self_attn.o.weight", "cross_attn.o.weight", "ffn.2.weight"};
  for (const char* block : {"blocks.1.", "blocks.2."}) {
    for (const char* output : outputs) {
      EXPECT_EQ(b.at(std::string(block) + output).abs().max().item<double>(), 0.0)
          << block << output;
    }
    // The rest of a new block is initialised afresh, not zero.
    EXPECT_GT(b.at(std::string(block) + "self_attn.q.weight").abs().max().item<double>(), 0.0);
  }

  at::manual_seed(5);
  const at::Tensor x = at::randn({1, shallow.vae.z_dim, 3, 8, 12});
  const at::Tensor t = at::full({1}, 700.0);
  const at::Tensor text = at::randn({1, 5, shallow.dit.text_dim});
  const at::Tensor expected = dit_forward(a, shallow.dit, x, t, text, at::kFloat);
  ASSERT_GT(expected.abs().max().item<double>(), 1e-3);  // the trained head predicts something
  EXPECT_TRUE(at::equal(dit_forward(b, deep.dit, x, t, text, at::kFloat), expected));

  ASSERT_EQ(trainer.train(TrainStage::DiT), 1);
  trainer.export_model(dir / "deep-trained", identity());
  const NamedWeights trained = load_weights(dir / "deep-trained" / "dit.safetensors");
  for (const char* block : {"blocks.1.", "blocks.2."}) {
    for (const char* output : outputs) {
      EXPECT_GT(trained.at(std::string(block) + output).abs().max().item<double>(), 0.0)
          << block << output << " did not train";
    }
  }

  TrainConfig shallower = shallow;
  shallower.dit.num_layers = 2;
  try {
    Trainer::create_from_model(dir / "shallower", shallower, dir / "deep-model");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Format);
    EXPECT_NE(std::string(e.what()).find("'blocks.2."), std::string::npos) << e.what();
  }

  // A weight under "blocks." without a block number is named, not left to a number parser.
  fs::copy(dir / "model", dir / "misnamed-model");
  tensors::NamedTensors misnamed;
  for (const auto& [name, w] : a) misnamed.emplace_back(name, w);
  misnamed.emplace_back("blocks.x.self_attn.q.weight", a.at("blocks.0.self_attn.q.weight"));
  tensors::save_safetensors(dir / "misnamed-model" / "dit.safetensors", misnamed);
  try {
    Trainer::create_from_model(dir / "misnamed", deep, dir / "misnamed-model");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Format);
    EXPECT_NE(std::string(e.what()).find("'blocks.x.self_attn.q.weight'"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "misnamed" / "config.json"));
}

bool is_decoder_side(const std::string& name) {
  return name.rfind("decoder.", 0) == 0 || name.rfind("conv2.", 0) == 0;
}

// The decoder stage trains the VAE's decoder alone: the encoder, and with it the DiT's latent
// space, stays bit for bit, and export ships the trained decoder with the rest unchanged.
TEST(Trainer, TheDecoderStageTrainsOnlyTheDecoder) {
  TempDir dir;
  TrainConfig config = TrainConfig::smoke();
  config.vae_steps = 2;
  config.dit_steps = 1;
  config.decoder_steps = 3;
  Trainer trainer = Trainer::create_or_resume(dir / "run", config);
  EXPECT_THROW(trainer.train(TrainStage::Decoder), Error);  // needs the VAE first
  trainer.train(TrainStage::VAE);
  trainer.train(TrainStage::DiT);
  trainer.export_model(dir / "before", identity());

  TrainLimits two;
  two.max_steps = 2;
  std::vector<TrainProgress> seen;
  EXPECT_EQ(
      trainer.train(TrainStage::Decoder, two, [&](const TrainProgress& p) { seen.push_back(p); }),
      2);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().stage, TrainStage::Decoder);
  EXPECT_EQ(seen.back().total, 3);
  EXPECT_TRUE(std::isfinite(seen.back().loss));
  EXPECT_EQ(Trainer::resume(dir / "run").train(TrainStage::Decoder), 1);
  EXPECT_EQ(trainer.steps_done(TrainStage::Decoder), 3);
  const auto state = tensors::Checkpoint::open(dir / "run" / "decoder_state.safetensors");
  const auto log = file_bytes(dir / "run" / "loss.tsv");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1 + 2 + 1 + 3);
  EXPECT_NE(log.find("decoder\t3\t"), std::string::npos) << log;

  trainer.export_model(dir / "after", identity());
  const auto before = tensors::Checkpoint::open(dir / "before" / "vae.safetensors");
  const auto after = tensors::Checkpoint::open(dir / "after" / "vae.safetensors");
  ASSERT_EQ(before.names(), after.names());
  int decoder_changed = 0;
  for (const std::string& name : before.names()) {
    const bool same = at::equal(before.load(name), after.load(name));
    if (is_decoder_side(name)) {
      decoder_changed += same ? 0 : 1;
    } else {
      EXPECT_TRUE(same) << "the encoder side changed: " << name;
    }
  }
  EXPECT_GT(decoder_changed, 0);
  bool has_conv2 = false;
  for (const std::string& name : state.names()) {
    // The state holds the decoder side's weights, moments and EMA only.
    EXPECT_EQ(name.find("/encoder."), std::string::npos) << name;
    EXPECT_EQ(name.find("/conv1."), std::string::npos) << name;
    has_conv2 = has_conv2 || name.find("/conv2.") != std::string::npos;
  }
  EXPECT_TRUE(has_conv2);
  for (const char* file : {"dit.safetensors", "umt5.safetensors"}) {
    EXPECT_EQ(file_bytes(dir / "before" / file), file_bytes(dir / "after" / file)) << file;
  }
  EXPECT_EQ(models::ModelManifest::load(dir / "after").vae.latent_mean,
            models::ModelManifest::load(dir / "before").vae.latent_mean);
}

TEST(Trainer, TheSameSeedTrainsTheSameWeights) {
  TempDir dir;
  TrainConfig config = TrainConfig::smoke();
  config.vae_steps = 2;
  config.dit_steps = 2;
  for (const char* name : {"a", "b"}) {
    Trainer trainer = Trainer::create_or_resume(dir / name, config);
    trainer.train(TrainStage::VAE);
    trainer.train(TrainStage::DiT);
  }
  for (const char* file : {"vae_state.safetensors", "dit_state.safetensors", "spiece.model"}) {
    EXPECT_EQ(file_bytes(dir / "a" / file), file_bytes(dir / "b" / file)) << file;
  }
}

// Stopping and resuming the VAE stage gives the weights of an uninterrupted run, bit for bit.
TEST(Trainer, AResumedStageEqualsAnUninterruptedOne) {
  TempDir dir;
  TrainConfig config = TrainConfig::smoke();
  config.vae_steps = 3;
  Trainer whole = Trainer::create_or_resume(dir / "whole", config);
  whole.train(TrainStage::VAE);
  Trainer pieces = Trainer::create_or_resume(dir / "pieces", config);
  TrainLimits one;
  one.max_steps = 1;
  pieces.train(TrainStage::VAE, one);
  Trainer::resume(dir / "pieces").train(TrainStage::VAE);
  const auto a = tensors::Checkpoint::open(dir / "whole" / "vae_state.safetensors");
  const auto b = tensors::Checkpoint::open(dir / "pieces" / "vae_state.safetensors");
  ASSERT_EQ(a.names(), b.names());
  for (const std::string& name : a.names()) {
    EXPECT_TRUE(at::equal(a.load(name), b.load(name))) << name;
  }
}

TEST(Trainer, RefusesToResumeWithAnotherRecipe) {
  TempDir dir;
  TrainConfig config = TrainConfig::smoke();
  Trainer::create_or_resume(dir / "run", config);
  TrainConfig other = config;
  other.dit.dim = 48;
  try {
    Trainer::create_or_resume(dir / "run", other);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dit.dim"), std::string::npos) << e.what();
  }
  // Longer targets are allowed: that is how training continues in pieces.
  TrainConfig longer = config;
  longer.dit_steps = 100;
  longer.decoder_steps = 50;
  EXPECT_EQ(Trainer::create_or_resume(dir / "run", longer).config().dit_steps, 100);
  EXPECT_EQ(Trainer::resume(dir / "run").config().decoder_steps, 50);
  EXPECT_THROW(Trainer::resume(dir / "missing"), Error);
}

// The width keeps the recipe's head size and feed-forward ratio.
TEST(TrainConfig, TheDiTWidensByWholeHeads) {
  TrainConfig c = TrainConfig::builtin();
  c.set_dit_width(384);
  EXPECT_EQ(c.dit.dim, 384);
  EXPECT_EQ(c.dit.num_heads, 6);
  EXPECT_EQ(c.dit.ffn_dim, 1536);
  EXPECT_NO_THROW(c.validate());
  c.set_dit_width(128);
  EXPECT_EQ(c.dit.num_heads, 2);
  EXPECT_EQ(c.dit.ffn_dim, 512);
  try {
    c.set_dit_width(300);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("multiple of its head size 64"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(c.set_dit_width(0), Error);
  EXPECT_EQ(c.dit.dim, 128);  // a refused width leaves the config as it was
  TrainConfig smoke = TrainConfig::smoke();
  smoke.set_dit_width(48);
  EXPECT_EQ(smoke.dit.num_heads, 3);
  EXPECT_EQ(smoke.dit.ffn_dim, 96);
}

TEST(TrainConfig, JsonRoundTripsAndValidates) {
  const TrainConfig c = TrainConfig::builtin();
  EXPECT_EQ(TrainConfig::from_json(c.to_json()).to_json(), c.to_json());
  c.validate();
  TrainConfig bad = c;
  bad.buckets["wide"] = {100, 64};
  EXPECT_THROW(bad.validate(), Error);
  bad = c;
  bad.frame_count = 16;
  EXPECT_THROW(bad.validate(), Error);
  bad = c;
  bad.dit.patch_size = {2, 2, 2};  // image conditioning needs one latent frame per token
  EXPECT_THROW(bad.validate(), Error);
  bad = c;
  bad.dit.patch_size = {1, 2, 2};  // 8-pixel multiples: 100 is still not one, 104 is
  bad.buckets["wide"] = {100, 64};
  EXPECT_THROW(bad.validate(), Error);
  bad.buckets["wide"] = {104, 64};
  EXPECT_NO_THROW(bad.validate());
  nlohmann::json j = c.to_json();
  j.erase("shift");
  EXPECT_THROW(TrainConfig::from_json(j), Error);
  // The loss options added after the first runs: kept through json, read as 0 (off) from runs
  // started before they existed, a bad value refused. The recipe's are all 0 but the object weight.
  const auto check_added_option = [&](double TrainConfig::*field, const char* key, double value,
                                      double bad_value) {
    TrainConfig set = c;
    set.*field = value;
    EXPECT_EQ(TrainConfig::from_json(set.to_json()).*field, value) << key;
    nlohmann::json old_run = set.to_json();
    old_run.erase(key);
    EXPECT_EQ(TrainConfig::from_json(old_run).*field, 0.0) << key;
    set.*field = bad_value;
    EXPECT_THROW(set.validate(), Error) << key;
  };
  check_added_option(&TrainConfig::object_loss_weight, "object_loss_weight", 2.5, -1);
  check_added_option(&TrainConfig::sigma_loss_power, "sigma_loss_power", 2, -1);
  check_added_option(&TrainConfig::sigma_logit_spread, "sigma_logit_spread", 1.5, -0.5);
  check_added_option(&TrainConfig::silhouette_loss_weight, "silhouette_loss_weight", 4, -1);
  TrainConfig tapped = c;
  tapped.silhouette_block = 2;
  EXPECT_EQ(TrainConfig::from_json(tapped.to_json()).silhouette_block, 2);
  j = tapped.to_json();
  j.erase("silhouette_block");
  EXPECT_EQ(TrainConfig::from_json(j).silhouette_block, 0);
  tapped.silhouette_block = -1;
  EXPECT_THROW(tapped.validate(), Error);
  EXPECT_EQ(c.sigma_loss_power, 0.0);
  EXPECT_EQ(c.sigma_logit_spread, 0.0);
  // The world mix too: kept through json, the world's own mix for runs started before it existed,
  // only the shapes weighted for runs started with the shape mix it replaced, and validated.
  TrainConfig mix = c;
  mix.world_mix = dataset::parse_world_mix("star=3,triangle=2,small=0,sunset=0.5,second=0.1");
  EXPECT_EQ(TrainConfig::from_json(mix.to_json()).world_mix, mix.world_mix);
  EXPECT_EQ(mix.to_json().at("world_mix").at("shape").at("star"), 3.0);
  EXPECT_EQ(mix.to_json().at("world_mix").at("background").at("sunset"), 0.5);
  EXPECT_EQ(mix.to_json().at("world_mix").at("second_object"), 0.1);
  j = mix.to_json();
  j.erase("world_mix");
  EXPECT_EQ(TrainConfig::from_json(j).world_mix, dataset::WorldMix{});
  EXPECT_EQ(c.world_mix, dataset::WorldMix{});
  j["shape_weights"] = {{"circle", 1}, {"square", 1}, {"triangle", 0.5}, {"star", 3}, {"ring", 1}};
  EXPECT_EQ(TrainConfig::from_json(j).world_mix, dataset::parse_world_mix("triangle=0.5,star=3"));
  j["shape_weights"].erase("ring");
  EXPECT_THROW(TrainConfig::from_json(j), Error);
  j = mix.to_json();
  j["world_mix"]["size"].erase("big");
  EXPECT_THROW(TrainConfig::from_json(j), Error);
  mix.world_mix.motion[0] = -1;
  EXPECT_THROW(mix.validate(), Error);
  mix.world_mix = dataset::WorldMix{};
  mix.world_mix.shape = {0, 0, 0, 0, 0};
  EXPECT_THROW(mix.validate(), Error);
  // The DiT's prediction: kept through json, the velocity for runs started before it existed.
  TrainConfig clean = c;
  clean.dit.prediction = models::WanPrediction::Clean;
  EXPECT_EQ(TrainConfig::from_json(clean.to_json()).dit.prediction, models::WanPrediction::Clean);
  j = clean.to_json();
  j["dit"].erase("prediction");
  EXPECT_EQ(TrainConfig::from_json(j).dit.prediction, models::WanPrediction::Velocity);
  EXPECT_EQ(c.dit.prediction, models::WanPrediction::Velocity);
  j = clean.to_json();
  j["dit"]["prediction"] = "noise";
  EXPECT_THROW(TrainConfig::from_json(j), Error);
  // Runs started before the decoder stage existed had none.
  j = c.to_json();
  j.erase("decoder_steps");
  j.erase("decoder_optimizer");
  EXPECT_EQ(TrainConfig::from_json(j).decoder_steps, 0);
  EXPECT_EQ(TrainConfig::from_json(j).to_json().at("decoder_optimizer"),
            c.to_json().at("decoder_optimizer"));
  bad = c;
  bad.decoder_optimizer.learning_rate = 0;
  EXPECT_THROW(bad.validate(), Error);
  EXPECT_EQ(parse_train_stage("decoder"), TrainStage::Decoder);
  EXPECT_STREQ(to_string(TrainStage::Decoder), "decoder");
  EXPECT_EQ(c.steps_target(TrainStage::Decoder), c.decoder_steps);
  EXPECT_THROW(parse_train_stage("decode"), Error);
}

// Spread 0 is the uniform draw of old (bit for bit: same values from the same generator), shifted;
// a logit-normal of spread 1 puts its median at the middle of the schedule (u = 0.5, sigma 0.75 at
// shift 3) and 73% of its draws in sigma 0.5-0.9 (|z| < logit(0.75) = 1.0986).
TEST(DrawSigma, UniformOrLogitNormalBeforeTheShift) {
  std::mt19937_64 a(5), b(5);
  for (int i = 0; i < 100; ++i) {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(b);
    EXPECT_EQ(draw_sigma(a, 3.0, 0.0), 3.0 * u / (1.0 + 2.0 * u));
  }
  const auto share_in_band = [](double spread, double* median) {
    std::mt19937_64 rng(11);
    std::vector<double> sigmas(20000);
    int in_band = 0;
    for (double& s : sigmas) {
      s = draw_sigma(rng, 3.0, spread);
      EXPECT_GT(s, 0.0);
      EXPECT_LT(s, 1.0);
      in_band += s > 0.5 && s < 0.9;
    }
    std::nth_element(sigmas.begin(), sigmas.begin() + 10000, sigmas.end());
    *median = sigmas[10000];
    return in_band / 20000.0;
  };
  double median = 0;
  EXPECT_NEAR(share_in_band(0.0, &median), 0.5, 0.015);
  EXPECT_NEAR(median, 0.75, 0.01);
  EXPECT_NEAR(share_in_band(1.0, &median), 0.728, 0.015);
  EXPECT_NEAR(median, 0.75, 0.01);
  // Without a shift the sigma is u itself: a wider spread pushes draws to the ends.
  std::mt19937_64 rng(3);
  int ends = 0;
  for (int i = 0; i < 20000; ++i) {
    const double s = draw_sigma(rng, 1.0, 3.0);
    ends += s < 0.1 || s > 0.9;
  }
  EXPECT_NEAR(ends / 20000.0, 0.464, 0.015);  // P(|z| > logit(0.9) / 3 = 0.7324)
}

// Two clips of one latent pixel each, the first half generated, at noise levels 0.5 and 1. The
// plain loss is the mean squared velocity error over the generated pixels; the sigma^2 weighting
// scales each clip's error by sigma^2 over the batch's mean sigma^2 and keeps the denominator.
TEST(FlowMatchingLoss, WeightsEachClipBySigmaToThePowerOverTheBatchMean) {
  const at::Tensor target = at::zeros({2, 1, 2, 1, 1});
  at::Tensor velocity = at::zeros({2, 1, 2, 1, 1});
  velocity[0][0][0].fill_(1.0);   // clip 0, generated frame: error 1
  velocity[0][0][1].fill_(10.0);  // clip 0, conditioning frame: not counted
  velocity[1][0][0].fill_(2.0);   // clip 1, generated frame: error 4
  at::Tensor weight = at::zeros({2, 1, 2, 1, 1});
  weight.select(2, 0).fill_(1.0);
  const at::Tensor sigma = at::tensor({0.5f, 1.0f});
  EXPECT_FLOAT_EQ(flow_matching_loss(velocity, target, weight, sigma, 0).item<float>(),
                  (1.0f + 4.0f) / 2.0f);
  const float mean = (0.25f + 1.0f) / 2.0f;
  EXPECT_FLOAT_EQ(flow_matching_loss(velocity, target, weight, sigma, 2).item<float>(),
                  (0.25f / mean * 1.0f + 1.0f / mean * 4.0f) / 2.0f);
  // The same noise level for every clip leaves the loss as it is, whatever the power.
  const at::Tensor same = at::tensor({0.3f, 0.3f});
  EXPECT_FLOAT_EQ(flow_matching_loss(velocity, target, weight, same, 4).item<float>(), 2.5f);
  // The per-pixel weight (the objects') multiplies in and counts in the denominator.
  weight[1][0][0].fill_(3.0);
  EXPECT_FLOAT_EQ(flow_matching_loss(velocity, target, weight, sigma, 2).item<float>(),
                  (0.25f / mean * 1.0f + 1.0f / mean * 3.0f * 4.0f) / 4.0f);
}

// The rate is flat through the warm-up, halfway down the cosine at the middle of the rest, at the
// final fraction from the target on, and constant when the fraction is 1.
TEST(AdamW, ScheduleWarmsUpThenDecaysToTheFinalFraction) {
  AdamWSettings s;
  s.warmup_steps = 100;
  s.final_lr_fraction = 0.1;
  EXPECT_DOUBLE_EQ(scheduled_lr_scale(s, 0, 1100), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lr_scale(s, 100, 1100), 1.0);
  EXPECT_NEAR(scheduled_lr_scale(s, 600, 1100), 0.55, 1e-12);
  EXPECT_LT(scheduled_lr_scale(s, 900, 1100), scheduled_lr_scale(s, 800, 1100));
  EXPECT_NEAR(scheduled_lr_scale(s, 1100, 1100), 0.1, 1e-12);
  EXPECT_NEAR(scheduled_lr_scale(s, 5000, 1100), 0.1, 1e-12);
  s.final_lr_fraction = 1.0;
  EXPECT_DOUBLE_EQ(scheduled_lr_scale(s, 900, 1100), 1.0);
}

// AdamW minimises a quadratic, skips non-finite gradients and restores its whole state.
TEST(AdamW, ConvergesSkipsNonFiniteAndRoundTrips) {
  NamedWeights w;
  w["x"] = at::full({4}, 3.0);
  w["x"].set_requires_grad(true);
  AdamWSettings s;
  s.learning_rate = 0.1;
  s.warmup_steps = 0;
  s.weight_decay = 0;
  AdamW opt(w, s);
  for (int i = 0; i < 300; ++i) {
    opt.weights().at("x").pow(2).sum().backward();
    opt.step();
  }
  EXPECT_LT(opt.weights().at("x").abs().max().item<double>(), 0.05);
  const int64_t steps = opt.step_count();
  (opt.weights().at("x") * std::numeric_limits<double>::infinity()).sum().backward();
  EXPECT_FALSE(std::isfinite(opt.step()));
  EXPECT_EQ(opt.step_count(), steps);

  TempDir dir;
  opt.save(dir / "state.safetensors", {{"note", "x"}});
  NamedWeights fresh;
  fresh["x"] = at::zeros({4});
  fresh["x"].set_requires_grad(true);
  AdamW restored(fresh, s);
  EXPECT_EQ(restored.load(dir / "state.safetensors").at("note"), "x");
  EXPECT_EQ(restored.step_count(), steps);
  EXPECT_TRUE(at::equal(restored.weights().at("x"), opt.weights().at("x")));
  EXPECT_TRUE(at::equal(restored.ema().at("x"), opt.ema().at("x")));
  NamedWeights wrong;
  wrong["x"] = at::zeros({5});
  wrong["x"].set_requires_grad(true);
  AdamW mismatched(wrong, s);
  EXPECT_THROW(mismatched.load(dir / "state.safetensors"), Error);
}

}  // namespace
}  // namespace reelforge::training

namespace reelforge::training {
namespace {

// The command line end to end: train the toy recipe (with a 1x2x2 patch) in two pieces, export,
// generate with it.
TEST(TrainCli, TrainsInPiecesExportsAndTheModelGenerates) {
  testing::TempDir dir;
  const std::string run = (dir / "run").string(), model = (dir / "model").string();
  // Runs `args` and expects a refusal whose message contains `message`.
  const auto expect_refused = [](const std::vector<std::string>& args, const std::string& message) {
    const auto refused = testing::run_cli(args);
    EXPECT_NE(refused.exit_code, 0) << message;
    EXPECT_NE(refused.err.find(message), std::string::npos) << refused.err;
  };
  // Options that only a new run may set, given again to the existing run.
  const auto expect_run_refuses = [&](const std::string& option, const std::string& value,
                                      const std::string& message) {
    expect_refused({"train", "--run", run, "--steps", "0", option, value}, message);
  };
  expect_refused(
      {"train", "--run", run, "--recipe", "smoke", "--patch-size", "1x3", "--steps", "0"},
      "--patch-size: '1x3' is not TxHxW");
  const std::vector<std::string> first_piece = {"train",
                                                "--run",
                                                run,
                                                "--recipe",
                                                "smoke",
                                                "--steps",
                                                "2",
                                                "--object-loss-weight",
                                                "2.5",
                                                "--patch-size",
                                                "1x2x2",
                                                "--dit-batch",
                                                "2",
                                                "--dit-layers",
                                                "2",
                                                "--sigma-loss-power",
                                                "2",
                                                "--sigma-logit-spread",
                                                "1",
                                                "--shape-weights",
                                                "star=3,triangle=0.5",
                                                "--prediction",
                                                "clean",
                                                "--silhouette-loss-weight",
                                                "3",
                                                "--silhouette-block",
                                                "1"};
  auto r = testing::run_cli(first_piece);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("vae: 2 steps now, 2 of"), std::string::npos) << r.out;
  EXPECT_EQ(Trainer::resume(run).config().object_loss_weight, 2.5);
  EXPECT_EQ(Trainer::resume(run).config().dit.patch_size, (std::array<int64_t, 3>{1, 2, 2}));
  EXPECT_EQ(Trainer::resume(run).config().dit_batch, 2);
  EXPECT_EQ(Trainer::resume(run).config().dit.num_layers, 2);
  EXPECT_EQ(Trainer::resume(run).config().sigma_loss_power, 2.0);
  EXPECT_EQ(Trainer::resume(run).config().sigma_logit_spread, 1.0);
  EXPECT_EQ(Trainer::resume(run).config().world_mix.shape,
            (std::array<double, dataset::kShapeCount>{1, 1, 0.5, 3, 1}));
  EXPECT_EQ(Trainer::resume(run).config().dit.prediction, models::WanPrediction::Clean);
  EXPECT_EQ(Trainer::resume(run).config().silhouette_loss_weight, 3.0);
  EXPECT_EQ(Trainer::resume(run).config().silhouette_block, 1);
  expect_run_refuses("--silhouette-loss-weight", "0",
                     "--silhouette-loss-weight: the run was started with weight 3");
  expect_run_refuses("--silhouette-block", "3",
                     "--silhouette-block: the run was started with block 1");
  expect_run_refuses("--prediction", "velocity",
                     "--prediction: the run was started with prediction clean");
  expect_run_refuses("--prediction", "x0", "--prediction: unsupported DiT prediction 'x0'");
  // The world mix may change between pieces (a curriculum widens it); given, it replaces the
  // run's mix.
  r = testing::run_cli({"train", "--run", run, "--steps", "0", "--world-mix", "star,big,second=0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("world mix: star,big,second=0"), std::string::npos) << r.out;
  EXPECT_EQ(Trainer::resume(run).config().world_mix, dataset::parse_world_mix("star,big,second=0"));
  r = testing::run_cli({"train", "--run", run, "--steps", "0", "--world-mix", "all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Trainer::resume(run).config().world_mix, dataset::WorldMix{});
  r = testing::run_cli({"train", "--run", run, "--steps", "0", "--world-mix", "star,big,second=0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_run_refuses("--shape-weights", "star=-1",
                     "--shape-weights: world mix: the weight of star must be in [0, 1000]");
  expect_run_refuses("--shape-weights", "hexagon=1", "--shape-weights: unknown name 'hexagon'");
  expect_run_refuses("--world-mix", "red,star", "--world-mix: world mix: it leaves no training");
  expect_refused(
      {"train", "--run", run, "--steps", "0", "--world-mix", "star", "--shape-weights", "star=2"},
      "--shape-weights and --world-mix: give one");
  expect_run_refuses("--sigma-loss-power", "4",
                     "--sigma-loss-power: the run was started with power 2");
  expect_run_refuses("--sigma-logit-spread", "0",
                     "--sigma-logit-spread: the run was started with spread 1");
  expect_run_refuses("--patch-size", "1x4x4", "--patch-size: the run was started with patch 1x2x2");
  expect_run_refuses("--dit-layers", "6", "--dit-layers: the run was started with depth 2");
  // A run keeps its recipe: another weight is refused, the same one is not.
  expect_run_refuses("--object-loss-weight", "1",
                     "--object-loss-weight: the run was started with weight 2.5");
  r = testing::run_cli({"train", "--run", run, "--steps", "0", "--object-loss-weight", "2.5"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = testing::run_cli({"train", "--run", run, "--export", model});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("exported the model"), std::string::npos) << r.out;
  // A wider DiT from zero on the model's tokenizer and VAE.
  const std::string wide = (dir / "wide").string();
  expect_refused({"train", "--run", wide, "--fresh-dit", "--steps", "0"},
                 "--fresh-dit: needs --from-model");
  expect_refused({"train", "--run", wide, "--recipe", "smoke", "--dit-dim", "40", "--steps", "0"},
                 "--dit-dim: the DiT's width must be a positive multiple of its head size 16");
  expect_refused({"train", "--run", wide, "--recipe", "smoke", "--from-model", model, "--dit-dim",
                  "48", "--steps", "0"},
                 "has [48] (--fresh-dit starts a DiT of another width from zero on its VAE)");
  const auto fresh =
      testing::run_cli({"train", "--run", wide, "--recipe", "smoke", "--from-model", model,
                        "--fresh-dit", "--dit-dim", "48", "--stage", "dit", "--steps", "1"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_NE(fresh.out.find("dit: 1 steps now, 1 of"), std::string::npos) << fresh.out;
  EXPECT_EQ(Trainer::resume(wide).config().dit.dim, 48);
  EXPECT_EQ(Trainer::resume(wide).config().dit.num_heads, 3);
  expect_refused({"train", "--run", wide, "--dit-dim", "32", "--steps", "0"},
                 "--dit-dim: the run was started with width 48");
  // The samplers read the model's prediction from its manifest.
  EXPECT_EQ(models::ModelManifest::load(model).dit.prediction, "clean");
  // Every stage with steps ran, the decoder last.
  EXPECT_NE(r.out.find("decoder: 2 steps now, 2 of 2 done"), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("dit: "), r.out.find("decoder: ")) << r.out;
  expect_refused({"train", "--run", run, "--seed", "99"}, "seed");
  const std::string clip = (dir / "clip.mp4").string();
  r = testing::run_cli({"generate", "a red square", "--model", model, "-o", clip, "--duration", "1",
                        "--draft", "--resolution", "480p"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(clip));
}

}  // namespace
}  // namespace reelforge::training
