#pragma once
// Python str semantics over UTF-8 bytes: lengths, indexes and slices count code points,
// strip/split know Unicode whitespace. Case mapping and character classes cover
// ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic, Armenian and fullwidth Latin,
// which is what chat templates meet (role names, JSON type names).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ascent::templates::jinja {

bool is_valid_utf8(std::string_view s);
bool is_ascii(std::string_view s);
std::size_t utf8_length(std::string_view s);
// Decodes the code point starting at byte i and advances i past it. Input must be valid UTF-8.
std::uint32_t decode_utf8(std::string_view s, std::size_t& i);
void append_utf8(std::string& out, std::uint32_t cp);
std::vector<std::uint32_t> to_code_points(std::string_view s);
// Byte offset of every code point, plus s.size() at the end.
std::vector<std::size_t> code_point_offsets(std::string_view s);

bool is_space(std::uint32_t cp);       // str.isspace
bool is_printable(std::uint32_t cp);   // str.isprintable
bool is_alpha(std::uint32_t cp);
bool is_digit(std::uint32_t cp);
bool is_upper_cp(std::uint32_t cp);
bool is_lower_cp(std::uint32_t cp);
std::uint32_t to_upper_cp(std::uint32_t cp);
std::uint32_t to_lower_cp(std::uint32_t cp);

std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);

enum class StripSide { Left, Right, Both };
// str.strip / lstrip / rstrip; chars = nullopt strips whitespace.
std::string_view strip(std::string_view s, const std::optional<std::string_view>& chars, StripSide side);

}  // namespace ascent::templates::jinja
