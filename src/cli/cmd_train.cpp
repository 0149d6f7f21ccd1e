// `reelforge train`: trains (or resumes training) the built-in model in a run folder and exports
// it as a model folder.

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "commands.hpp"
#include "option_parsing.hpp"
#include "progress_printer.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/training/trainer.hpp"

namespace reelforge::cli {

const char* const kTrainUsage = R"(Usage: reelforge train --run DIR [options]

Trains ReelForge's built-in model from scratch on its procedural world (docs/builtin-model.md):
stage "vae" (a Wan 2.1-style VAE), then stage "dit" (the DiT and its umT5-style text encoder,
flow matching), then, when it has steps, stage "decoder" (the VAE's decoder trained further with
its encoder frozen, so the DiT's latents stay valid). Everything lives in the run folder: stop at
any time (Ctrl-C checkpoints) and run the same command again to continue. A run keeps the recipe
it was started with; only the step targets and the world mix may change between pieces.

  --run DIR            the run folder (created on first use)
  --recipe R           builtin (default) or smoke (a toy model in seconds, for tests)
  --stage S            vae, dit, decoder or all (default all: each stage to its target in turn)
  --steps N            at most N steps in this call
  --minutes M          at most M minutes in this call (checkpoints before leaving)
  --vae-steps N        the VAE stage's target (default from the recipe)
  --dit-steps N        the DiT stage's target (default from the recipe)
  --decoder-steps N    the decoder stage's target (default from the recipe; 0 = no stage)
  --seed N             the run's seed (new runs only; default 1)
  --object-loss-weight W
                       new runs only: how much more the DiT's flow-matching loss counts on the
                       objects' latent pixels (1 + W times; the builtin recipe's is 4, 0 = plain)
  --sigma-loss-power P new runs only: each clip's flow-matching loss also counts sigma^P (its
                       noise level) over the batch's mean; 2 weights the clean latent's error
                       evenly across noise levels (default 0: the plain velocity loss, which
                       counts the high-noise steps least)
  --sigma-logit-spread S
                       new runs only: draw each clip's noise level from a logit-normal of
                       spread S before the shift (SD3's), not uniformly: more steps in the
                       middle of the schedule, where shapes form (at the recipe's shift 3 and
                       S 1, 73% of them at sigma 0.5-0.9 against 50%; default 0: uniform)
  --silhouette-loss-weight W
                       new runs only: a training-only head reads the DiT's blocks halfway and
                       predicts the objects' silhouettes (their coverage of each 2x2-pixel
                       cell); its squared error, times W, joins the loss, asking the blocks for
                       the outline apart from colour and background (default 0: no head; the
                       head is not exported)
  --silhouette-block N new runs only: the head reads the stream after N blocks (default half)
  --world-mix LIST     how often each shape, colour, size, motion and background appears in
                       the training clips, relative to the others of its kind: star=3,small=0
                       (values not named keep 1); a bare name keeps only the bare-named values
                       of its kind: star,big,white,gray,still is one big white still star on
                       gray; second=P is the chance of a second object (the world's 0.25);
                       all is the world's own mix, the default. Given, it replaces the run's
                       mix, also between pieces of a run (a curriculum: the DiT stage then
                       draws its clip pool again). Held-out combinations stay out either way
  --shape-weights LIST the same for shapes only, e.g. star=3,triangle=2
  --patch-size TxHxW   new runs only: the DiT's patch in latent frames x rows x columns (the
                       builtin recipe's is 1x4x4; 1x2x2 gives 4x the tokens, each 8x8 pixels)
  --dit-layers N       new runs only: the DiT's blocks (the builtin recipe's is 6)
  --dit-dim N          new runs only: the DiT's width, a multiple of its head size (the builtin
                       recipe's is 256 with heads of 64; the heads and the feed-forward layer
                       grow with it)
  --dit-batch N        new runs only: clips per DiT step (the builtin recipe's is 24)
  --prediction P       new runs only: what the DiT outputs, velocity (Wan's and the builtin
                       recipe's) or clean (the clean latent, turned into a velocity for the
                       same loss and for the samplers; model.json says which). With
                       --from-model the default is the model's own; another value starts the
                       DiT's output layer again from zero
  --from-model DIR     start a new run from a model folder of the recipe's architecture (e.g.
                       models/builtin, to train it further): its tokenizer and VAE as they are,
                       its DiT and text encoder as stage dit's starting point. A DiT with a
                       coarser patch (e.g. 1x4x4 into --patch-size 1x2x2) is mapped onto the
                       finer one as if the picture were magnified; a shallower one (fewer
                       blocks than --dit-layers) starts the deeper one with identity blocks
                       between its own
  --fresh-dit          with --from-model: take only its tokenizer and VAE; the DiT and text
                       encoder start from zero (a DiT of another width, or a new recipe, on a
                       finished VAE)
  --dtype D            (global option) bf16 (the recipe's) or float32 for the matmuls and
                       convolutions of a new run; master weights are float32 either way
  --export DIR         afterwards, write the EMA weights as a model folder
  --name NAME          the exported model's id (default builtin))";

namespace {

// Training runs for hours, usually with its output in a log file, where the printer's one line
// per 10% would leave long silences: there, one line a minute as well.
class TrainLog {
 public:
  TrainLog() : tty_(::isatty(STDERR_FILENO) == 1), last_(std::chrono::steady_clock::now()) {}
  void operator()(const training::TrainProgress& p) {
    if (tty_ || p.phase != "train") return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(60)) return;
    last_ = now;
    std::fprintf(stderr, "%s step %lld/%lld  loss %.4f  grad %.2f  %.2f s/step  ETA %s\n",
                 training::to_string(p.stage), static_cast<long long>(p.step),
                 static_cast<long long>(p.total), p.loss, p.grad_norm, p.seconds_per_step,
                 format_duration(p.eta_s).c_str());
    std::fflush(stderr);
  }

 private:
  bool tty_;
  std::chrono::steady_clock::time_point last_;
};

void print_progress(ProgressPrinter& printer, const training::TrainProgress& p) {
  char detail[160];
  if (p.phase == "train") {
    std::snprintf(detail, sizeof detail, "loss %.4f  grad %.2f  %.2f s/step  ETA %s", p.loss,
                  p.grad_norm, p.seconds_per_step, format_duration(p.eta_s).c_str());
  } else {
    std::snprintf(detail, sizeof detail, "%s", p.phase.c_str());
  }
  printer(
      Progress{std::string(training::to_string(p.stage)) + " " + p.phase, p.step, p.total, detail});
}

std::string patch_text(const std::array<int64_t, 3>& p) {
  return std::to_string(p[0]) + "x" + std::to_string(p[1]) + "x" + std::to_string(p[2]);
}

// "TxHxW", e.g. 1x2x2: the DiT's patch in latent frames, rows and columns.
std::array<int64_t, 3> parse_patch_size(const std::string& text) {
  std::array<int64_t, 3> p{};
  size_t at = 0;
  for (size_t i = 0; i < 3; ++i) {
    const size_t end = i < 2 ? text.find('x', at) : text.size();
    const std::string part = end == std::string::npos ? "" : text.substr(at, end - at);
    const bool digits = !part.empty() && part.size() <= 3 &&
                        part.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoi(part) < 1) {
      throw Error(ErrorCategory::InvalidArgument,
                  "--patch-size: '" + text + "' is not TxHxW with positive sizes (e.g. 1x2x2)");
    }
    p[i] = std::stoi(part);
    at = end + 1;
  }
  return p;
}

}  // namespace

