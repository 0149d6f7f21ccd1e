#include "reelforge/safety/moderation.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/core/utf8.hpp"
#include "reelforge/core/paths.hpp"

namespace reelforge::safety {

namespace {

// ---------------------------------------------------------------------------------------------
// Unicode: decoding and folding

constexpr char32_t kReplacement = 0xFFFD;
// Marks text removed by the allow-list, so a phrase cannot match across the hole it leaves.
constexpr char kBarrier = '\x02';
// A leetspeak character that reads as either 'i' or 'l' ("k1ll", "1ick").
constexpr char kEitherIL = '\x01';
// More ambiguous characters than this in one word: only the 'i' reading is tried (2^n variants).
constexpr int kMaxAmbiguous = 4;

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len = 0;
    char32_t c = 0;
    if (b < 0x80) {
      c = b, len = 1;
    } else if ((b & 0xE0) == 0xC0) {
      c = b & 0x1F, len = 2;
    } else if ((b & 0xF0) == 0xE0) {
      c = b & 0x0F, len = 3;
    } else if ((b & 0xF8) == 0xF0) {
      c = b & 0x07, len = 4;
    } else {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    if (i + len > s.size()) {
      out.push_back(kReplacement);
      break;
    }
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + k]);
      if ((cb & 0xC0) != 0x80) ok = false;
      c = (c << 6) | (cb & 0x3F);
    }
    out.push_back(ok ? c : kReplacement);
    i += ok ? len : 1;
  }
  return out;
}


bool is_cjk(char32_t c) {
  return (c >= 0x3040 && c <= 0x30FF) ||  // hiragana, katakana
         (c >= 0x3400 && c <= 0x4DBF) ||  // CJK extension A
         (c >= 0x4E00 && c <= 0x9FFF) ||  // CJK unified ideographs
         (c >= 0xF900 && c <= 0xFAFF) ||  // compatibility ideographs
         (c >= 0xAC00 && c <= 0xD7AF) ||  // Hangul syllables
         (c >= 0x20000 && c <= 0x2FA1F);  // extensions B..F, compatibility supplement
}

// Characters that only hide a word from a filter: soft hyphen, zero-width spaces and joiners,
// combining accents (a decomposed "é" folds like the composed one).
bool is_invisible(char32_t c) {
  return c == 0xAD || (c >= 0x200B && c <= 0x200F) || c == 0x2060 || c == 0xFEFF ||
         (c >= 0x300 && c <= 0x36F);
}

// Latin-1 Supplement 0xC0..0xFF and Latin Extended-A 0x100..0x17F to base letters; ' ' marks a
// character that is not a letter (×, ÷) or folds to two letters (handled in fold()).
constexpr std::string_view kLatin1Fold =
    "aaaaaa ceeeeiiiidnooooo ouuuuy  aaaaaa ceeeeiiiidnooooo ouuuuy y";
constexpr std::string_view kLatinExtAFold =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii  jjkkklllllll"
    "lllnnnnnnnnnoooooo  rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

// Appends the folded form of `c` (lower case, no accents) as code points; invisible ones vanish.
void fold(char32_t c, std::u32string& out) {
  if (is_invisible(c)) return;
  if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // fullwidth ASCII
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  switch (c) {
    case 0xC6:
    case 0xE6:
      out += U"ae";
      return;
    case 0xDE:
    case 0xFE:
      out += U"th";
      return;
    case 0xDF:
      out += U"ss";
      return;
    case 0x132:
    case 0x133:
      out += U"ij";
      return;
    case 0x152:
    case 0x153:
      out += U"oe";
      return;
    case 0xD7:
    case 0xF7:
      out.push_back(U' ');
      return;
    default:
      break;
  }
  if (c >= 0xC0 && c <= 0xFF) {
    const char f = kLatin1Fold[c - 0xC0];
    out.push_back(f == '\0' || f == ' ' ? U' ' : static_cast<char32_t>(f));
    return;
  }
  if (c >= 0x100 && c <= 0x17F) {
    const size_t i = c - 0x100;
    const char f = i < kLatinExtAFold.size() ? kLatinExtAFold[i] : ' ';
    out.push_back(f == ' ' ? U' ' : static_cast<char32_t>(f));
    return;
  }
  // Cyrillic letters that look Latin, a cheap way to hide a Latin word from a filter.
  static const std::unordered_map<char32_t, char32_t> kHomoglyphs = {
      {0x430, 'a'}, {0x410, 'a'}, {0x435, 'e'}, {0x415, 'e'}, {0x43E, 'o'}, {0x41E, 'o'},
      {0x440, 'p'}, {0x420, 'p'}, {0x441, 'c'}, {0x421, 'c'}, {0x443, 'y'}, {0x445, 'x'},
      {0x425, 'x'}, {0x456, 'i'}, {0x406, 'i'}, {0x455, 's'}, {0x458, 'j'}, {0x41A, 'k'},
      {0x43A, 'k'}, {0x41C, 'm'}, {0x41D, 'h'}, {0x422, 't'}, {0x412, 'b'}};
  if (const auto it = kHomoglyphs.find(c); it != kHomoglyphs.end()) {
    out.push_back(it->second);
    return;
  }
  out.push_back(c);
}

