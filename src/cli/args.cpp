#include "args.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "reelforge/core/error.hpp"

namespace reelforge::cli {
namespace {

bool is_option_token(const std::string& t) {
  if (t.size() < 2 || t[0] != '-') return false;
  // A negative number is a value, not an option.
  return !(std::isdigit(static_cast<unsigned char>(t[1])) || t[1] == '.');
}

Error bad(const std::string& message) { return Error(ErrorCategory::InvalidArgument, message); }

}  // namespace

std::optional<size_t> Args::find(const std::string& name, const std::string& alias) const {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (used_[i]) continue;
    const std::string& t = tokens_[i];
    if (t == name || (!alias.empty() && t == alias)) return i;
    if (t.rfind(name + "=", 0) == 0) return i;
  }
  return std::nullopt;
}

std::optional<std::string> Args::option(const std::string& name, const std::string& alias) {
  auto i = find(name, alias);
  if (!i) return std::nullopt;
  used_[*i] = true;
  const std::string& t = tokens_[*i];
  if (t.size() > name.size() && t[name.size()] == '=') return t.substr(name.size() + 1);
  if (*i + 1 >= tokens_.size() || used_[*i + 1]) throw bad(name + " needs a value");
  used_[*i + 1] = true;
  if (find(name, alias)) throw bad(name + " is given more than once");
  return tokens_[*i + 1];
}

std::string Args::option_or(const std::string& name, const std::string& fallback,
                            const std::string& alias) {
  auto v = option(name, alias);
  return v ? *v : fallback;
}

std::optional<double> Args::number(const std::string& name, double min, double max) {
  auto v = option(name);
  if (!v) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || errno != 0 || !std::isfinite(x)) {
    throw bad(name + " expects a number, got '" + *v + "'");
  }
  if (x < min || x > max) {
    throw bad(name + " " + *v + " is out of range; valid: " + std::to_string(min) + " to " +
              std::to_string(max));
  }
  return x;
}

std::optional<long long> Args::integer(const std::string& name, long long min, long long max) {
  auto v = option(name);
  if (!v) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno != 0) {
    throw bad(name + " expects a whole number, got '" + *v + "'");
  }
  if (x < min || x > max) {
    throw bad(name + " " + *v + " is out of range; valid: " + std::to_string(min) + " to " +
              std::to_string(max));
  }
  return x;
}

bool Args::flag(const std::string& name, const std::string& alias) {
  auto i = find(name, alias);
  if (!i) return false;
  if (tokens_[*i] != name && tokens_[*i] != alias) throw bad(name + " takes no value");
  used_[*i] = true;
  return true;
}

std::optional<std::string> Args::optional_positional() {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (used_[i]) continue;
    if (is_option_token(tokens_[i])) throw bad("unknown option " + tokens_[i]);
    used_[i] = true;
    return tokens_[i];
  }
  return std::nullopt;
}

std::string Args::positional(const std::string& what) {
  auto v = optional_positional();
  if (!v) throw bad("missing " + what);
  return *v;
}

void Args::finish() const {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (used_[i]) continue;
    if (is_option_token(tokens_[i])) throw bad("unknown option " + tokens_[i]);
    throw bad("unexpected argument '" + tokens_[i] + "'");
  }
}

bool Args::empty() const {
  for (bool u : used_) {
    if (!u) return false;
  }
  return true;
}

}  // namespace reelforge::cli
