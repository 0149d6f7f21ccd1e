#pragma once
// Loading a model's weights by name. A model lists the (canonical) names it expects; load_state
// maps each checkpoint name through a KeyMapper (official / ComfyUI / diffusers layouts differ
// only in names), converts floating tensors to the load dtype, moves them to the device and
// reports what is missing or unexpected. The model then take()s each tensor with the shape its
// config implies, so a wrong checkpoint fails with the key and both shapes, never deep in a
// matmul. The layout maps of the individual models (DiT, umT5, VAEs) live with those models.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reelforge::tensors {

class Checkpoint;

// Checkpoint name -> canonical name, or nullopt to ignore the tensor (e.g. the `*.scale_weight`
// tensors of fp8 "scaled" files, which the model applies itself or does not need).
using KeyMapper = std::function<std::optional<std::string>(const std::string&)>;

KeyMapper identity_keys();
// Removes `prefix` from names that start with it (ComfyUI's "model.diffusion_model."); other
// names pass unchanged.
KeyMapper strip_prefix(std::string prefix);
// Ignores names ending in any of `suffixes`; other names pass unchanged.
KeyMapper ignore_suffixes(std::vector<std::string> suffixes);
// Applies `first`, then `second` to what it returns.
KeyMapper compose(KeyMapper first, KeyMapper second);

// float32 on the CPU (the reference path), bfloat16 on CUDA.
at::ScalarType default_load_dtype(c10::Device device);

struct LoadOptions {
  // For floating tensors (F64/F32/F16/BF16/F8); integer and bool tensors keep their dtype.
  // nullopt: default_load_dtype(device).
  std::optional<at::ScalarType> dtype;
  c10::Device device = c10::Device(c10::kCPU);
  bool allow_missing = false;     // expected names absent from the checkpoint
  bool allow_unexpected = false;  // checkpoint names (after mapping) the model does not expect
};

struct LoadReport {
  std::vector<std::string> missing;     // canonical names expected but absent (sorted)
  std::vector<std::string> unexpected;  // canonical names present but not expected; not loaded
  std::vector<std::string> ignored;     // checkpoint names the KeyMapper dropped
  // "3 missing (a, b, c), 1 unexpected (d)", at most 10 names per list.
  std::string summary() const;
};

// Named tensors being handed to a model. Each tensor is meant to be taken exactly once.
class StateDict {
 public:
  // Error(InvalidArgument) when the name is already present.
  void insert(std::string name, at::Tensor tensor);
  bool contains(const std::string& name) const;
  size_t size() const { return tensors_.size(); }
  std::vector<std::string> names() const;                // sorted
  const at::Tensor& get(const std::string& name) const;  // Error(NotFound) naming the key

  // Removes and returns the tensor. Error(NotFound) naming the key when absent; Error(Format)
  // naming the key and both shapes when `expected_shape` differs (-1 matches any size).
  at::Tensor take(const std::string& name, c10::IntArrayRef expected_shape);
  at::Tensor take(const std::string& name);
  // As take(), but nullopt when the name is absent (optional biases, i2v-only layers).
  std::optional<at::Tensor> take_if_present(const std::string& name,
                                            c10::IntArrayRef expected_shape);
  // Error(Format) listing up to 10 names nobody took: catches weights a model forgot to use.
  void require_all_taken(const std::string& what) const;

  const LoadReport& report() const { return report_; }
  LoadReport& report() { return report_; }

 private:
  std::map<std::string, at::Tensor> tensors_;
  LoadReport report_;
};

// Loads the checkpoint tensors whose mapped names are in `expected`. Error(NotFound) listing up
// to 10 missing names unless allow_missing; Error(Format) listing up to 10 unexpected names unless
// allow_unexpected; Error(Format) when two checkpoint names map to the same canonical name.
StateDict load_state(const Checkpoint& checkpoint, const KeyMapper& mapper,
                     const std::vector<std::string>& expected, const LoadOptions& options = {});

// Loads every tensor the mapper keeps (no expected list: for converters and fixture readers).
StateDict load_all(const Checkpoint& checkpoint, const KeyMapper& mapper,
                   const LoadOptions& options = {});

}  // namespace reelforge::tensors