std::u32string fold_all(std::string_view text) {
  std::u32string out;
  for (char32_t c : decode_utf8(text)) fold(c, out);
  return out;
}

// Separators: ASCII punctuation and spaces (except the leetspeak symbols), Unicode spaces and
// general / CJK punctuation, the replacement character.
bool is_separator(char32_t c) {
  if (c < 0x80) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return false;
    return !(c == '@' || c == '$' || c == '!' || c == '|');
  }
  return c == 0xA0 || (c >= 0xA1 && c <= 0xBF) || c == U' ' || (c >= 0x2000 && c <= 0x206F) ||
         (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF00 && c <= 0xFF0F) || c == kReplacement ||
         (c >= 0xFF1A && c <= 0xFF20);
}

bool is_ascii_letter(char32_t c) {
  return c >= 'a' && c <= 'z';
}

// ---------------------------------------------------------------------------------------------
// Latin words

// A word of the prompt after de-obfuscation. `text` may hold kEitherIL; `barrier` marks a hole
// left by the allow-list.
struct Token {
  std::string text;
  std::string alt;  // another reading, or empty: "a b e h e a d" is "abehead" or "behead"
  bool barrier = false;
};

std::string leet(const std::u32string& raw) {
  const bool has_letter = std::any_of(raw.begin(), raw.end(), [](char32_t c) {
    return !(c >= '0' && c <= '9') && c != '@' && c != '$' && c != '!' && c != '|';
  });
  std::string out;
  for (char32_t c : raw) {
    if (has_letter) {
      switch (c) {
        case '4':
        case '@':
          out.push_back('a');
          continue;
        case '3':
          out.push_back('e');
          continue;
        case '0':
          out.push_back('o');
          continue;
        case '5':
        case '$':
          out.push_back('s');
          continue;
        case '7':
          out.push_back('t');
          continue;
        case '1':
        case '!':
        case '|':
          out.push_back(kEitherIL);
          continue;
        default:
          break;
      }
    }
    append_utf8(out, c);
  }
  return out;
}

// Splits folded text into words, joining letters spelled out one by one ("k i l l", "k.i.l.l").
std::vector<Token> tokenize(const std::u32string& folded) {
  std::vector<std::u32string> raw;
  std::u32string current;
  auto flush = [&] {
    // '!' and '|' read as letters inside a word only ("k!ll"), not as its punctuation ("kill!").
    size_t b = 0, e = current.size();
    while (b < e && (current[b] == '!' || current[b] == '|')) ++b;
    while (e > b && (current[e - 1] == '!' || current[e - 1] == '|')) --e;
    if (e > b) raw.push_back(current.substr(b, e - b));
    current.clear();
  };
  for (char32_t c : folded) {
    if (is_separator(c) || is_cjk(c)) {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();

  std::vector<Token> tokens;
  for (size_t i = 0; i < raw.size();) {
    size_t j = i;
    while (j < raw.size() && raw[j].size() == 1) ++j;
    if (j - i >= 3) {
      std::u32string joined;
      for (size_t k = i; k < j; ++k) joined += raw[k];
      Token t{leet(joined), {}};
      // An article or pronoun often precedes the spelled-out word: "a b o m b".
      if ((raw[i][0] == U'a' || raw[i][0] == U'i') && j - i > 3) t.alt = leet(joined.substr(1));
      tokens.push_back(std::move(t));
      i = j;
    } else {
      tokens.push_back({leet(raw[i]), {}});
      ++i;
    }
  }
  return tokens;
}

// Every reading of a word with ambiguous characters ('1' as 'i' and as 'l').
std::vector<std::string> variants(const std::string& token) {
  std::vector<std::string> out{token};
  int ambiguous = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] != kEitherIL) continue;
    if (++ambiguous > kMaxAmbiguous) {
      for (auto& v : out) v[i] = 'i';
      continue;
    }
    const size_t n = out.size();
    for (size_t k = 0; k < n; ++k) {
      std::string l = out[k];
      out[k][i] = 'i';
      l[i] = 'l';
      out.push_back(std::move(l));
    }
  }
  return out;
}

