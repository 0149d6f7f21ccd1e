// T5Tokenizer and Wan's prompt cleaning, with a real SentencePiece model trained by the test
// (T5's special ids: pad 0, </s> 1, unk 2, no <s>) on a small English + Chinese corpus.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/sentencepiece.hpp"
#include "reelforge/models/tokenizer.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using reelforge::Error;
using reelforge::ErrorCategory;
using reelforge::models::clean_prompt;
using reelforge::models::T5Tokenizer;
using reelforge::models::TokenizerOptions;

namespace {

class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<reelforge::testing::TempDir>();
    const fs::path corpus = *dir_ / "corpus.txt";
    {
      std::ofstream out(corpus);
      const char* lines[] = {
          "A cat runs across the green grass in the morning sun.",
          "The camera slowly pans over a quiet mountain lake at dawn.",
          "A red sports car drives along a coastal road, waves crashing below.",
          "Close-up of a chef slicing vegetables on a wooden board.",
          "Two dogs play with a ball in a sunny park, children laughing.",
          "Cinematic shot of a city skyline at night with neon lights.",
          "An astronaut floats inside a space station, Earth visible outside.",
          "Rain falls on a busy street; people hold colorful umbrellas.",
          "Hello world, this is a short prompt with punctuation: \"quotes\" & more!",
          "一只猫在草地上奔跑，阳光明媚。",
          "镜头缓慢推进，城市夜景，霓虹灯闪烁。",
          "两只狗在公园里玩球，孩子们在笑。",
          "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面。",
      };
      for (int repeat = 0; repeat < 20; ++repeat) {
        for (const char* line : lines) out << line << "\n";
      }
    }
    const std::string prefix = (*dir_ / "spiece").string();
    reelforge::models::train_sentencepiece(
        "--input=" + corpus.string() + " --model_prefix=" + prefix +
        " --vocab_size=200 --hard_vocab_limit=false --character_coverage=1.0"
        " --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 --pad_piece=<pad> --eos_piece=</s>"
        " --unk_piece=<unk> --minloglevel=2 --num_threads=1");
    model_ = *dir_ / "spiece.model";
  }
  static void TearDownTestSuite() { dir_.reset(); }

  static T5Tokenizer make(int64_t text_len = 16) {
    TokenizerOptions o;
    o.text_len = text_len;
    return T5Tokenizer::load(model_, o);
  }

  static std::unique_ptr<reelforge::testing::TempDir> dir_;
  static fs::path model_;
};

std::unique_ptr<reelforge::testing::TempDir> TokenizerTest::dir_;
fs::path TokenizerTest::model_;

std::vector<int64_t> row(const at::Tensor& t, int64_t b) {
  const at::Tensor r = t[b].contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

}  // namespace

TEST(PromptCleaning, WhitespaceIsCollapsedAndStripped) {
  EXPECT_EQ(clean_prompt("  a\t\n b  \r\n c "), "a b c");
  EXPECT_EQ(clean_prompt("a\u00a0\u3000b\u2003c"), "a b c");  // nbsp, ideographic, em space
  EXPECT_EQ(clean_prompt(" \n\t "), "");
  EXPECT_EQ(clean_prompt(""), "");
}

TEST(PromptCleaning, HtmlEntitiesAreDecoded) {
  EXPECT_EQ(clean_prompt("Tom &amp; Jerry"), "Tom & Jerry");
  EXPECT_EQ(clean_prompt("&lt;b&gt;bold&lt;/b&gt;"), "<b>bold</b>");
  EXPECT_EQ(clean_prompt("caf&eacute; &#233; &#xE9; &#x4e2d;"), "café é é 中");
  EXPECT_EQ(clean_prompt("&#128; &copy2024"), "€ ©2024");  // cp1252 remap; legacy name w/o ';'
  // ftfy repeats until stable, then html.unescape runs twice more.
  EXPECT_EQ(clean_prompt("fish &amp;amp;amp;amp; chips"), "fish & chips");
  // With a literal '<' ftfy leaves entities alone: only the two html.unescape passes apply.
  EXPECT_EQ(clean_prompt("<i> &amp;amp;amp;"), "<i> &amp;");
  EXPECT_EQ(clean_prompt("&unknownentity; stays"), "&unknownentity; stays");
}

