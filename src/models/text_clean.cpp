// Wan's prompt cleaning (`wan/modules/tokenizers.py`, clean='whitespace'):
//   whitespace_clean(basic_clean(text)), basic_clean = ftfy.fix_text + html.unescape x2 + strip.
//
// ftfy.fix_text is a large heuristic library; this file reproduces the parts of its default
// configuration that change prompts people type or paste, in ftfy's order, repeated until the
// text stops changing (as ftfy does):
//   - HTML entities (`&amp;`, `&#233;`, `&eacute;`), only when the text has no '<' (ftfy's "auto")
//   - terminal colour escapes (ESC [ ... letter) removed
//   - C1 control characters U+0080..U+009F read as their Windows-1252 characters
//   - Latin ligatures (U+FB00..U+FB06, IJ/ij, ...) spelt out
//   - fullwidth ASCII (U+FF01..U+FF5E) and the ideographic space to plain ASCII, the halfwidth
//     CJK punctuation and symbols (U+FF5F..U+FF64, U+FFE0..U+FFEE) to their normal forms:
//     Chinese prompts' "，" becomes ","
//   - curly quotes to straight ones
//   - line breaks (\r\n, \r, U+2028, U+2029) to \n
//   - control characters ftfy removes (C0 except \t \n \f \r, DEL, bidi controls U+206A..U+206F,
//     BOM, U+FFF9..U+FFFC, musical formatting and tag characters)
// Not covered, documented on purpose:
//   - mojibake repair (UTF-8 read as Latin-1/Windows-1252, "cafÃ©" -> "café"): ftfy's core
//     heuristic, which needs its character-class tables and "badness" scoring;
//   - NFC normalisation and the halfwidth katakana/hangul width fix. umT5's SentencePiece model
//     normalises with NFKC itself, which covers both for tokenization;
//   - HTML entities outside the set below (the HTML5 list has 2231); unknown ones are kept as text.
// Then html.unescape (Python's rules: numeric references with or without ';', Windows-1252
// remapping of &#128;..&#159;, legacy names without ';') twice, strip, and whitespace collapsing
// with Python's definition of whitespace (str.isspace).

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "reelforge/core/error.hpp"
#include "reelforge/core/utf8.hpp"
#include "reelforge/models/tokenizer.hpp"

namespace reelforge::models {
namespace {

using Text = std::u32string;

// ---- UTF-8 ------------------------------------------------------------------------------------

std::string hex_byte(unsigned char b) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

Text decode_utf8(std::string_view s, const char* what) {
  Text out;
  out.reserve(s.size());
  size_t i = 0;
  auto bad = [&](size_t at, const char* why) {
    throw Error(ErrorCategory::InvalidArgument,
                std::string(what) + " is not valid UTF-8: " + why + " (byte " +
                    hex_byte(static_cast<unsigned char>(s[at])) + " at offset " +
                    std::to_string(at) + "); save it as UTF-8");
  };
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    int extra = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
      extra = 1, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      extra = 2, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      extra = 3, cp = b0 & 0x07, min = 0x10000;
    } else {
      bad(i, "not the first byte of a character");
    }
    if (i + static_cast<size_t>(extra) >= s.size()) bad(i, "character cut off at the end");
    for (int k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) bad(i + k, "expected a continuation byte");
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min) bad(i, "overlong encoding");
    if (cp >= 0xD800 && cp <= 0xDFFF) bad(i, "encoded surrogate");
    if (cp > 0x10FFFF) bad(i, "code point above U+10FFFF");
    out.push_back(cp);
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}


// ---- character classes ------------------------------------------------------------------------

// Python's str.isspace(), which is what `\s` and str.strip() use on str.
bool is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Windows-1252 bytes 0x80..0x9F; ftfy's "sloppy" codec keeps the 5 undefined ones as they are.
constexpr std::array<char32_t, 32> kCp1252High = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

// ---- HTML entities ----------------------------------------------------------------------------