std::string collapse_repeats(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (out.empty() || out.back() != c || !is_ascii_letter(static_cast<unsigned char>(c))) {
      out.push_back(c);
    }
  }
  return out;
}

// One word of a policy entry: exact ("gore") or a prefix ("dismember*").
struct WordPattern {
  std::string text;
  std::string collapsed;
  bool prefix = false;
};

// Whether one reading of a prompt word matches: equal, equal after collapsing repeated letters
// when the prompt word is at least as long ("gooore" but not "as" for "ass"), or for a prefix
// pattern, starting with it.
bool word_matches(const std::string& v, const WordPattern& p) {
  if (!p.prefix) {
    if (v == p.text) return true;
    return v.size() >= p.text.size() && collapse_repeats(v) == p.collapsed;
  }
  if (v.compare(0, p.text.size(), p.text) == 0) return true;
  return v.size() >= p.text.size() &&
         collapse_repeats(v).compare(0, p.collapsed.size(), p.collapsed) == 0;
}

bool text_matches(const std::string& text, const WordPattern& p) {
  if (text.find(kEitherIL) == std::string::npos) return word_matches(text, p);
  for (const auto& v : variants(text)) {
    if (word_matches(v, p)) return true;
  }
  return false;
}

bool token_matches(const Token& t, const WordPattern& p) {
  if (t.barrier) return false;
  return text_matches(t.text, p) || (!t.alt.empty() && text_matches(t.alt, p));
}

// The CJK characters of folded text, in order; anything else between them that is not space or
// punctuation becomes a barrier, so "儿 童" still reads "儿童" but "儿 x 童" does not.
std::string cjk_stream(const std::u32string& folded) {
  std::string out;
  for (char32_t c : folded) {
    if (is_cjk(c)) {
      append_utf8(out, c);
    } else if (!is_separator(c)) {
      if (out.empty() || out.back() != kBarrier) out.push_back(kBarrier);
    }
  }
  return out;
}

bool has_cjk(const std::u32string& s) {
  return std::any_of(s.begin(), s.end(), is_cjk);
}

