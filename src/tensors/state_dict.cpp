#include "reelforge/tensors/state_dict.hpp"

#include <c10/util/StringUtil.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"

namespace reelforge::tensors {
namespace {

constexpr size_t kNamesInMessages = 10;

std::string list_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kNamesInMessages; ++i) {
    out += (i ? ", " : "") + names[i];
  }
  if (names.size() > kNamesInMessages) {
    out += ", ... (" + std::to_string(names.size() - kNamesInMessages) + " more)";
  }
  return out;
}

std::string describe(const Checkpoint& checkpoint) {
  const auto files = checkpoint.files();
  if (files.empty()) return "checkpoint";
  return files.size() == 1
             ? files[0].string()
             : files[0].parent_path().string() + " (" + std::to_string(files.size()) + " shards)";
}

bool is_floating(DType dtype) {
  switch (dtype) {
    case DType::F64:
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::F8_E4M3:
    case DType::F8_E5M2:
      return true;
    default:
      return false;
  }
}

// name -> checkpoint name for every tensor the mapper keeps.
std::map<std::string, std::string> map_names(const Checkpoint& checkpoint, const KeyMapper& mapper,
                                             LoadReport& report) {
  std::map<std::string, std::string> mapped;
  for (const std::string& name : checkpoint.names()) {
    const std::optional<std::string> canonical = mapper ? mapper(name) : name;
    if (!canonical) {
      report.ignored.push_back(name);
      continue;
    }
    const auto [it, inserted] = mapped.emplace(*canonical, name);
    if (!inserted) {
      throw Error(ErrorCategory::Format,
                  "checkpoint tensors '" + it->second + "' and '" + name + "' both map to '" +
                      *canonical + "'",
                  describe(checkpoint));
    }
  }
  return mapped;
}

void load_into(StateDict& out, const Checkpoint& checkpoint, const std::string& canonical,
               const std::string& name, const LoadOptions& options) {
  const TensorInfo& info = checkpoint.info(name);
  const at::ScalarType dtype = options.dtype.value_or(default_load_dtype(options.device));
  at::Tensor t =
      checkpoint.load(name, is_floating(info.dtype) ? std::optional(dtype) : std::nullopt);
  if (options.device != t.device()) t = t.to(options.device);
  out.insert(canonical, std::move(t));
}

}  // namespace

KeyMapper identity_keys() {
  return [](const std::string& name) { return std::optional<std::string>(name); };
}

KeyMapper strip_prefix(std::string prefix) {
  return [prefix = std::move(prefix)](const std::string& name) {
    if (name.compare(0, prefix.size(), prefix) == 0) {
      return std::optional<std::string>(name.substr(prefix.size()));
    }
    return std::optional<std::string>(name);
  };
}

KeyMapper ignore_suffixes(std::vector<std::string> suffixes) {
  return [suffixes = std::move(suffixes)](const std::string& name) -> std::optional<std::string> {
    for (const auto& s : suffixes) {
      if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        return std::nullopt;
      }
    }
    return name;
  };
}

KeyMapper compose(KeyMapper first, KeyMapper second) {
  return [first = std::move(first),
          second = std::move(second)](const std::string& name) -> std::optional<std::string> {
    const auto mid = first(name);
    if (!mid) return std::nullopt;
    return second(*mid);
  };
}

at::ScalarType default_load_dtype(c10::Device device) {
  return device.is_cuda() ? at::kBFloat16 : at::kFloat;
}

std::string LoadReport::summary() const {
  std::ostringstream out;
  out << missing.size() << " missing";
  if (!missing.empty()) out << " (" << list_names(missing) << ")";
  out << ", " << unexpected.size() << " unexpected";
  if (!unexpected.empty()) out << " (" << list_names(unexpected) << ")";
  out << ", " << ignored.size() << " ignored";
  return out.str();
}

void StateDict::insert(std::string name, at::Tensor tensor) {
  if (tensors_.count(name) != 0) {
    throw Error(ErrorCategory::InvalidArgument,
                "tensor '" + name + "' is already in the state dict");
  }
  tensors_.emplace(std::move(name), std::move(tensor));
}

