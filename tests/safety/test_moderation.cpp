// Prompt moderation: the default policy against a corpus of prompts with expected verdicts
// (including near-misses that must pass), the matching rules on a small policy, policy
// validation, and the audit log.

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/safety/moderation.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using namespace reelforge;
using namespace reelforge::safety;
using nlohmann::json;
using reelforge::testing::TempDir;

namespace {

fs::path safety_data(const std::string& name) {
  return fs::path(REELFORGE_TEST_DATA).parent_path() / "safety" / "data" / name;
}

// A small policy whose words are deliberately broad, so the allow-list and the obfuscation rules
// have something to do.
ModerationPolicy small_policy() {
  return ModerationPolicy::from_json(json::parse(R"({
    "categories": [
      {"id": "violence", "description": "violence", "words": ["kill*", "ass"],
       "phrases": ["blow up"], "regexes": ["\\bshoot (him|her)\\b"]},
      {"id": "cjk", "description": "cjk", "words": ["杀人"]}
    ],
    "allow": ["killer whale", "kill the lights", "杀人鲸"]
  })"));
}

void expect_validation(const json& policy, const std::string& context_part) {
  try {
    ModerationPolicy::from_json(policy);
    ADD_FAILURE() << "no error for " << policy.dump();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Validation) << e.what();
    EXPECT_NE(e.context().find(context_part), std::string::npos)
        << "context '" << e.context() << "' should name " << context_part;
  }
}

json one_category(const json& fields) {
  json c = {{"id", "c"}, {"description", "d"}};
  for (const auto& [k, v] : fields.items()) c[k] = v;
  return json{{"categories", json::array({c})}};
}

}  // namespace

TEST(Moderation, DefaultPolicyCorpus) {
  const ModerationPolicy policy = ModerationPolicy::load(ModerationPolicy::default_path());
  std::ifstream in(safety_data("prompts.jsonl"));
  ASSERT_TRUE(in) << safety_data("prompts.jsonl");
  std::string line;
  int total = 0, blocked = 0, allowed = 0, cjk = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json entry = json::parse(line);
    const std::string prompt = entry.at("prompt");
    const std::string expect = entry.at("expect");
    const Verdict v = moderate(policy, prompt);
    ++total;
    if (std::any_of(prompt.begin(), prompt.end(), [](char c) { return (c & 0x80) != 0; })) ++cjk;
    if (expect == "blocked") {
      ++blocked;
      EXPECT_TRUE(v.blocked()) << "should be blocked: " << prompt;
      EXPECT_EQ(v.category, entry.value("category", ""))
          << prompt << " (matched '" << v.term << "')";
    } else {
      ++allowed;
      EXPECT_FALSE(v.blocked()) << "should pass: " << prompt << " (blocked as " << v.category
                                << " by '" << v.term << "')";
    }
  }
  EXPECT_GE(total, 60);
  EXPECT_GE(blocked, 25);
  EXPECT_GE(allowed, 25);
  EXPECT_GE(cjk, 10);
  RecordProperty("prompts", total);
}

TEST(Moderation, VerdictNamesCategoryAndTerm) {
  const ModerationPolicy policy = ModerationPolicy::load(ModerationPolicy::default_path());
  const Verdict v = moderate(policy, "a scene of soldiers beheading a man");
  ASSERT_TRUE(v.blocked());
  EXPECT_EQ(v.category, "graphic_violence");
  EXPECT_EQ(v.term, "behead*");
  EXPECT_FALSE(v.description.empty());
  const Verdict ok = moderate(policy, "a lighthouse in a storm");
  EXPECT_FALSE(ok.blocked());
  EXPECT_TRUE(ok.category.empty());
  EXPECT_TRUE(ok.term.empty());
}

TEST(Moderation, Normalization) {
  EXPECT_EQ(normalize_for_matching("K.I.L.L the  LIGHTS!"), "kill the lights");
  EXPECT_EQ(normalize_for_matching("Crème Brûlée, ÆON"), "creme brulee aeon");
  EXPECT_EQ(normalize_for_matching("s\xE2\x80\x8Bk\xC3\xAF\xC3\xB1"), "skin");  // zero-width space
  EXPECT_EQ(normalize_for_matching("h3ll0 w0rld 2024"), "hello world 2024");
  EXPECT_EQ(normalize_for_matching("\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3"), "abc");  // fullwidth
}

TEST(Moderation, WholeWordsAndObfuscation) {
  const ModerationPolicy p = small_policy();
  for (const char* bad : {"kill him", "KILL", "k i l l", "k.i.l.l", "k-i-l-l", "k1ll", "k!ll",
                          "kiiiilll", "kïll", "killing spree", "k\xE2\x80\x8Bill", "s h o o t him",
                          "a$$", "asss", "blow up the car", "BL0W   UP", "shoot her"}) {
    EXPECT_TRUE(moderate(p, bad).blocked()) << bad;
  }
  for (const char* fine : {"skill", "skilled worker", "as if", "class pass", "blow dry", "up blow",
                           "shoot the ball", "k i", "pass the salt", "skiing"}) {
    EXPECT_FALSE(moderate(p, fine).blocked()) << fine << " -> " << moderate(p, fine).term;
  }
}