std::string tokens_text(const std::vector<Token>& tokens, char either) {
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out.push_back(' ');
    if (t.barrier) {
      out += "/";
      continue;
    }
    for (char c : t.text) out.push_back(c == kEitherIL ? either : c);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Compiled policy

struct ModerationPolicy::Compiled {
  struct Sequence {  // a word (one pattern) or a phrase (several)
    std::vector<WordPattern> words;
    std::string source;
  };
  struct Cjk {
    std::string text;
    std::string source;
  };
  struct Regex {
    std::regex re;
    std::string source;
  };
  struct Category {
    std::vector<Sequence> sequences;
    std::vector<Cjk> cjk;
    std::vector<Regex> regexes;
  };
  std::vector<Category> categories;
  std::vector<Sequence> allow;
  std::vector<Cjk> allow_cjk;
};

namespace {

using Compiled = ModerationPolicy::Compiled;

[[noreturn]] void invalid(const std::string& json_path, const std::string& message) {
  throw Error(ErrorCategory::Validation, message, json_path);
}

// Compiles a word or phrase entry: Latin entries into word patterns, CJK ones into substrings.
void compile_entry(const std::string& entry, const std::string& json_path, bool phrase,
                   std::vector<Compiled::Sequence>& sequences, std::vector<Compiled::Cjk>& cjk) {
  const std::u32string folded = fold_all(entry);
  if (has_cjk(folded)) {
    const bool latin = std::any_of(folded.begin(), folded.end(),
                                   [](char32_t c) { return !is_cjk(c) && !is_separator(c); });
    if (latin) {
      invalid(json_path, "entry '" + entry +
                             "' mixes CJK characters with Latin letters or digits; CJK entries "
                             "match as substrings, so write them in CJK only");
    }
    cjk.push_back({cjk_stream(folded), entry});
    return;
  }
  // Entries are written plainly: no leetspeak reading, so "4chan" stays "4chan".
  std::vector<std::string> words;
  std::string current;
  for (char32_t c : folded) {
    if (is_separator(c) && c != '*') {
      if (!current.empty()) words.push_back(current);
      current.clear();
    } else {
      append_utf8(current, c);
    }
  }
  if (!current.empty()) words.push_back(current);
  if (words.empty()) invalid(json_path, "entry '" + entry + "' has no letters or digits");
  if (!phrase && words.size() != 1) {
    invalid(json_path, "word '" + entry + "' is several words; list it under \"phrases\"");
  }
  if (phrase && words.size() < 2) {
    invalid(json_path, "phrase '" + entry + "' is a single word; list it under \"words\"");
  }
  Compiled::Sequence seq;
  seq.source = entry;
  for (size_t i = 0; i < words.size(); ++i) {
    WordPattern p;
    p.text = words[i];
    const size_t star = p.text.find('*');
    if (star != std::string::npos) {
      if (star + 1 != p.text.size() || i + 1 != words.size()) {
        invalid(json_path,
                "entry '" + entry + "': '*' is only allowed at the end of the last word");
      }
      p.text.pop_back();
      p.prefix = true;
      if (p.text.size() < 3) {
        invalid(json_path, "entry '" + entry +
                               "': a prefix needs at least 3 characters before '*' (it would "
                               "match too many words)");
      }
    }
    p.collapsed = collapse_repeats(p.text);
    seq.words.push_back(std::move(p));
  }
  sequences.push_back(std::move(seq));
}

std::vector<std::string> string_list(const nlohmann::json& parent, const char* key,
                                     const std::string& path) {
  std::vector<std::string> out;
  const auto it = parent.find(key);
  if (it == parent.end()) return out;
  const std::string here = path + "." + key;
  if (!it->is_array()) invalid(here, "must be an array of strings");
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    const std::string p = here + "[" + std::to_string(i) + "]";
    if (!v.is_string()) invalid(p, "must be a string, got " + std::string(v.type_name()));
    if (v.get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos) {
      invalid(p, "must not be empty");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

void check_keys(const nlohmann::json& object, const std::string& path,
                const std::set<std::string>& allowed) {
  for (const auto& [key, value] : object.items()) {
    if (!allowed.count(key)) {
      std::string valid;
      for (const auto& k : allowed) valid += (valid.empty() ? "" : ", ") + k;
      invalid(path + "." + key, "unknown key; valid keys: " + valid);
    }
  }
}

// Marks the tokens covered by an allow-list phrase as barriers.
void remove_allowed(std::vector<Token>& tokens, const std::vector<Compiled::Sequence>& allow) {
  for (const auto& seq : allow) {
    const size_t n = seq.words.size();
    for (size_t i = 0; i + n <= tokens.size(); ++i) {
      bool all = true;
      for (size_t k = 0; k < n && all; ++k) all = token_matches(tokens[i + k], seq.words[k]);
      if (!all) continue;
      for (size_t k = 0; k < n; ++k) tokens[i + k].barrier = true;
    }
  }
}

bool sequence_found(const std::vector<Token>& tokens, const Compiled::Sequence& seq) {
  const size_t n = seq.words.size();
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    bool all = true;
    for (size_t k = 0; k < n && all; ++k) all = token_matches(tokens[i + k], seq.words[k]);
    if (all) return true;
  }
  return false;
}

}  // namespace

ModerationPolicy ModerationPolicy::from_json(const nlohmann::json& json) {
  if (!json.is_object()) invalid("$", "a moderation policy must be a JSON object");
  check_keys(json, "$", {"version", "categories", "allow"});
  ModerationPolicy policy;
  if (json.contains("version")) {
    const auto& v = json["version"];
    if (!v.is_number_integer() || v.get<int>() != 1) {
      invalid("$.version", "unsupported policy version " + v.dump() + "; this build reads 1");
    }
  }
  const auto cats = json.find("categories");
  if (cats == json.end() || !cats->is_array() || cats->empty()) {
    invalid("$.categories", "must be a non-empty array of categories");
  }
  auto compiled = std::make_shared<Compiled>();
  std::set<std::string> ids;
  for (size_t c = 0; c < cats->size(); ++c) {
    const auto& jc = (*cats)[c];
    const std::string path = "$.categories[" + std::to_string(c) + "]";
    if (!jc.is_object()) invalid(path, "a category must be an object");
    check_keys(jc, path, {"id", "description", "words", "phrases", "regexes"});
    ModerationCategory cat;
    if (!jc.contains("id") || !jc["id"].is_string() || jc["id"].get<std::string>().empty()) {
      invalid(path + ".id", "a category needs a non-empty string id");
    }
    cat.id = jc["id"].get<std::string>();
    if (cat.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
      invalid(path + ".id", "id '" + cat.id + "' may only use a-z, 0-9 and '_'");
    }
    if (!ids.insert(cat.id).second) invalid(path + ".id", "duplicate category id '" + cat.id + "'");
    if (!jc.contains("description") || !jc["description"].is_string() ||
        jc["description"].get<std::string>().empty()) {
      invalid(path + ".description", "a category needs a non-empty description");
    }
    cat.description = jc["description"].get<std::string>();
    cat.words = string_list(jc, "words", path);
    cat.phrases = string_list(jc, "phrases", path);
    cat.regexes = string_list(jc, "regexes", path);
    if (cat.words.empty() && cat.phrases.empty() && cat.regexes.empty()) {
      invalid(path, "category '" + cat.id + "' has no words, phrases or regexes");
    }
    Compiled::Category cc;
    for (size_t i = 0; i < cat.words.size(); ++i) {
      compile_entry(cat.words[i], path + ".words[" + std::to_string(i) + "]", false, cc.sequences,
                    cc.cjk);
    }
    for (size_t i = 0; i < cat.phrases.size(); ++i) {
      compile_entry(cat.phrases[i], path + ".phrases[" + std::to_string(i) + "]", true,
                    cc.sequences, cc.cjk);
    }
    for (size_t i = 0; i < cat.regexes.size(); ++i) {
      try {
        cc.regexes.push_back(
            {std::regex(cat.regexes[i],
                        std::regex::ECMAScript | std::regex::icase | std::regex::optimize),
             cat.regexes[i]});
      } catch (const std::regex_error& e) {
        invalid(path + ".regexes[" + std::to_string(i) + "]",
                "invalid regular expression '" + cat.regexes[i] + "': " + e.what());
      }
    }
    compiled->categories.push_back(std::move(cc));
    policy.categories_.push_back(std::move(cat));
  }
  policy.allow_list_ = string_list(json, "allow", "$");
  for (size_t i = 0; i < policy.allow_list_.size(); ++i) {
    const std::string p = "$.allow[" + std::to_string(i) + "]";
    const std::u32string folded = fold_all(policy.allow_list_[i]);
    const bool single = !has_cjk(folded) && tokenize(folded).size() == 1;
    // A one-word allow entry is accepted: it simply removes that word.
    compile_entry(policy.allow_list_[i], p, !single, compiled->allow, compiled->allow_cjk);
  }
  policy.compiled_ = std::move(compiled);
  return policy;
}

ModerationPolicy ModerationPolicy::load(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCategory::Format, std::string("not valid JSON: ") + e.what(), path.string());
  }
  try {
    return from_json(json);
  } catch (const Error& e) {
    throw Error(e.category(), e.message(), path.string() + ": " + e.context());
  }
}

