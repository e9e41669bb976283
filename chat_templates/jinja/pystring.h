#pragma once
// Python str methods over UTF-8 text, with Python's edge cases (split() without a
// separator drops empty parts, splitlines() knows every line boundary, indexes
// count code points).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ascent::templates::jinja {

std::vector<std::string> py_split(std::string_view s, const std::optional<std::string_view>& sep, std::int64_t maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string_view>& sep, std::int64_t maxsplit);
std::vector<std::string> py_splitlines(std::string_view s, bool keepends);
std::string py_replace(std::string_view s, std::string_view old, std::string_view replacement, std::int64_t count);
std::int64_t py_count(std::string_view s, std::string_view sub);
// str.find / str.rfind with optional code point bounds; -1 when absent.
std::int64_t py_find(std::string_view s, std::string_view sub, std::optional<std::int64_t> start,
                     std::optional<std::int64_t> end, bool reverse);
std::string py_capitalize(std::string_view s);
std::string py_title(std::string_view s);
std::string py_swapcase(std::string_view s);
std::string py_pad(std::string_view s, std::int64_t width, std::string_view fill, char align);  // '<', '>', '^'
std::string py_zfill(std::string_view s, std::int64_t width);

enum class CharClass { Alpha, Digit, Alnum, Space, Lower, Upper, Title, Ascii };
bool py_is(std::string_view s, CharClass c);

}  // namespace ascent::templates::jinja
