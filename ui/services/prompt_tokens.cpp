#include "services/prompt_tokens.hpp"

#include <QObject>
#include <optional>

#include "reelforge/core/error.hpp"
#include "reelforge/models/registry.hpp"
#include "reelforge/models/tokenizer.hpp"
#include "reelforge/storyboard/validation.hpp"

struct PromptTokenCounter::Tokenizer {
  std::optional<reelforge::models::T5Tokenizer> t5;
};

PromptTokenCounter::PromptTokenCounter() : tokenizer_(std::make_unique<Tokenizer>()) {
  source_ = QObject::tr("an estimate");
  detail_ = QObject::tr("No model chosen yet.");
}

PromptTokenCounter::~PromptTokenCounter() = default;

bool PromptTokenCounter::exact() const {
  return tokenizer_->t5.has_value();
}

void PromptTokenCounter::setModel(const QString& model) {
  if (model == model_ && !model_.isEmpty()) return;
  model_ = model;
  tokenizer_->t5.reset();
  limit_ = 512;
  // An upper bound: it never undercounts, so a prompt it accepts fits.
  source_ = QObject::tr("an estimate (characters + 2) until %1 is installed").arg(model);
  const QString estimate = QObject::tr(
      "The count is an upper bound (characters + 2) because %1. The render counts with the "
      "model's own tokenizer.");
  try {
    const reelforge::models::ModelManifest manifest =
        reelforge::models::find_model(model.toStdString());
    limit_ = manifest.text_encoder.text_len;
    if (manifest.text_encoder.tokenizer.empty()) {
      source_ = QObject::tr("an estimate (characters + 2)");
      detail_ = estimate.arg(QObject::tr("model %1 names no tokenizer file").arg(model));
      return;
    }
    const std::filesystem::path file = manifest.dir / manifest.text_encoder.tokenizer;
    reelforge::models::TokenizerOptions options;
    options.text_len = manifest.text_encoder.text_len;
    tokenizer_->t5 = reelforge::models::T5Tokenizer::load(file, options);
    source_ = QObject::tr("the tokenizer of %1").arg(model);
    detail_ = QObject::tr("Counted with %1, the tokenizer the render uses.")
                  .arg(QString::fromStdString(file.string()));
  } catch (const reelforge::Error& error) {
    detail_ = estimate.arg(QString::fromStdString(error.message()));
  }
}

PromptTokenCounter::Count PromptTokenCounter::count(const QString& text) const {
  const std::string utf8 = text.toStdString();
  Count count;
  count.limit = limit_;
  if (tokenizer_->t5) {
    try {
      count.tokens = static_cast<int>(tokenizer_->t5->count_tokens(utf8));
      return count;
    } catch (const reelforge::Error&) {
      // Text the tokenizer refuses (not UTF-8) is reported by validation; estimate meanwhile.
    }
  }
  count.tokens = static_cast<int>(reelforge::storyboard::count_tokens_upper_bound(utf8));
  return count;
}
