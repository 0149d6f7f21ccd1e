#include "reelforge/models/tokenizer.hpp"

#include <ATen/ATen.h>

#include <optional>
#include <system_error>

#include "reelforge/core/error.hpp"
#include "reelforge/models/sentencepiece.hpp"

namespace reelforge::models {

// SentencePiece is reached through SentencePieceModel (sentencepiece.hpp), which keeps
// libsentencepiece and its bundled protobuf isolated from LibTorch's protobuf.
struct T5Tokenizer::Impl {
  std::optional<SentencePieceModel> sp;
  TokenizerOptions options;
  int64_t eos = 1;
  int64_t pad = 0;
  std::string source;  // for messages
};

T5Tokenizer T5Tokenizer::finish(std::unique_ptr<Impl> impl, const std::string& error) {
  if (!error.empty()) {
    throw Error(ErrorCategory::Format, "not a usable SentencePiece model: " + error, impl->source);
  }
  RF_CHECK(impl->sp.has_value(), "tokenizer model loaded");
  if (impl->options.text_len < 1) {
    throw Error(ErrorCategory::InvalidArgument, "tokenizer text_len " +
                                                    std::to_string(impl->options.text_len) +
                                                    " must be at least 1 (Wan uses 512)");
  }
  impl->eos = impl->sp->eos_id();
  if (impl->eos < 0) {
    throw Error(
        ErrorCategory::Format,
        "the SentencePiece model has no end-of-sequence token </s>; a T5 tokenizer needs one",
        impl->source);
  }
  // T5 pads with id 0 (its <pad>); a model without a pad piece still gets T5's convention.
  impl->pad = impl->sp->pad_id() >= 0 ? impl->sp->pad_id() : 0;
  return T5Tokenizer(std::move(impl));
}

T5Tokenizer::T5Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
T5Tokenizer::T5Tokenizer(T5Tokenizer&&) noexcept = default;
T5Tokenizer& T5Tokenizer::operator=(T5Tokenizer&&) noexcept = default;
T5Tokenizer::~T5Tokenizer() = default;

T5Tokenizer T5Tokenizer::load(const std::filesystem::path& model_path,
                              const TokenizerOptions& options) {
  std::filesystem::path path = model_path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) path /= "spiece.model";
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorCategory::NotFound,
                "SentencePiece tokenizer model not found (a file, or a folder with spiece.model)",
                path.string());
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->source = path.string();
  try {
    impl->sp = SentencePieceModel::load(path);
  } catch (const Error& e) {
    if (e.category() != ErrorCategory::Format) throw;
    return finish(std::move(impl), e.message());
  }
  return finish(std::move(impl), std::string());
}

T5Tokenizer T5Tokenizer::from_serialized(std::string_view model_proto,
                                         const TokenizerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->source =
      "serialized SentencePiece model (" + std::to_string(model_proto.size()) + " bytes)";
  try {
    impl->sp = SentencePieceModel::from_serialized(model_proto);
  } catch (const Error& e) {
    if (e.category() != ErrorCategory::Format) throw;
    return finish(std::move(impl), e.message());
  }
  return finish(std::move(impl), std::string());
}

std::vector<int64_t> T5Tokenizer::tokenize(std::string_view text) const {
  const std::string cleaned = clean_prompt(text);
  const std::vector<int> pieces = impl_->sp->encode(cleaned);
  std::vector<int64_t> ids(pieces.begin(), pieces.end());
  ids.push_back(impl_->eos);
  return ids;
}

int64_t T5Tokenizer::count_tokens(std::string_view text) const {
  return static_cast<int64_t>(tokenize(text).size());
}

TokenBatch T5Tokenizer::encode(const std::vector<std::string>& texts) const {
  if (texts.empty()) {
    throw Error(ErrorCategory::InvalidArgument, "no prompts to tokenize; pass at least one");
  }
  const int64_t batch = static_cast<int64_t>(texts.size());
  const int64_t len = impl_->options.text_len;
  TokenBatch out;
  out.ids = at::full({batch, len}, impl_->pad, at::kLong);  // [B, L]
  out.mask = at::zeros({batch, len}, at::kLong);            // [B, L]
  auto ids_a = out.ids.accessor<int64_t, 2>();
  auto mask_a = out.mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<int64_t> ids = tokenize(texts[static_cast<size_t>(b)]);
    // Hugging Face truncation with add_special_tokens: the content is cut, </s> stays last.
    if (static_cast<int64_t>(ids.size()) > len) {
      ids.resize(static_cast<size_t>(len));
      ids.back() = impl_->eos;
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      ids_a[b][static_cast<int64_t>(i)] = ids[i];
      mask_a[b][static_cast<int64_t>(i)] = 1;
    }
  }
  return out;
}

std::string T5Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> kept;
  kept.reserve(ids.size());
  const int64_t size = vocab_size();
  for (int64_t id : ids) {
    if (id < 0 || id >= size) {
      throw Error(ErrorCategory::InvalidArgument, "token id " + std::to_string(id) +
                                                      " is outside the vocabulary; valid: 0.." +
                                                      std::to_string(size - 1));
    }
    if (id == impl_->eos || id == impl_->pad) continue;
    kept.push_back(static_cast<int>(id));
  }
  return impl_->sp->decode(kept);
}

int64_t T5Tokenizer::text_len() const { return impl_->options.text_len; }
int64_t T5Tokenizer::vocab_size() const { return impl_->sp->piece_size(); }
int64_t T5Tokenizer::eos_id() const { return impl_->eos; }
int64_t T5Tokenizer::pad_id() const { return impl_->pad; }

}  // namespace reelforge::models
