#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <fstream>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/sentencepiece.hpp"
#include "support/testing.hpp"

using reelforge::Error;
using reelforge::ErrorCategory;
using reelforge::models::SentencePieceModel;
using reelforge::testing::TempDir;

// SentencePiece and LibTorch live in one process: this test touching both is the regression test
// for the protobuf clash that crashed every program linking libsentencepiece directly.
TEST(SentencePiece, TrainsLoadsAndRoundTripsBesideLibTorch) {
  TempDir dir;
  {
    std::ofstream corpus(dir / "corpus.txt");
    for (int i = 0; i < 200; ++i) {
      corpus << "a small red ball rolls to the left across a blue sky\n"
             << "A big yellow square slowly grows on a dark background\n"
             << "一只猫在草地上奔跑\n";
    }
  }
  reelforge::models::train_sentencepiece("--input=" + (dir / "corpus.txt").string() + " --model_prefix=" +
                                         (dir / "sp").string() +
                                         " --vocab_size=80 --hard_vocab_limit=false --pad_id=0 --eos_id=1"
                                         " --unk_id=2 --bos_id=-1 --minloglevel=2 --num_threads=1");
  const SentencePieceModel sp = SentencePieceModel::load(dir / "sp.model");
  EXPECT_EQ(sp.pad_id(), 0);
  EXPECT_EQ(sp.eos_id(), 1);
  EXPECT_EQ(sp.unk_id(), 2);
  EXPECT_EQ(sp.bos_id(), -1);
  EXPECT_GT(sp.piece_size(), 10);
  const auto ids = sp.encode("a red square grows");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(sp.decode(ids), "a red square grows");
  EXPECT_EQ(sp.id_to_piece(1), "</s>");
  EXPECT_EQ(sp.piece_to_id("</s>"), 1);
  EXPECT_THROW(sp.id_to_piece(100000), Error);
  EXPECT_EQ(at::ones({3}).sum().item<float>(), 3.0f);

  const std::string bytes = reelforge::read_file(dir / "sp.model");
  EXPECT_EQ(SentencePieceModel::from_serialized(bytes).encode("a red square grows"), ids);
}

TEST(SentencePiece, BadModelsAreNamed) {
  TempDir dir;
  std::ofstream(dir / "fake.model") << "not a protobuf";
  try {
    SentencePieceModel::load(dir / "fake.model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Format);
    EXPECT_NE(e.context().find("fake.model"), std::string::npos);
  }
  try {
    SentencePieceModel::load(dir / "missing.model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound);
  }
  EXPECT_THROW(reelforge::models::train_sentencepiece("--input=/nonexistent --model_prefix=x --vocab_size=10"), Error);
}