TEST(PromptCleaning, FtfyFixesThatMatterForPrompts) {
  EXPECT_EQ(clean_prompt("\u201cquoted\u201d \u2018single\u2019"), "\"quoted\" 'single'");
  EXPECT_EQ(clean_prompt("\ufb01ne \ufb02ower"), "fine flower");
  EXPECT_EQ(clean_prompt("\uff28\uff45\uff4c\uff4c\uff4f\uff01"), "Hello!");   // fullwidth
  EXPECT_EQ(clean_prompt("\u732b\uff0c\u72d7\u3002"), "\u732b,\u72d7\u3002");  // 猫，狗。
  EXPECT_EQ(clean_prompt("\x1b[31mred\x1b[0m text"), "red text");
  EXPECT_EQ(clean_prompt("a\x01"
                         "b\x7f"
                         "c\xef\xbb\xbf"
                         "d"),
            "abcd");                                        // controls, BOM
  EXPECT_EQ(clean_prompt("wait\xc2\x85"), "wait\u2026");    // C1 NEL read as cp1252 ellipsis
  EXPECT_EQ(clean_prompt("\xc2\x93hi\xc2\x94"), "\"hi\"");  // C1 quotes -> curly -> straight
}

TEST(PromptCleaning, InvalidUtf8IsAClearError) {
  const std::pair<std::string, std::string> cases[] = {
      {std::string("ok \xff"), "offset 3"},         {std::string("\xc0\xaf"), "overlong"},
      {std::string("ab\xe4\xb8"), "cut off"},       {std::string("\xed\xa0\x80"), "surrogate"},
      {std::string("a\x80"), "not the first byte"},
  };
  for (const auto& [text, needle] : cases) {
    try {
      clean_prompt(text);
      ADD_FAILURE() << "accepted invalid UTF-8 (" << needle << ")";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
      EXPECT_NE(e.message().find("not valid UTF-8"), std::string::npos) << e.message();
      EXPECT_NE(e.message().find(needle), std::string::npos) << e.message();
    }
  }
}

TEST_F(TokenizerTest, SpecialIdsComeFromTheModel) {
  const auto tok = make();
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.text_len(), 16);
  EXPECT_GT(tok.vocab_size(), 50);
}

TEST_F(TokenizerTest, EosAppendedAndTextRoundTrips) {
  const auto tok = make();
  const auto ids = tok.tokenize("A cat runs across the grass.");
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids.back(), 1);
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    EXPECT_NE(ids[i], 0);
    EXPECT_NE(ids[i], 1);
    EXPECT_NE(ids[i], 2) << "unknown piece";
  }
  EXPECT_EQ(tok.count_tokens("A cat runs across the grass."), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(tok.decode(ids), "A cat runs across the grass.");
  // Cleaning happens before SentencePiece: these are the same prompt.
  EXPECT_EQ(tok.tokenize("  A  cat runs\tacross the grass.\n"), ids);
  EXPECT_EQ(tok.tokenize("A cat runs across the grass&#46;"), ids);
}

TEST_F(TokenizerTest, ChineseTextIsTokenized) {
  const auto tok = make(64);
  const std::string text =
      "\u4e00\u53ea\u732b\u5728\u8349\u5730\u4e0a\u5954\u8dd1";  // 一只猫在草地上奔跑
  const auto ids = tok.tokenize(text);
  EXPECT_GE(ids.size(), 2u);
  EXPECT_EQ(ids.back(), 1);
  for (int64_t id : ids) EXPECT_NE(id, 2) << "unknown piece in Chinese text";
  EXPECT_EQ(tok.decode(ids), text);
  // Fullwidth punctuation is normalised before tokenization: "，" tokenizes like ",".
  EXPECT_EQ(tok.tokenize("\u732b\uff0c\u72d7"), tok.tokenize("\u732b,\u72d7"));
}

