// The document model's own logic: the timeline with crossfades, seeds, enum names, and the text
// helpers the validator relies on.

#include <gtest/gtest.h>

#include "reelforge/core/error.hpp"
#include "reelforge/storyboard/storyboard.hpp"
#include "reelforge/storyboard/validation.hpp"

namespace reelforge::storyboard {
namespace {

Shot make_shot(std::string id, double duration_s, double crossfade_s = 0) {
  Shot s;
  s.id = std::move(id);
  s.prompt = "p";
  s.duration_s = duration_s;
  if (crossfade_s > 0) s.transition = {TransitionKind::Crossfade, crossfade_s};
  return s;
}

TEST(StoryboardModel, TimelineOverlapsCrossfades) {
  Storyboard sb;
  sb.shots = {make_shot("a", 5), make_shot("b", 4, 1), make_shot("c", 3)};
  const auto t = sb.timeline();
  ASSERT_EQ(t.size(), 3u);
  EXPECT_DOUBLE_EQ(t[0].start_s, 0);
  EXPECT_DOUBLE_EQ(t[0].end_s, 5);
  EXPECT_DOUBLE_EQ(t[1].start_s, 4);
  EXPECT_DOUBLE_EQ(t[1].end_s, 8);
  EXPECT_DOUBLE_EQ(t[2].start_s, 8);
  EXPECT_DOUBLE_EQ(t[2].end_s, 11);
  EXPECT_DOUBLE_EQ(sb.total_duration_s(), 11);
}

TEST(StoryboardModel, EmptyStoryboardLastsNothing) {
  EXPECT_EQ(Storyboard{}.total_duration_s(), 0);
  EXPECT_TRUE(Storyboard{}.timeline().empty());
}

TEST(StoryboardModel, ShotSeedOverridesTheDerivedOne) {
  Storyboard sb;
  sb.project.seed = 42;
  sb.shots = {make_shot("a", 1), make_shot("b", 1)};
  sb.shots[1].seed = 7;
  EXPECT_EQ(sb.effective_seed(sb.shots[1]), 7u);
  EXPECT_EQ(sb.effective_seed(sb.shots[0]), derive_shot_seed(42, "a"));
}

TEST(StoryboardModel, DerivedSeedsDependOnIdAndProjectSeedNotPosition) {
  Storyboard sb;
  sb.project.seed = 42;
  sb.shots = {make_shot("a", 1), make_shot("b", 1)};
  const uint64_t a = sb.effective_seed(sb.shots[0]);
  const uint64_t b = sb.effective_seed(sb.shots[1]);
  EXPECT_NE(a, b);
  std::swap(sb.shots[0], sb.shots[1]);
  EXPECT_EQ(sb.effective_seed(sb.shots[1]), a);
  sb.project.seed = 43;
  EXPECT_NE(sb.effective_seed(sb.shots[1]), a);
}

TEST(StoryboardModel, EnumNamesRoundTrip) {
  for (auto v : {KeyframeAt::First, KeyframeAt::Last})
    EXPECT_EQ(parse_keyframe_at(to_string(v)), v);
  for (auto v : {TransitionKind::Cut, TransitionKind::Crossfade}) {
    EXPECT_EQ(parse_transition_kind(to_string(v)), v);
  }
  for (auto v : {QualityPreset::Draft, QualityPreset::Final}) {
    EXPECT_EQ(parse_quality_preset(to_string(v)), v);
  }
  EXPECT_THROW(parse_quality_preset("Draft"), Error);
  EXPECT_THROW(parse_keyframe_at(""), Error);
}

TEST(StoryboardModel, Utf8Validation) {
  EXPECT_FALSE(find_invalid_utf8("plain ascii"));
  EXPECT_FALSE(find_invalid_utf8("\xe6\xb5\xb7 \xf0\x9f\x8e\xac \xc3\xa9"));
  EXPECT_EQ(find_invalid_utf8("ab\x80"), 2u);            // a lone continuation byte
  EXPECT_EQ(find_invalid_utf8("a\xc0\xaf"), 1u);         // overlong '/'
  EXPECT_EQ(find_invalid_utf8("a\xed\xa0\x80"), 1u);     // a UTF-16 surrogate
  EXPECT_EQ(find_invalid_utf8("\xf4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(find_invalid_utf8("xyz\xe6\xb5"), 3u);       // cut short at the end
  EXPECT_EQ(find_invalid_utf8(std::string_view("\0\xff", 2)), 1u);
}

TEST(StoryboardModel, DefaultTokenCountIsCodePointsPlusTwo) {
  EXPECT_EQ(count_tokens_upper_bound(""), 2u);
  EXPECT_EQ(count_tokens_upper_bound("a cat"), 7u);
  EXPECT_EQ(count_tokens_upper_bound("\xe6\xb5\xb7\xe6\xb5\xb7"), 4u);  // two CJK characters
}

TEST(StoryboardModel, MediaPathsResolveAgainstTheDocumentFolder) {
  EXPECT_EQ(resolve_media_path("media/a.png", "/projects/film"), "/projects/film/media/a.png");
  EXPECT_EQ(resolve_media_path("../shared/a.png", "/projects/film"), "/projects/shared/a.png");
  EXPECT_EQ(resolve_media_path("/abs/a.png", "/projects/film"), "/abs/a.png");
  EXPECT_EQ(resolve_media_path("a.png", ""), "a.png");
}

TEST(StoryboardModel, PointerTokensAreEscaped) {
  EXPECT_EQ(escape_pointer_token("a/b~c"), "a~1b~0c");
  EXPECT_EQ(escape_pointer_token("~1"), "~01");
}

TEST(StoryboardModel, EqualityComparesEveryField) {
  Storyboard a;
  a.shots = {make_shot("a", 1)};
  Storyboard b = a;
  EXPECT_TRUE(a == b);
  b.shots[0].keyframe = Keyframe{"k.png", KeyframeAt::First};
  EXPECT_TRUE(a != b);
  b = a;
  b.project.quality = QualityPreset::Final;
  EXPECT_TRUE(a != b);
}

}  // namespace
}  // namespace reelforge::storyboard
