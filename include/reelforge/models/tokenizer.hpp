#pragma once
// The prompt tokenizer of the umT5 text encoder: the model's SentencePiece `spiece.model` (through
// libsentencepiece) behind the text cleaning and the padding/truncation rules of Wan's
// `HuggingfaceTokenizer(clean='whitespace')` with a Hugging Face T5 tokenizer underneath.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace reelforge::models {

// Wan's prompt cleaning, `whitespace_clean(basic_clean(text))`:
//   basic_clean: ftfy.fix_text, then html.unescape twice, then strip;
//   whitespace_clean: every run of (Unicode) whitespace becomes one space, then strip.
// ftfy is approximated by the fixes that change real prompts (see text_clean.cpp for the list,
// and for what is not covered: mojibake repair, NFC, halfwidth katakana/hangul). Error
// (InvalidArgument) naming the byte offset when `text` is not valid UTF-8.
std::string clean_prompt(std::string_view text);

// Error(InvalidArgument) naming `what` and the offset of the first bad byte unless `text` is
// well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
void check_utf8(std::string_view text, const char* what = "text");

struct TokenizerOptions {
  // Every prompt becomes exactly this many ids (Wan's text_len): longer ones are truncated to
  // text_len - 1 tokens plus </s>, shorter ones padded with the pad id.
  int64_t text_len = 512;
};

struct TokenBatch {
  at::Tensor ids;   // [B, text_len] int64
  at::Tensor mask;  // [B, text_len] int64, 1 for tokens and </s>, 0 for padding
};

// SentencePiece tokenizer with T5's conventions: </s> appended to every prompt (its id read from
// the model; 1 for umT5), padding with the model's pad id (0 for umT5). Like Hugging Face's
// tokenizer with truncation, an over-long prompt keeps its first text_len - 1 tokens and </s>.
// Immutable after construction, so one instance can serve several threads.
class T5Tokenizer {
 public:
  // `spiece.model` (a SentencePiece ModelProto), or a folder holding one. Error(NotFound) when
  // missing, Error(Format) when it is not a SentencePiece model or has no </s>.
  static T5Tokenizer load(const std::filesystem::path& model_path,
                          const TokenizerOptions& options = {});
  // The same from the serialized ModelProto bytes (e.g. a `spiece_model` tensor in a checkpoint).
  static T5Tokenizer from_serialized(std::string_view model_proto,
                                     const TokenizerOptions& options = {});

  T5Tokenizer(T5Tokenizer&&) noexcept;
  T5Tokenizer& operator=(T5Tokenizer&&) noexcept;
  ~T5Tokenizer();

  // Cleaned and tokenized, with </s> appended; not truncated.
  std::vector<int64_t> tokenize(std::string_view text) const;
  // tokenize(text).size(): a prompt is encoded without loss when this is <= text_len(). The
  // storyboard validator uses it to enforce the model's prompt limit.
  int64_t count_tokens(std::string_view text) const;
  // ids and mask [B, text_len] for B >= 1 prompts (an empty prompt is just </s>).
  TokenBatch encode(const std::vector<std::string>& texts) const;
  // The text of ids, special tokens (pad, </s>) dropped. For logs and tests.
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t text_len() const;
  int64_t vocab_size() const;
  int64_t eos_id() const;
  int64_t pad_id() const;

 private:
  struct Impl;
  explicit T5Tokenizer(std::unique_ptr<Impl> impl);
  // Checks the loaded model (`error` = SentencePiece's load error, empty when it loaded).
  static T5Tokenizer finish(std::unique_ptr<Impl> impl, const std::string& error);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelforge::models