TEST(Moderation, AllowListIsRemovedBeforeMatching) {
  const ModerationPolicy p = small_policy();
  EXPECT_FALSE(moderate(p, "a killer whale jumps").blocked());
  EXPECT_FALSE(moderate(p, "KILLER  WHALE").blocked());
  EXPECT_FALSE(moderate(p, "she said: kill the lights").blocked());
  // Only the allowed phrase is removed: the rest of the prompt is still checked.
  EXPECT_TRUE(moderate(p, "a killer whale kills a seal").blocked());
  EXPECT_TRUE(moderate(p, "killer shark").blocked());
  // A phrase cannot match across the hole left by an allowed phrase.
  EXPECT_FALSE(moderate(p, "blow killer whale up").blocked());
}

TEST(Moderation, ChineseMatchesSubstrings) {
  const ModerationPolicy p = small_policy();
  EXPECT_TRUE(moderate(p, "他在街上杀人了").blocked());
  EXPECT_TRUE(moderate(p, "杀 人").blocked());              // spaced out
  EXPECT_TRUE(moderate(p, "杀，人").blocked());             // CJK punctuation
  EXPECT_FALSE(moderate(p, "杀人鲸在海里游泳").blocked());  // killer whale, allow-listed
  EXPECT_FALSE(moderate(p, "杀 x 人").blocked());           // Latin between: not one word
  EXPECT_FALSE(moderate(p, "人杀").blocked());
}

TEST(Moderation, PolicyValidationNamesThePath) {
  expect_validation(json::array(), "$");
  expect_validation(json{{"categories", json::array()}}, "$.categories");
  expect_validation(json{{"categories", json::array({{{"description", "d"}, {"words", {"x"}}}})}},
                    "$.categories[0].id");
  expect_validation(one_category({{"regexes", {"fine", "(unclosed"}}}),
                    "$.categories[0].regexes[1]");
  expect_validation(one_category({{"words", {"two words"}}}), "$.categories[0].words[0]");
  expect_validation(one_category({{"phrases", {"single"}}}), "$.categories[0].phrases[0]");
  expect_validation(one_category({{"words", {"ab*"}}}), "$.categories[0].words[0]");
  expect_validation(one_category({{"phrases", {"a* b"}}}), "$.categories[0].phrases[0]");
  expect_validation(one_category({{"words", {"abc", 3}}}), "$.categories[0].words[1]");
  expect_validation(one_category({{"words", {"杀x"}}}), "$.categories[0].words[0]");
  expect_validation(one_category({{"wrods", {"abc"}}}), "$.categories[0].wrods");
  expect_validation(one_category(json::object()), "$.categories[0]");
  json dup = one_category({{"words", {"abc"}}});
  dup["categories"].push_back(dup["categories"][0]);
  expect_validation(dup, "$.categories[1].id");
  json bad_allow = one_category({{"words", {"abc"}}});
  bad_allow["allow"] = {"ok phrase", ""};
  expect_validation(bad_allow, "$.allow[1]");
  json version = one_category({{"words", {"abc"}}});
  version["version"] = 2;
  expect_validation(version, "$.version");
}

TEST(Moderation, LoadReportsFileProblems) {
  TempDir dir;
  try {
    ModerationPolicy::load(dir / "missing.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound) << e.what();
  }
  write_file_atomic(dir / "broken.json", "{\"categories\": [");
  try {
    ModerationPolicy::load(dir / "broken.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Format) << e.what();
  }
  write_file_atomic(dir / "bad.json", one_category({{"regexes", {"[z-a]"}}}).dump());
  try {
    ModerationPolicy::load(dir / "bad.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Validation) << e.what();
    EXPECT_NE(e.context().find("bad.json"), std::string::npos) << e.context();
    EXPECT_NE(e.context().find("$.categories[0].regexes[0]"), std::string::npos) << e.context();
  }
}

TEST(Moderation, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000, 'a')),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

TEST(Moderation, AuditLogAppendsJsonLines) {
  TempDir dir;
  const fs::path path = dir / "logs" / "audit.jsonl";
  const ModerationPolicy policy = small_policy();
  {
    AuditLog log(path);
    log.record(moderate(policy, "kill him"), "kill him", "shot 1");
    log.record(moderate(policy, "a meadow"), "a meadow", "shot 2");
  }
  {
    AuditLog again(path);  // reopening appends, never truncates
    again.record(moderate(policy, "k1ll"), "k1ll", "shot \"3\"");
  }
  std::istringstream lines(read_file(path));
  std::vector<json> records;
  std::string line;
  while (std::getline(lines, line)) records.push_back(json::parse(line));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["verdict"], "blocked");
  EXPECT_EQ(records[0]["category"], "violence");
  EXPECT_EQ(records[0]["term"], "kill*");
  EXPECT_EQ(records[0]["shot"], "shot 1");
  EXPECT_EQ(records[0]["prompt_sha256"], sha256_hex("kill him"));
  EXPECT_EQ(records[1]["verdict"], "allowed");
  EXPECT_EQ(records[1]["category"], "");
  EXPECT_EQ(records[2]["shot"], "shot \"3\"");
  for (const auto& r : records) {
    const std::string t = r["time"];
    EXPECT_EQ(t.size(), 24u) << t;  // 2026-01-02T03:04:05.678Z
    EXPECT_EQ(t.back(), 'Z');
  }
  EXPECT_EQ(read_file(path).find("kill him"), std::string::npos) << "the prompt itself is stored";
}

TEST(Moderation, AuditLogReportsUnwritablePath) {
  TempDir dir;
  write_file_atomic(dir / "file", "x");
  try {
    AuditLog log(dir / "file" / "audit.jsonl");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Io) << e.what();
  }
}