std::filesystem::path ModerationPolicy::default_path() {
  return resource_root() / "assets" / "safety" / "policy.json";
}

std::string normalize_for_matching(std::string_view text) {
  return tokens_text(tokenize(fold_all(text)), 'i');
}

Verdict moderate(const ModerationPolicy& policy, std::string_view prompt) {
  const Compiled& c = policy.compiled();
  const std::u32string folded = fold_all(prompt);
  std::vector<Token> tokens = tokenize(folded);
  remove_allowed(tokens, c.allow);
  std::string cjk = cjk_stream(folded);
  for (const auto& a : c.allow_cjk) {
    if (a.text.empty()) continue;
    for (size_t pos = cjk.find(a.text); pos != std::string::npos; pos = cjk.find(a.text, pos)) {
      cjk.replace(pos, a.text.size(), 1, kBarrier);
    }
  }
  const std::string text_i = tokens_text(tokens, 'i');
  const std::string text_l = tokens_text(tokens, 'l');

  for (size_t k = 0; k < c.categories.size(); ++k) {
    const auto& cat = c.categories[k];
    const auto& meta = policy.categories()[k];
    auto block = [&](const std::string& term) {
      return Verdict{Decision::Blocked, meta.id, meta.description, term};
    };
    for (const auto& seq : cat.sequences) {
      if (sequence_found(tokens, seq)) return block(seq.source);
    }
    for (const auto& e : cat.cjk) {
      if (!e.text.empty() && cjk.find(e.text) != std::string::npos) return block(e.source);
    }
    for (const auto& r : cat.regexes) {
      if (std::regex_search(text_i, r.re) ||
          (text_l != text_i && std::regex_search(text_l, r.re))) {
        return block(r.source);
      }
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4), for the audit log's prompt hashes

std::string sha256_hex(std::string_view data) {
  static constexpr std::array<uint32_t, 64> k = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  std::array<uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  std::string msg(data);
  const uint64_t bit_len = static_cast<uint64_t>(data.size()) * 8;
  msg.push_back(static_cast<char>(0x80));
  while (msg.size() % 64 != 56) msg.push_back('\0');
  for (int i = 7; i >= 0; --i) msg.push_back(static_cast<char>((bit_len >> (8 * i)) & 0xFF));
  for (size_t off = 0; off < msg.size(); off += 64) {
    std::array<uint32_t, 64> w{};
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(msg.data() + off + 4 * i);
      w[i] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    }
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      const uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const uint32_t ch = (e & f) ^ (~e & g);
      const uint32_t t1 = hh + s1 + ch + k[i] + w[i];
      const uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      const uint32_t t2 = s0 + maj;
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint32_t v : h) {
    for (int i = 28; i >= 0; i -= 4) out.push_back(kHex[(v >> i) & 0xF]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Audit log

AuditLog::AuditLog(std::filesystem::path path) : path_(std::move(path)) {
  std::error_code ec;
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), ec);
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorCategory::Io, std::string("cannot open audit log: ") + std::strerror(errno),
                path_.string());
  }
  ::close(fd);
}