bool StateDict::contains(const std::string& name) const {
  return tensors_.count(name) != 0;
}

std::vector<std::string> StateDict::names() const {
  std::vector<std::string> out;
  for (const auto& kv : tensors_) out.push_back(kv.first);
  return out;
}

const at::Tensor& StateDict::get(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    throw Error(ErrorCategory::NotFound, "no weight named '" + name + "' in the state dict");
  }
  return it->second;
}

at::Tensor StateDict::take(const std::string& name) {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    throw Error(ErrorCategory::NotFound,
                "no weight named '" + name + "' (already taken, or not in the checkpoint)");
  }
  at::Tensor t = std::move(it->second);
  tensors_.erase(it);
  return t;
}

at::Tensor StateDict::take(const std::string& name, c10::IntArrayRef expected_shape) {
  const auto it = tensors_.find(name);
  if (it != tensors_.end()) {
    const c10::IntArrayRef actual = it->second.sizes();
    bool match = actual.size() == expected_shape.size();
    for (size_t i = 0; match && i < actual.size(); ++i) {
      match = expected_shape[i] == -1 || expected_shape[i] == actual[i];
    }
    if (!match) {
      throw Error(ErrorCategory::Format, "weight '" + name + "' has shape " +
                                             c10::str(c10::IntArrayRef(actual)) + ", expected " +
                                             c10::str(c10::IntArrayRef(expected_shape)) +
                                             " (a checkpoint of another model size or variant?)");
    }
  }
  return take(name);
}

std::optional<at::Tensor> StateDict::take_if_present(const std::string& name,
                                                     c10::IntArrayRef expected_shape) {
  if (!contains(name)) return std::nullopt;
  return take(name, expected_shape);
}

void StateDict::require_all_taken(const std::string& what) const {
  if (tensors_.empty()) return;
  throw Error(ErrorCategory::Format, std::to_string(tensors_.size()) +
                                         " loaded weight(s) were not used by " + what + ": " +
                                         list_names(names()));
}

StateDict load_state(const Checkpoint& checkpoint, const KeyMapper& mapper,
                     const std::vector<std::string>& expected, const LoadOptions& options) {
  StateDict out;
  LoadReport& report = out.report();
  const std::map<std::string, std::string> mapped = map_names(checkpoint, mapper, report);
  const std::set<std::string> wanted(expected.begin(), expected.end());
  for (const std::string& name : wanted) {
    if (mapped.count(name) == 0) report.missing.push_back(name);
  }
  for (const auto& kv : mapped) {
    if (wanted.count(kv.first) == 0) report.unexpected.push_back(kv.first);
  }
  if (!report.missing.empty() && !options.allow_missing) {
    throw Error(ErrorCategory::NotFound,
                "the checkpoint lacks " + std::to_string(report.missing.size()) + " of the " +
                    std::to_string(wanted.size()) +
                    " expected weights: " + list_names(report.missing) +
                    " (is it a checkpoint of this model, in a layout ReelForge knows?)",
                describe(checkpoint));
  }
  if (!report.unexpected.empty() && !options.allow_unexpected) {
    throw Error(ErrorCategory::Format,
                "the checkpoint has " + std::to_string(report.unexpected.size()) +
                    " weights the model does not expect: " + list_names(report.unexpected),
                describe(checkpoint));
  }
  for (const std::string& name : wanted) {
    const auto it = mapped.find(name);
    if (it != mapped.end()) load_into(out, checkpoint, name, it->second, options);
  }
  return out;
}

StateDict load_all(const Checkpoint& checkpoint, const KeyMapper& mapper,
                   const LoadOptions& options) {
  StateDict out;
  for (const auto& [canonical, name] : map_names(checkpoint, mapper, out.report())) {
    load_into(out, checkpoint, canonical, name, options);
  }
  return out;
}

}  // namespace reelforge::tensors
