#pragma once
// Counts a prompt's tokens the way a render will: with the tokenizer of the project's model when
// that model is installed and ships one (the count the core's validation and the text encoder
// use), else with the core's upper bound (storyboard::count_tokens_upper_bound), and says which
// of the two it used. The limit is the model's text length (tokens per prompt, </s> included).
// The tokenizer is loaded once per model; this is the only ui/ file that sees the tokenizer's
// LibTorch-based header.

#include <QString>
#include <memory>

class PromptTokenCounter {
 public:
  struct Count {
    int tokens = 0;
    int limit = 0;
  };

  PromptTokenCounter();
  ~PromptTokenCounter();

  // Finds `model` in the registry and loads its tokenizer; never throws (a model that cannot be
  // used leaves the upper bound in place, and source() says why).
  void setModel(const QString& model);
  QString model() const { return model_; }
  Count count(const QString& text) const;
  int limit() const { return limit_; }
  // True when counts come from the model's own tokenizer.
  bool exact() const;
  // Where the count comes from, in a few words: "the tokenizer of <model>" or "an estimate".
  QString source() const { return source_; }
  // The longer story: the tokenizer's file, or why the model's tokenizer could not be used.
  QString detail() const { return detail_; }

 private:
  struct Tokenizer;
  std::unique_ptr<Tokenizer> tokenizer_;
  QString model_;
  QString source_;
  QString detail_;
  int limit_ = 512;
};
