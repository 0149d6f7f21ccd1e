#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/inspect.hpp"
#include "reelforge/models/registry.hpp"

namespace reelforge::cli {

const char* const kModelsUsage = R"(Usage: reelforge models list [--json]
       reelforge models inspect DIR [--json]

list     every model folder (a folder with a model.json) on the search path: $REELFORGE_MODELS
         (':'-separated), the user data folder's models/, and the install's models/.
inspect  a model folder: family, variant, tasks, native sizes, and per component (DiT, text
         encoder, VAE) its files, parameter count, stored dtypes and key layout (wan, comfyui,
         diffusers, huggingface), then every missing piece. Reads checkpoint headers only.)";

namespace {

std::string human_count(int64_t n) {
  char buf[32];
  if (n >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2f B", double(n) / 1e9);
  else if (n >= 1'000'000) std::snprintf(buf, sizeof buf, "%.1f M", double(n) / 1e6);
  else if (n >= 1'000) std::snprintf(buf, sizeof buf, "%.1f K", double(n) / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", (long long)n);
  return buf;
}

std::string join_tasks(const models::ModelManifest& m) {
  std::string s;
  for (auto t : m.tasks) s += (s.empty() ? "" : ",") + std::string(models::to_string(t));
  return s;
}

int list(Args& args) {
  const bool as_json = args.flag("--json");
  args.finish();
  const auto installed = models::list_models();
  if (as_json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : installed) {
      nlohmann::json j = {{"dir", m.dir.string()}};
      if (m.problem.empty()) {
        j["name"] = m.manifest.name;
        j["variant"] = m.manifest.variant;
        j["tasks"] = join_tasks(m.manifest);
        j["missing_files"] = m.manifest.missing_files();
      } else {
        j["problem"] = m.problem;
      }
      out.push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (installed.empty()) {
    std::printf("no models installed. Searched:\n");
    for (const auto& p : models::model_search_path()) std::printf("  %s\n", p.c_str());
    return 0;
  }
  for (const auto& m : installed) {
    if (!m.problem.empty()) {
      std::printf("%-24s UNREADABLE  %s\n", m.dir.filename().c_str(), m.problem.c_str());
      continue;
    }
    const auto missing = m.manifest.missing_files();
    std::printf("%-24s %-18s %-12s %s%s\n", m.manifest.name.c_str(), m.manifest.variant.c_str(),
                join_tasks(m.manifest).c_str(), m.dir.c_str(),
                missing.empty() ? "" : ("  (missing " + std::to_string(missing.size()) + " file(s))").c_str());
  }
  return 0;
}

int inspect(Args& args) {
  const bool as_json = args.flag("--json");
  const std::string dir = args.positional("model folder");
  args.finish();
  const models::ModelInspection info = models::inspect_model(dir);
  if (as_json) {
    nlohmann::json j = {{"dir", dir}, {"missing", info.missing}};
    if (info.manifest) j["manifest"] = info.manifest->to_json();
    for (const auto& c : info.components) {
      j["components"][c.component] = {{"files", c.files},
                                      {"parameters", c.parameter_count},
                                      {"dtypes", c.dtypes},
                                      {"layout", c.layout},
                                      {"problem", c.problem}};
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("folder: %s\n", dir.c_str());
  if (info.manifest) {
    const auto& m = *info.manifest;
    std::printf("name: %s\nfamily: %s\nvariant: %s\ntasks: %s\nnative: %.3g fps, %d frames", m.name.c_str(),
                m.family.c_str(), m.variant.c_str(), join_tasks(m).c_str(), m.fps, m.frame_count);
    for (const auto& [aspect, size] : m.native_sizes) {
      std::printf(", %s %dx%d", aspect.c_str(), size.width_px, size.height_px);
    }
    std::printf("\ndefaults: %d steps, shift %.3g, guidance %.3g, %s\n", m.defaults.steps, m.defaults.shift,
                m.defaults.guidance, m.defaults.solver.c_str());
  } else {
    std::printf("manifest: %s\n", info.manifest_problem.c_str());
  }
  int64_t total = 0;
  for (const auto& c : info.components) {
    total += c.parameter_count;
    std::string dtypes;
    for (const auto& [dtype, n] : c.dtypes) dtypes += (dtypes.empty() ? "" : ", ") + dtype + " " + human_count(n);
    std::printf("%s: %zu file(s), %s parameters, dtype %s, layout %s\n", c.component.c_str(), c.files.size(),
                human_count(c.parameter_count).c_str(), dtypes.empty() ? "-" : dtypes.c_str(),
                c.layout.empty() ? "-" : c.layout.c_str());
    for (const auto& f : c.files) std::printf("  %s\n", f.c_str());
  }
  std::printf("parameters: %s\n", human_count(total).c_str());
  if (info.missing.empty()) {
    std::printf("missing: nothing\n");
  } else {
    std::printf("missing:\n");
    for (const auto& m : info.missing) std::printf("  %s\n", m.c_str());
  }
  return 0;
}

}  // namespace

int run_models(Args& args) {
  const std::string sub = args.positional("subcommand (list or inspect)");
  if (sub == "list") return list(args);
  if (sub == "inspect") return inspect(args);
  throw Error(ErrorCategory::InvalidArgument, "unknown models subcommand '" + sub + "'; valid: list, inspect");
}

}  // namespace reelforge::cli
