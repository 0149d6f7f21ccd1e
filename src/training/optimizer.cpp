#include "reelforge/training/optimizer.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"

namespace reelforge::training {
namespace {

bool decays(const at::Tensor& w) {
  return w.dim() >= 2 && w.size(0) > 1 && w.numel() > w.size(-1);
}

}  // namespace

AdamW::AdamW(NamedWeights weights, const AdamWSettings& settings)
    : weights_(std::move(weights)), settings_(settings) {
  at::NoGradGuard no_grad;
  for (const auto& [name, w] : weights_) {
    if (!w.requires_grad() || w.scalar_type() != at::kFloat) {
      throw Error(ErrorCategory::InvalidArgument,
                  "AdamW needs float32 weights that require grad; '" + name + "' is not");
    }
    m_.emplace(name, at::zeros_like(w));
    v_.emplace(name, at::zeros_like(w));
    if (settings_.ema_decay > 0) ema_.emplace(name, w.detach().clone());
  }
}

double scheduled_lr_scale(const AdamWSettings& settings, int64_t step, int64_t total_steps) {
  const int64_t span = total_steps - settings.warmup_steps;
  if (settings.final_lr_fraction >= 1.0 || span <= 0 || step < settings.warmup_steps) return 1.0;
  const double progress = std::min(1.0, double(step - settings.warmup_steps) / double(span));
  const double f = settings.final_lr_fraction;
  return f + (1.0 - f) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

double AdamW::step(double lr_scale) {
  at::NoGradGuard no_grad;
  at::Tensor total = at::zeros({}, at::kDouble);
  for (const auto& [name, w] : weights_) {
    if (w.grad().defined()) total += w.grad().to(at::kDouble).pow(2).sum();
  }
  const double norm = std::sqrt(total.item<double>());
  if (!std::isfinite(norm)) {
    for (auto& [name, w] : weights_) {
      if (w.grad().defined()) w.mutable_grad().zero_();
    }
    return norm;
  }
  const double clip =
      settings_.grad_clip > 0 && norm > settings_.grad_clip ? settings_.grad_clip / norm : 1.0;
  ++step_;
  const double warm = settings_.warmup_steps > 0
                          ? std::min(1.0, double(step_) / double(settings_.warmup_steps))
                          : 1.0;
  const double lr = settings_.learning_rate * warm * lr_scale;
  const double bias1 = 1.0 - std::pow(settings_.beta1, double(step_));
  const double bias2 = 1.0 - std::pow(settings_.beta2, double(step_));
  for (auto& [name, w] : weights_) {
    if (!w.grad().defined()) continue;
    const at::Tensor g = w.grad() * clip;
    at::Tensor& m = m_.at(name);
    at::Tensor& v = v_.at(name);
    m.mul_(settings_.beta1).add_(g, 1.0 - settings_.beta1);
    v.mul_(settings_.beta2).addcmul_(g, g, 1.0 - settings_.beta2);
    if (settings_.weight_decay > 0 && decays(w)) w.mul_(1.0 - lr * settings_.weight_decay);
    const at::Tensor denom = (v / bias2).sqrt_().add_(settings_.eps);
    w.addcdiv_(m, denom, -lr / bias1);
    w.mutable_grad().zero_();
  }
  if (!ema_.empty()) {
    // Short runs average over their own length instead of being dominated by the random init.
    const double decay =
        std::min(settings_.ema_decay, (1.0 + double(step_)) / (10.0 + double(step_)));
    for (auto& [name, e] : ema_) e.mul_(decay).add_(weights_.at(name).detach(), 1.0 - decay);
  }
  return norm;
}

void AdamW::save(const std::filesystem::path& path,
                 const std::map<std::string, std::string>& metadata) const {
  tensors::NamedTensors out;
  for (const auto& [name, w] : weights_) {
    out.emplace_back("weight/" + name, w.detach());
    out.emplace_back("adam_m/" + name, m_.at(name));
    out.emplace_back("adam_v/" + name, v_.at(name));
    if (!ema_.empty()) out.emplace_back("ema/" + name, ema_.at(name));
  }
  std::map<std::string, std::string> meta = metadata;
  meta["step"] = std::to_string(step_);
  tensors::save_safetensors(path, out, meta);
}

std::map<std::string, std::string> AdamW::load(const std::filesystem::path& path) {
  const tensors::Checkpoint checkpoint = tensors::Checkpoint::open(path);
  at::NoGradGuard no_grad;
  const auto restore = [&](const std::string& key, at::Tensor& into) {
    if (!checkpoint.contains(key)) {
      throw Error(ErrorCategory::Format, "training checkpoint has no '" + key + "'", path.string());
    }
    const at::Tensor saved = checkpoint.load(key, at::kFloat);
    if (saved.sizes() != into.sizes()) {
      throw Error(ErrorCategory::Format,
                  "'" + key + "' has shape " + c10::str(saved.sizes()) + ", the model " +
                      c10::str(into.sizes()) + ": the checkpoint is of another configuration",
                  path.string());
    }
    into.copy_(saved);
  };
  for (auto& [name, w] : weights_) {
    restore("weight/" + name, w);
    restore("adam_m/" + name, m_.at(name));
    restore("adam_v/" + name, v_.at(name));
    if (!ema_.empty()) restore("ema/" + name, ema_.at(name));
  }
  const auto& meta = checkpoint.metadata();
  const auto it = meta.find("step");
  step_ = it == meta.end() ? 0 : std::stoll(it->second);
  return meta;
}

}  // namespace reelforge::training