void AuditLog::record(const Verdict& verdict, std::string_view prompt, std::string_view shot) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  char full[48];
  std::snprintf(full, sizeof full, "%s.%03dZ", stamp, static_cast<int>(ms));

  nlohmann::json line = {{"time", full},
                         {"verdict", verdict.blocked() ? "blocked" : "allowed"},
                         {"category", verdict.category},
                         {"term", verdict.term},
                         {"shot", std::string(shot)},
                         {"prompt_sha256", sha256_hex(prompt)}};
  // Invalid UTF-8 in a shot name must not make the record unwritable.
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";

  std::lock_guard<std::mutex> lock(mutex_);
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorCategory::Io, std::string("cannot open audit log: ") + std::strerror(errno),
                path_.string());
  }
  // One write() of a whole line: with O_APPEND the kernel places it atomically at the end, so
  // records from several processes never interleave.
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorCategory::Io,
                  std::string("cannot append to audit log: ") + std::strerror(err), path_.string());
    }
    done += static_cast<size_t>(n);
  }
  const int synced = ::fdatasync(fd);
  const int err = errno;
  ::close(fd);
  if (synced != 0) {
    throw Error(ErrorCategory::Io, std::string("cannot flush audit log: ") + std::strerror(err),
                path_.string());
  }
}

}  // namespace reelforge::safety
