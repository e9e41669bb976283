#pragma once
// UTF-8 helpers shared by the tokenizer stages. Invalid input is replaced the way Python's
// bytes.decode(errors="replace") and Rust's String::from_utf8_lossy do it (one U+FFFD per maximal
// invalid subsequence), because that is what the reference decoders produce.
#include <cstddef>
#include <string>
#include <string_view>

namespace ascent::tok {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// What the bytes starting at one position hold.
struct Utf8Step {
    size_t len;      // bytes consumed: the whole character, or the maximal invalid subpart
    bool valid;      // a complete, well-formed character
    bool truncated;  // invalid only because the input ended in the middle of a character
};
Utf8Step utf8_step(std::string_view s, size_t i);

// Byte offset of the first byte that is not part of well-formed UTF-8, or npos.
size_t find_invalid_utf8(std::string_view s);

// Decodes the character at s[i] and advances i. `s` must be valid UTF-8.
char32_t next_code_point(std::string_view s, size_t& i);

void append_utf8(std::string& out, char32_t cp);

// Lossy conversion: invalid sequences become U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// Number of trailing bytes that start a character the input does not finish (0 if none).
size_t incomplete_utf8_tail(std::string_view bytes);

// Unicode White_Space, the set Rust's char::is_whitespace and regex `\s` use.
bool is_white_space(char32_t c);

// Rust regex `\w` (Unicode word character): letters, marks, decimal digits, connector punctuation,
// letter numbers and the joiners.
bool is_word_char(char32_t c);

}  // namespace ascent::tok