// Names of U+00A0..U+00FF in order: all of them are legacy entities (valid without ';').
constexpr const char* kLatin1Names[96] = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
    "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
    "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
    "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
    "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
    "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
    "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};

struct Entity {
  char32_t code;
  bool legacy;  // also recognised without the ';' by html.unescape
};

const std::unordered_map<std::string, Entity>& entities() {
  static const auto table = [] {
    std::unordered_map<std::string, Entity> t;
    for (int i = 0; i < 96; ++i) t[kLatin1Names[i]] = {static_cast<char32_t>(0xA0 + i), true};
    for (const auto& [name, code] : {std::pair{"amp", U'&'},
                                     {"lt", U'<'},
                                     {"gt", U'>'},
                                     {"quot", U'"'},
                                     {"AMP", U'&'},
                                     {"LT", U'<'},
                                     {"GT", U'>'},
                                     {"QUOT", U'"'},
                                     {"COPY", U'\u00A9'},
                                     {"REG", U'\u00AE'}}) {
      t[name] = {code, true};
    }
    const std::pair<const char*, char32_t> modern[] = {
        {"apos", U'\''},       {"hellip", U'\u2026'}, {"mdash", U'\u2014'},  {"ndash", U'\u2013'},
        {"lsquo", U'\u2018'},  {"rsquo", U'\u2019'},  {"sbquo", U'\u201A'},  {"ldquo", U'\u201C'},
        {"rdquo", U'\u201D'},  {"bdquo", U'\u201E'},  {"lsaquo", U'\u2039'}, {"rsaquo", U'\u203A'},
        {"euro", U'\u20AC'},   {"trade", U'\u2122'},  {"bull", U'\u2022'},   {"dagger", U'\u2020'},
        {"Dagger", U'\u2021'}, {"permil", U'\u2030'}, {"prime", U'\u2032'},  {"Prime", U'\u2033'},
        {"larr", U'\u2190'},   {"uarr", U'\u2191'},   {"rarr", U'\u2192'},   {"darr", U'\u2193'},
        {"harr", U'\u2194'},   {"infin", U'\u221E'},  {"ne", U'\u2260'},     {"le", U'\u2264'},
        {"ge", U'\u2265'},     {"asymp", U'\u2248'},  {"minus", U'\u2212'},  {"hearts", U'\u2665'},
        {"spades", U'\u2660'}, {"clubs", U'\u2663'},  {"diams", U'\u2666'},  {"ensp", U'\u2002'},
        {"emsp", U'\u2003'},   {"thinsp", U'\u2009'}, {"zwnj", U'\u200C'},   {"zwj", U'\u200D'},
        {"lrm", U'\u200E'},    {"rlm", U'\u200F'},    {"OElig", U'\u0152'},  {"oelig", U'\u0153'},
        {"Scaron", U'\u0160'}, {"scaron", U'\u0161'}, {"Yuml", U'\u0178'},   {"fnof", U'\u0192'},
        {"circ", U'\u02C6'},   {"tilde", U'\u02DC'},  {"alpha", U'\u03B1'},  {"beta", U'\u03B2'},
        {"gamma", U'\u03B3'},  {"delta", U'\u03B4'},  {"pi", U'\u03C0'},     {"mu", U'\u03BC'},
        {"sigma", U'\u03C3'},  {"omega", U'\u03C9'},  {"Omega", U'\u03A9'},  {"star", U'\u2606'},
        {"check", U'\u2713'},  {"deg", U'\u00B0'}};
    for (const auto& [name, code] : modern) t.emplace(name, Entity{code, false});
    return t;
  }();
  return table;
}