int run_train(Args& args) {
  const auto run = args.option("--run");
  const std::string recipe = args.option("--recipe").value_or("builtin");
  const std::string stage = args.option("--stage").value_or("all");
  const auto steps = args.integer("--steps", 0, std::numeric_limits<int>::max());
  const auto minutes = args.option("--minutes");
  const auto vae_steps = args.integer("--vae-steps", 1, std::numeric_limits<int>::max());
  const auto dit_steps = args.integer("--dit-steps", 1, std::numeric_limits<int>::max());
  const auto decoder_steps = args.integer("--decoder-steps", 0, std::numeric_limits<int>::max());
  const auto seed = args.integer("--seed", 0, std::numeric_limits<long long>::max());
  const auto object_loss_weight = args.number("--object-loss-weight", 0, 1000);
  const auto sigma_loss_power = args.number("--sigma-loss-power", 0, 8);
  const auto sigma_logit_spread = args.number("--sigma-logit-spread", 0, 4);
  const auto silhouette_loss_weight = args.number("--silhouette-loss-weight", 0, 1000);
  const auto silhouette_block = args.integer("--silhouette-block", 1, 256);
  const auto shape_weights_option = args.option("--shape-weights");
  const auto world_mix_option = args.option("--world-mix");
  const auto patch_size = args.option("--patch-size");
  const auto dit_layers = args.integer("--dit-layers", 1, 256);
  const auto dit_batch = args.integer("--dit-batch", 1, 4096);
  const auto dit_dim = args.integer("--dit-dim", 1, 65536);
  const bool fresh_dit = args.flag("--fresh-dit");
  const auto prediction_option = args.option("--prediction");
  const auto export_dir = args.option("--export");
  const auto from_model = args.option("--from-model");
  const std::string name = args.option("--name").value_or("builtin");
  args.finish();
  if (!run) throw Error(ErrorCategory::InvalidArgument, "missing --run DIR");

  training::TrainConfig config;
  if (recipe == "builtin") {
    config = training::TrainConfig::builtin();
  } else if (recipe == "smoke") {
    config = training::TrainConfig::smoke();
  } else {
    throw Error(ErrorCategory::InvalidArgument,
                "--recipe: unknown recipe '" + recipe + "'; valid: builtin, smoke");
  }
  const bool exists = std::filesystem::exists(*run + "/config.json");
  if (exists) config = training::Trainer::resume(*run).config();
  // Options of new runs only: a resumed run must be given its own value again, if any.
  const auto set_new_run_option = [&](auto& field, const auto& given, const char* option,
                                      const char* noun, const auto& show) {
    if (!given) return;
    const auto value = static_cast<std::decay_t<decltype(field)>>(*given);
    if (exists && field != value) {
      throw Error(ErrorCategory::InvalidArgument,
                  std::string(option) + ": the run was started with " + noun + " " + show(field),
                  *run);
    }
    field = value;
  };
  const auto integer_text = [](auto n) { return std::to_string(n); };
  set_new_run_option(config.seed, seed, "--seed", "seed", integer_text);
  const auto number_text = [](double w) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", w);
    return std::string(text);
  };
  set_new_run_option(config.object_loss_weight, object_loss_weight, "--object-loss-weight",
                     "weight", number_text);
  set_new_run_option(config.sigma_loss_power, sigma_loss_power, "--sigma-loss-power", "power",
                     number_text);
  set_new_run_option(config.sigma_logit_spread, sigma_logit_spread, "--sigma-logit-spread",
                     "spread", number_text);
  set_new_run_option(config.silhouette_loss_weight, silhouette_loss_weight,
                     "--silhouette-loss-weight", "weight", number_text);
  set_new_run_option(config.silhouette_block, silhouette_block, "--silhouette-block", "block",
                     integer_text);
  if (shape_weights_option && world_mix_option) {
    throw Error(ErrorCategory::InvalidArgument,
                "--shape-weights and --world-mix: give one (--world-mix takes shapes too)");
  }
  if (world_mix_option) {
    config.world_mix =
        named("--world-mix", [&] { return dataset::parse_world_mix(*world_mix_option); });
  }
  if (shape_weights_option) {
    config.world_mix = named("--shape-weights", [&] {
      return dataset::parse_world_mix(*shape_weights_option, /*only_shapes=*/true);
    });
  }
  const std::optional<std::array<int64_t, 3>> patch =
      patch_size ? std::optional(parse_patch_size(*patch_size)) : std::nullopt;
  set_new_run_option(config.dit.patch_size, patch, "--patch-size", "patch", patch_text);
  set_new_run_option(config.dit.num_layers, dit_layers, "--dit-layers", "depth", integer_text);
  set_new_run_option(config.dit_batch, dit_batch, "--dit-batch", "batch", integer_text);
  // The width also sets the heads and the feed-forward size, so it goes through set_dit_width.
  int64_t width = config.dit.dim;
  set_new_run_option(width, dit_dim, "--dit-dim", "width", integer_text);
  if (width != config.dit.dim) named("--dit-dim", [&] { config.set_dit_width(width); });
  std::optional<models::WanPrediction> prediction;
  if (prediction_option) {
    try {
      prediction = models::parse_wan_prediction(*prediction_option);
    } catch (const Error& e) {
      throw Error(ErrorCategory::InvalidArgument, "--prediction: " + e.message());
    }
  } else if (from_model && !exists && !fresh_dit) {
    prediction =
        models::parse_wan_prediction(models::ModelManifest::load(*from_model).dit.prediction);
  }
  set_new_run_option(config.dit.prediction, prediction, "--prediction", "prediction",
                     [](models::WanPrediction p) { return std::string(models::to_string(p)); });
  const ComputeDType requested = requested_compute_dtype();
  if (requested != ComputeDType::Auto) config.dtype = requested;
  if (vae_steps) config.vae_steps = *vae_steps;
  if (dit_steps) config.dit_steps = *dit_steps;
  if (decoder_steps) config.decoder_steps = *decoder_steps;

  std::vector<training::TrainStage> stages;
  if (stage == "all") {
    stages = {training::TrainStage::VAE, training::TrainStage::DiT, training::TrainStage::Decoder};
  } else {
    stages = {training::parse_train_stage(stage)};
  }
  training::TrainLimits limits;
  limits.cancel = &interrupt_token();
  if (steps) limits.max_steps = *steps;
  if (minutes) {
    try {
      limits.max_seconds = std::stod(*minutes) * 60.0;
    } catch (const std::exception&) {
      throw Error(ErrorCategory::InvalidArgument, "--minutes: '" + *minutes + "' is not a number");
    }
  }

  if (from_model && exists) {
    throw Error(ErrorCategory::InvalidArgument,
                "--from-model: the run folder already holds a run; give a new folder", *run);
  }
  if (fresh_dit && !from_model) {
    throw Error(ErrorCategory::InvalidArgument,
                "--fresh-dit: needs --from-model (a run without one starts from zero anyway)");
  }
  const auto start_run = [&] {
    if (!from_model) return training::Trainer::create_or_resume(*run, config);
    if (fresh_dit) {
      return training::Trainer::create_from_model(*run, config, *from_model,
                                                  training::ModelImport::TokenizerAndVAE);
    }
    try {
      return training::Trainer::create_from_model(*run, config, *from_model);
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::Format || !dit_dim) throw;
      throw Error(ErrorCategory::Format,
                  e.message() + " (--fresh-dit starts a DiT of another width from zero on its VAE)",
                  e.context());
    }
  };
  training::Trainer trainer = start_run();
  if (config.world_mix != dataset::WorldMix{}) {
    std::printf("world mix: %s\n", dataset::to_string(config.world_mix).c_str());
  }
  const auto started = std::chrono::steady_clock::now();
  for (const training::TrainStage s : stages) {
    if (trainer.steps_done(s) >= config.steps_target(s)) continue;
    training::TrainLimits piece = limits;
    if (limits.max_seconds >= 0) {
      piece.max_seconds =
          limits.max_seconds -
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (piece.max_seconds <= 0) break;
    }
    int64_t done = 0;
    {
      ProgressPrinter printer;
      TrainLog log;
      done = trainer.train(s, piece, [&](const training::TrainProgress& p) {
        print_progress(printer, p);
        log(p);
      });
    }
    std::printf("%s: %lld steps now, %lld of %lld done\n", training::to_string(s),
                static_cast<long long>(done), static_cast<long long>(trainer.steps_done(s)),
                static_cast<long long>(config.steps_target(s)));
    if (limits.max_steps >= 0) limits.max_steps = std::max<int64_t>(0, limits.max_steps - done);
    if (trainer.steps_done(s) < config.steps_target(s)) {
      break;  // the limits ran out inside this stage
    }
  }
  if (export_dir) {
    models::ModelManifest identity;
    identity.name = name;
    identity.display_name = "ReelForge built-in (trained by reelforge train)";
    identity.variant = "builtin";
    identity.license = "MIT";  // trained from scratch by ReelForge, licensed like ReelForge
    identity.defaults.steps = 24;
    identity.defaults.guidance = 4.0;
    identity.defaults.solver = "unipc";
    trainer.export_model(*export_dir, identity);
    std::printf("exported the model to %s\n", export_dir->c_str());
  }
  return 0;
}

}  // namespace reelforge::cli