TEST_F(TokenizerTest, BatchIsPaddedWithMask) {
  const auto tok = make(40);
  const auto batch = tok.encode({"A cat runs.", "Two dogs play with a ball in a sunny park."});
  EXPECT_EQ(batch.ids.sizes(), (std::vector<int64_t>{2, 40}));
  EXPECT_EQ(batch.mask.sizes(), (std::vector<int64_t>{2, 40}));
  EXPECT_EQ(batch.ids.scalar_type(), at::kLong);
  for (int64_t b = 0; b < 2; ++b) {
    const auto expected =
        tok.tokenize(b == 0 ? "A cat runs." : "Two dogs play with a ball in a sunny park.");
    ASSERT_LT(expected.size(), 40u);
    const auto ids = row(batch.ids, b);
    const auto mask = row(batch.mask, b);
    for (size_t i = 0; i < 40; ++i) {
      if (i < expected.size()) {
        EXPECT_EQ(ids[i], expected[i]);
        EXPECT_EQ(mask[i], 1);
      } else {
        EXPECT_EQ(ids[i], 0);
        EXPECT_EQ(mask[i], 0);
      }
    }
  }
}

TEST_F(TokenizerTest, LongPromptsKeepEosWhenTruncated) {
  const auto tok = make(8);
  const std::string text = "Cinematic shot of a city skyline at night with neon lights and rain.";
  const auto full = tok.tokenize(text);
  ASSERT_GT(full.size(), 8u);
  EXPECT_GT(tok.count_tokens(text), tok.text_len());  // what the storyboard validator checks
  const auto batch = tok.encode({text});
  const auto ids = row(batch.ids, 0);
  ASSERT_EQ(ids.size(), 8u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(ids[i], full[i]);
  EXPECT_EQ(ids[7], 1);
  EXPECT_EQ(batch.mask.sum().item<int64_t>(), 8);

  // A prompt that fits exactly is not touched.
  const auto tok_exact = make(static_cast<int64_t>(full.size()));
  EXPECT_EQ(row(tok_exact.encode({text}).ids, 0), full);
}

TEST_F(TokenizerTest, EmptyPromptIsJustEos) {
  const auto tok = make(6);
  for (const std::string text : {"", "   \n\t"}) {
    EXPECT_EQ(tok.tokenize(text), std::vector<int64_t>{1});
    EXPECT_EQ(tok.count_tokens(text), 1);
    const auto batch = tok.encode({text});
    EXPECT_EQ(row(batch.ids, 0), (std::vector<int64_t>{1, 0, 0, 0, 0, 0}));
    EXPECT_EQ(row(batch.mask, 0), (std::vector<int64_t>{1, 0, 0, 0, 0, 0}));
  }
}

TEST_F(TokenizerTest, InvalidInputsAreErrors) {
  const auto tok = make();
  try {
    tok.encode({"fine", std::string("bad \xfe byte")});
    ADD_FAILURE() << "non-UTF-8 prompt accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(e.message().find("not valid UTF-8"), std::string::npos);
  }
  EXPECT_THROW(tok.encode({}), Error);
  EXPECT_THROW(tok.decode({100000}), Error);
}

TEST_F(TokenizerTest, LoadingErrorsAndSerializedModels) {
  reelforge::testing::TempDir dir;
  try {
    T5Tokenizer::load(dir / "nope.model");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound);
  }
  reelforge::write_file_atomic(dir / "garbage.model", "this is not a protobuf");
  try {
    T5Tokenizer::load(dir / "garbage.model");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Format);
  }
  TokenizerOptions zero;
  zero.text_len = 0;
  EXPECT_THROW(T5Tokenizer::load(model_, zero), Error);

  // A folder holding spiece.model, and the serialized bytes, give the same tokenizer.
  const auto from_folder = T5Tokenizer::load(model_.parent_path());
  const auto from_bytes = T5Tokenizer::from_serialized(reelforge::read_file(model_));
  const std::string text = "Rain falls on a busy street.";
  EXPECT_EQ(from_folder.tokenize(text), make().tokenize(text));
  EXPECT_EQ(from_bytes.tokenize(text), make().tokenize(text));
  EXPECT_EQ(from_folder.text_len(), 512);  // Wan's default
}
