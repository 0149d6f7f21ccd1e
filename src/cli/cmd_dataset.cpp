// `reelforge dataset`: writes sample clips of the built-in model's procedural world.

#include <cstdio>
#include <limits>

#include "commands.hpp"
#include "option_parsing.hpp"
#include "progress_printer.hpp"
#include "reelforge/dataset/samples.hpp"

namespace reelforge::cli {

const char* const kDatasetUsage = R"(Usage: reelforge dataset -o DIR [options]

Writes clips of the procedural world the built-in model is trained on (shapes of a colour and size
moving over a background), with a captions.jsonl of their varied captions, canonical captions and
attributes: to see what the model learns from, and which combinations it never sees.

  -o, --output DIR     the folder to write (created)
  --count N            clips (default 16)
  --split S            train or heldout (the attribute combinations kept out of training)
  --aspect A           16:9, 9:16 or 1:1 (default: all three in turn)
  --short-side N       pixels of the short side (default 72)
  --frames N           frames per clip (default 32)
  --fps N              frame rate (default 16)
  --seed N             the sampler's seed (default 0))";

int run_dataset(Args& args) {
  dataset::SampleOptions options;
  const auto output = args.option("--output", "-o");
  if (auto n = args.integer("--count", 1, 100000)) options.count = static_cast<int>(*n);
  if (auto s = args.option("--split")) {
    if (*s == "train") {
      options.split = dataset::Split::Train;
    } else if (*s == "heldout" || *s == "held-out") {
      options.split = dataset::Split::HeldOut;
    } else {
      throw Error(ErrorCategory::InvalidArgument,
                  "--split: unknown split '" + *s + "'; valid: train, heldout");
    }
  }
  if (auto a = args.option("--aspect")) {
    options.aspect = named("--aspect", [&] { return media::parse_aspect(*a); });
  }
  if (auto n = args.integer("--short-side", 16, 1080)) options.short_side_px = static_cast<int>(*n);
  if (auto n = args.integer("--frames", 2, 1000)) options.frames = static_cast<int>(*n);
  if (auto f = args.option("--fps")) options.fps = parse_fps_option("--fps", *f).value();
  if (auto n = args.integer("--seed", 0, std::numeric_limits<long long>::max())) {
    options.seed = static_cast<uint64_t>(*n);
  }
  args.finish();
  if (!output) throw Error(ErrorCategory::InvalidArgument, "missing -o/--output DIR");
  {
    ProgressPrinter printer;
    dataset::write_samples(*output, options, printer.callback(), interrupt_token());
  }
  std::printf("wrote %d clips and captions.jsonl to %s\n", options.count, output->c_str());
  return 0;
}

}  // namespace reelforge::cli
