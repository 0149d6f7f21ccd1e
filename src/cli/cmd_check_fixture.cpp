#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/fixtures/fixture_check.hpp"

namespace reelforge::cli {

const char* const kCheckFixtureUsage = R"(Usage: reelforge check-fixture FILE.safetensors [FILE ...] [--json]

Runs the module a golden fixture describes (its `config` and `call` metadata, the weights stored in
it) on the stored inputs and compares every stored output with the fixture's tolerance rule
(max|actual - expected| <= tol * max(1, max|expected|); integer outputs exactly). Prints, per
output, the max abs error, its ratio to the output's scale and the limit. Exits 1 when any output
breaks the rule. Works for the DiT (Wan 2.1 t2v, Wan 2.2 ti2v), umT5, scheduler and VAE (2.1, 2.2)
fixtures.)";

int run_check_fixture(Args& args) {
  const bool as_json = args.flag("--json");
  std::vector<std::string> files;
  while (auto f = args.optional_positional()) files.push_back(*f);
  args.finish();
  if (files.empty()) throw Error(ErrorCategory::InvalidArgument, "missing fixture file");

  bool all_passed = true;
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& file : files) {
    const fixtures::FixtureReport report = fixtures::check_fixture(file);
    all_passed = all_passed && report.passed();
    if (as_json) {
      nlohmann::json j = {{"file", file}, {"kind", report.kind}, {"passed", report.passed()}};
      for (const auto& o : report.outputs) {
        j["outputs"].push_back({{"name", o.name},
                                {"max_abs_error", o.max_abs_error},
                                {"scale", o.scale},
                                {"limit", o.limit},
                                {"exact", o.exact},
                                {"passed", o.passed},
                                {"problem", o.problem}});
      }
      out.push_back(j);
      continue;
    }
    std::printf("%s (%s)\n", file.c_str(), report.kind.c_str());
    for (const auto& o : report.outputs) {
      if (!o.problem.empty() && o.limit == 0 && !o.exact) {
        std::printf("  FAIL %-42s %s\n", o.name.c_str(), o.problem.c_str());
      } else if (o.exact) {
        std::printf("  %s %-42s exact match %s\n", o.passed ? "ok  " : "FAIL", o.name.c_str(),
                    o.passed ? "yes" : "no");
      } else {
        std::printf("  %s %-42s max|err| %.3e  err/scale %.3e  limit %.1e%s%s\n", o.passed ? "ok  " : "FAIL",
                    o.name.c_str(), o.max_abs_error, o.max_abs_error / o.scale, o.limit / o.scale,
                    o.problem.empty() ? "" : "  ", o.problem.c_str());
      }
    }
    std::printf("  %s\n", report.passed() ? "PASSED" : "FAILED");
  }
  if (as_json) std::printf("%s\n", out.dump(2).c_str());
  return all_passed ? 0 : 1;
}

}  // namespace reelforge::cli
