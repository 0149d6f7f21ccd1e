#pragma once
// A small command-line parser for the `reelforge` subcommands. Options are read first
// (`--name VALUE`, `--name=VALUE`, `--flag`), then positionals, then finish() rejects leftovers,
// so every unknown or misspelt option gets an error that names it.

#include <optional>
#include <string>
#include <vector>

namespace reelforge::cli {

class Args {
 public:
  explicit Args(std::vector<std::string> tokens) : tokens_(std::move(tokens)), used_(tokens_.size(), false) {}

  // `--name VALUE` or `--name=VALUE` (also a short alias such as "-o").
  std::optional<std::string> option(const std::string& name, const std::string& alias = {});
  std::string option_or(const std::string& name, const std::string& fallback, const std::string& alias = {});
  std::optional<double> number(const std::string& name, double min, double max);
  std::optional<long long> integer(const std::string& name, long long min, long long max);
  // `--name` without a value.
  bool flag(const std::string& name, const std::string& alias = {});

  // The next unused token that is not an option; Error(InvalidArgument) naming `what` if none.
  std::string positional(const std::string& what);
  std::optional<std::string> optional_positional();

  // Error(InvalidArgument) naming the first token nobody asked for.
  void finish() const;
  bool empty() const;

 private:
  std::optional<size_t> find(const std::string& name, const std::string& alias) const;
  std::vector<std::string> tokens_;
  std::vector<bool> used_;
};

}  // namespace reelforge::cli