bool is_alnum(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Python's html._replace_charref for a numeric reference.
Text numeric_charref(uint64_t num) {
  if (num == 0x00) return U"\uFFFD";
  if (num == 0x0D) return U"\r";
  if (num >= 0x80 && num <= 0x9F) return Text(1, kCp1252High[num - 0x80]);
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return U"\uFFFD";
  if ((num >= 0x1 && num <= 0x8) || (num >= 0xE && num <= 0x1F) || (num >= 0x7F && num <= 0x9F) ||
      (num >= 0xFDD0 && num <= 0xFDEF) || num == 0xB || (num & 0xFFFE) == 0xFFFE) {
    return U"";
  }
  return Text(1, static_cast<char32_t>(num));
}

// One pass of entity decoding. `python_rules`: html.unescape (';' optional for numeric and legacy
// references); otherwise ftfy's unescape_html (only `&...;` with 1-24 letters or digits).
Text unescape_html(const Text& in, bool python_rules) {
  Text out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != U'&') {
      out.push_back(in[i++]);
      continue;
    }
    size_t j = i + 1;
    if (j < in.size() && in[j] == U'#') {
      // Numeric: &#123; or &#x1F;
      size_t k = j + 1;
      const bool hex = k < in.size() && (in[k] == U'x' || in[k] == U'X');
      if (hex) ++k;
      const size_t digits_begin = k;
      while (k < in.size() && (hex ? is_hex(in[k]) : is_digit(in[k]))) ++k;
      const bool has_digits = k > digits_begin;
      const bool semi = k < in.size() && in[k] == U';';
      const bool ok = has_digits && (python_rules || semi) && (python_rules || k - j <= 24);
      if (ok) {
        uint64_t num = 0;
        for (size_t d = digits_begin; d < k; ++d) {
          const char32_t c = in[d];
          const uint64_t v = is_digit(c) ? c - U'0' : (c | 0x20) - U'a' + 10;
          num = std::min<uint64_t>(num * (hex ? 16 : 10) + v, 0x7FFFFFFF);
        }
        out += numeric_charref(num);
        i = semi ? k + 1 : k;
        continue;
      }
      out.push_back(in[i++]);
      continue;
    }
    // Named: the longest run of letters/digits, then an optional ';'.
    size_t k = j;
    while (k < in.size() && is_alnum(in[k]) && k - j < 32) ++k;
    const std::string name(in.begin() + static_cast<std::ptrdiff_t>(j),
                           in.begin() + static_cast<std::ptrdiff_t>(k));
    const bool semi = k < in.size() && in[k] == U';';
    const auto& table = entities();
    if (semi) {
      auto it = table.find(name);
      if (it != table.end()) {
        out.push_back(it->second.code);
        i = k + 1;
        continue;
      }
    }
    if (python_rules) {
      // Without ';' (or with an unknown name) html.unescape takes the longest legacy prefix:
      // "&copy2024" -> "©2024".
      bool matched = false;
      for (size_t len = name.size(); len > 0 && !matched; --len) {
        auto it = table.find(name.substr(0, len));
        if (it != table.end() && it->second.legacy) {
          out.push_back(it->second.code);
          i = j + len;
          matched = true;
        }
      }
      if (matched) continue;
    }
    out.push_back(in[i++]);
  }
  return out;
}

// ---- ftfy's fixes -----------------------------------------------------------------------------

Text remove_terminal_escapes(const Text& in) {
  Text out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == 0x1B && i + 1 < in.size() && in[i + 1] == U'[') {
      size_t k = i + 2;
      while (k < in.size() && (is_digit(in[k]) || in[k] == U';')) ++k;
      if (k < in.size() && ((in[k] >= 'a' && in[k] <= 'z') || (in[k] >= 'A' && in[k] <= 'Z'))) {
        i = k;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

const Text* ligature(char32_t c) {
  static const std::unordered_map<char32_t, Text> table = {
      {0x0132, U"IJ"},      {0x0133, U"ij"},      {0x0149, U"\u02BCn"}, {0x01C4, U"D\u017D"},
      {0x01C5, U"D\u017E"}, {0x01C6, U"d\u017E"}, {0x01C7, U"LJ"},      {0x01C8, U"Lj"},
      {0x01C9, U"lj"},      {0x01CA, U"NJ"},      {0x01CB, U"Nj"},      {0x01CC, U"nj"},
      {0x01F1, U"DZ"},      {0x01F2, U"Dz"},      {0x01F3, U"dz"},      {0xFB00, U"ff"},
      {0xFB01, U"fi"},      {0xFB02, U"fl"},      {0xFB03, U"ffi"},     {0xFB04, U"ffl"},
      {0xFB05, U"\u017Ft"}, {0xFB06, U"st"}};
  auto it = table.find(c);
  return it == table.end() ? nullptr : &it->second;
}

std::optional<char32_t> narrow_width(char32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) return c - 0xFF01 + 0x21;
  if (c == 0x3000) return U' ';
  switch (c) {
    case 0xFF5F:
      return 0x2985;
    case 0xFF60:
      return 0x2986;
    case 0xFF61:
      return 0x3002;
    case 0xFF62:
      return 0x300C;
    case 0xFF63:
      return 0x300D;
    case 0xFF64:
      return 0x3001;
    case 0xFFE0:
      return 0x00A2;
    case 0xFFE1:
      return 0x00A3;
    case 0xFFE2:
      return 0x00AC;
    case 0xFFE3:
      return 0x00AF;
    case 0xFFE4:
      return 0x00A6;
    case 0xFFE5:
      return 0x00A5;
    case 0xFFE6:
      return 0x20A9;
    case 0xFFE8:
      return 0x2502;
    case 0xFFE9:
      return 0x2190;
    case 0xFFEA:
      return 0x2191;
    case 0xFFEB:
      return 0x2192;
    case 0xFFEC:
      return 0x2193;
    case 0xFFED:
      return 0x25A0;
    case 0xFFEE:
      return 0x25CB;
    default:
      return std::nullopt;
  }
}

bool removed_control(char32_t c) {
  return (c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC) ||
         (c >= 0x1D173 && c <= 0x1D17A) || (c >= 0xE0000 && c <= 0xE007F);
}

Text ftfy_pass(const Text& in, bool unescape) {
  Text t = unescape ? unescape_html(in, /*python_rules=*/false) : in;
  t = remove_terminal_escapes(t);
  Text out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    char32_t c = t[i];
    if (c >= 0x80 && c <= 0x9F) c = kCp1252High[c - 0x80];  // fix_c1_controls
    if (const Text* lig = ligature(c)) {
      out += *lig;
      continue;
    }
    if (auto narrow = narrow_width(c)) c = *narrow;
    if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = U'\'';
    if (c >= 0x201C && c <= 0x201F) c = U'"';
    if (c == U'\r') {
      if (i + 1 < t.size() && t[i + 1] == U'\n') ++i;
      c = U'\n';
    }
    if (c == 0x2028 || c == 0x2029 || c == 0x85) c = U'\n';
    if (removed_control(c)) continue;
    out.push_back(c);
  }
  return out;
}

Text ftfy_fix_text(const Text& in) {
  const bool unescape = in.find(U'<') == Text::npos;
  Text t = in;
  // ftfy repeats its fixes until nothing changes; a handful of rounds always suffices.
  for (int round = 0; round < 16; ++round) {
    Text next = ftfy_pass(t, unescape);
    if (next == t) break;
    t = std::move(next);
  }
  return t;
}

Text strip(const Text& t) {
  size_t b = 0;
  size_t e = t.size();
  while (b < e && is_py_space(t[b])) ++b;
  while (e > b && is_py_space(t[e - 1])) --e;
  return t.substr(b, e - b);
}

Text collapse_whitespace(const Text& t) {
  Text out;
  out.reserve(t.size());
  bool in_space = false;
  for (char32_t c : t) {
    if (is_py_space(c)) {
      if (!in_space) out.push_back(U' ');
      in_space = true;
    } else {
      out.push_back(c);
      in_space = false;
    }
  }
  return strip(out);
}

}  // namespace

void check_utf8(std::string_view text, const char* what) { (void)decode_utf8(text, what); }

std::string clean_prompt(std::string_view text) {
  Text t = decode_utf8(text, "prompt");
  t = ftfy_fix_text(t);
  t = unescape_html(unescape_html(t, true), true);
  return encode_utf8(collapse_whitespace(strip(t)));
}

}  // namespace reelforge::models
