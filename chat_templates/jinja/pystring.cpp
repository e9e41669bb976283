#include "chat_templates/jinja/pystring.h"

#include <algorithm>

#include "chat_templates/jinja/unicode.h"
#include "chat_templates/jinja/value.h"

namespace ascent::templates::jinja {

namespace {

// Byte offset and length of the code point that ends right before byte `end`.
std::size_t previous_start(std::string_view s, std::size_t end) {
    std::size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    return start;
}

bool space_at(std::string_view s, std::size_t i, std::size_t* next) {
    std::size_t j = i;
    if (!is_space(decode_utf8(s, j))) return false;
    *next = j;
    return true;
}

bool is_cased(std::uint32_t cp) { return is_upper_cp(cp) || is_lower_cp(cp); }

bool is_line_break(std::uint32_t cp) {
    return cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C || cp == 0x1D || cp == 0x1E ||
           cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

}  // namespace

std::vector<std::string> py_split(std::string_view s, const std::optional<std::string_view>& sep, std::int64_t maxsplit) {
    std::vector<std::string> out;
    if (sep) {
        if (sep->empty()) fail("empty separator");
        std::size_t start = 0;
        while (maxsplit < 0 || static_cast<std::int64_t>(out.size()) < maxsplit) {
            std::size_t hit = s.find(*sep, start);
            if (hit == std::string_view::npos) break;
            out.emplace_back(s.substr(start, hit - start));
            start = hit + sep->size();
        }
        out.emplace_back(s.substr(start));
        return out;
    }
    std::size_t i = 0, next;
    while (i < s.size()) {
        while (i < s.size() && space_at(s, i, &next)) i = next;
        if (i >= s.size()) break;
        if (maxsplit >= 0 && static_cast<std::int64_t>(out.size()) >= maxsplit) {
            out.emplace_back(s.substr(i));  // the rest, trailing whitespace kept
            return out;
        }
        std::size_t start = i;
        while (i < s.size() && !space_at(s, i, &next)) decode_utf8(s, i);
        out.emplace_back(s.substr(start, i - start));
    }
    return out;
}

std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string_view>& sep, std::int64_t maxsplit) {
    std::vector<std::string> out;
    if (sep) {
        if (sep->empty()) fail("empty separator");
        std::size_t end = s.size();
        while (maxsplit < 0 || static_cast<std::int64_t>(out.size()) < maxsplit) {
            if (end < sep->size()) break;
            std::size_t hit = s.rfind(*sep, end - sep->size());
            if (hit == std::string_view::npos) break;
            out.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
            end = hit;
        }
        out.emplace_back(s.substr(0, end));
        std::reverse(out.begin(), out.end());
        return out;
    }
    std::size_t end = s.size();
    auto space_before = [&](std::size_t e) {
        std::size_t start = previous_start(s, e);
        std::size_t probe = start;
        return is_space(decode_utf8(s, probe));
    };
    while (end > 0) {
        while (end > 0 && space_before(end)) end = previous_start(s, end);
        if (end == 0) break;
        if (maxsplit >= 0 && static_cast<std::int64_t>(out.size()) >= maxsplit) {
            out.emplace_back(s.substr(0, end));
            break;
        }
        std::size_t start = end;
        while (start > 0 && !space_before(start)) start = previous_start(s, start);
        out.emplace_back(s.substr(start, end - start));
        end = start;
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<std::string> py_splitlines(std::string_view s, bool keepends) {
    std::vector<std::string> out;
    std::size_t start = 0, i = 0;
    while (i < s.size()) {
        std::size_t at = i;
        std::uint32_t cp = decode_utf8(s, i);
        if (!is_line_break(cp)) continue;
        if (cp == '\r' && i < s.size() && s[i] == '\n') ++i;
        out.emplace_back(s.substr(start, (keepends ? i : at) - start));
        start = i;
    }
    if (start < s.size()) out.emplace_back(s.substr(start));
    return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view replacement, std::int64_t count) {
    std::string out;
    std::int64_t done = 0;
    if (old.empty()) {
        // Python inserts the replacement around every character.
        std::size_t i = 0;
        while (i <= s.size()) {
            if (count < 0 || done < count) {
                out += replacement;
                ++done;
            }
            if (i == s.size()) break;
            std::size_t start = i;
            decode_utf8(s, i);
            out.append(s, start, i - start);
        }
        return out;
    }
    std::size_t start = 0;
    while (count < 0 || done < count) {
        std::size_t hit = s.find(old, start);
        if (hit == std::string_view::npos) break;
        out.append(s, start, hit - start);
        out += replacement;
        start = hit + old.size();
        ++done;
    }
    out.append(s, start);
    return out;
}

std::int64_t py_count(std::string_view s, std::string_view sub) {
    if (sub.empty()) return static_cast<std::int64_t>(utf8_length(s)) + 1;
    std::int64_t n = 0;
    for (std::size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size())) ++n;
    return n;
}

std::int64_t py_find(std::string_view s, std::string_view sub, std::optional<std::int64_t> start,
                     std::optional<std::int64_t> end, bool reverse) {
    auto offsets = code_point_offsets(s);
    auto len = static_cast<std::int64_t>(offsets.size() - 1);
    auto clamp = [&](std::optional<std::int64_t> v, std::int64_t fallback) {
        if (!v) return fallback;
        std::int64_t i = *v;
        if (i < 0) i = std::max<std::int64_t>(0, i + len);
        return std::min(i, len);
    };
    std::int64_t b = clamp(start, 0), e = clamp(end, len);
    if (b > e) return -1;
    std::string_view window = s.substr(offsets[static_cast<std::size_t>(b)],
                                       offsets[static_cast<std::size_t>(e)] - offsets[static_cast<std::size_t>(b)]);
    std::size_t hit = reverse ? window.rfind(sub) : window.find(sub);
    if (hit == std::string_view::npos) return -1;
    return b + static_cast<std::int64_t>(utf8_length(window.substr(0, hit)));
}

std::string py_capitalize(std::string_view s) {
    std::string out;
    bool first = true;
    for (std::size_t i = 0; i < s.size();) {
        std::uint32_t cp = decode_utf8(s, i);
        append_utf8(out, first ? to_upper_cp(cp) : to_lower_cp(cp));
        first = false;
    }
    return out;
}

std::string py_title(std::string_view s) {
    std::string out;
    bool previous_cased = false;
    for (std::size_t i = 0; i < s.size();) {
        std::uint32_t cp = decode_utf8(s, i);
        append_utf8(out, previous_cased ? to_lower_cp(cp) : to_upper_cp(cp));
        previous_cased = is_cased(cp);
    }
    return out;
}

std::string py_swapcase(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        std::uint32_t cp = decode_utf8(s, i);
        append_utf8(out, is_upper_cp(cp) ? to_lower_cp(cp) : to_upper_cp(cp));
    }
    return out;
}

std::string py_pad(std::string_view s, std::int64_t width, std::string_view fill, char align) {
    auto len = static_cast<std::int64_t>(utf8_length(s));
    if (width <= len) return std::string(s);
    std::int64_t margin = width - len;
    std::int64_t left = 0;
    if (align == '>') left = margin;
    else if (align == '^') left = margin / 2 + (margin & width & 1);  // CPython's str.center
    std::string out;
    for (std::int64_t k = 0; k < left; ++k) out += fill;
    out += s;
    for (std::int64_t k = 0; k < margin - left; ++k) out += fill;
    return out;
}

std::string py_zfill(std::string_view s, std::int64_t width) {
    auto len = static_cast<std::int64_t>(utf8_length(s));
    if (width <= len) return std::string(s);
    std::string out;
    std::string_view rest = s;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        out += s[0];
        rest = s.substr(1);
    }
    out.append(static_cast<std::size_t>(width - len), '0');
    out += rest;
    return out;
}

bool py_is(std::string_view s, CharClass c) {
    if (c == CharClass::Ascii) return is_ascii(s);
    if (s.empty()) return false;
    bool any_cased = false;
    bool previous_cased = false;
    for (std::size_t i = 0; i < s.size();) {
        std::uint32_t cp = decode_utf8(s, i);
        switch (c) {
        case CharClass::Alpha:
            if (!is_alpha(cp)) return false;
            break;
        case CharClass::Digit:
            if (!is_digit(cp)) return false;
            break;
        case CharClass::Alnum:
            if (!is_alpha(cp) && !is_digit(cp)) return false;
            break;
        case CharClass::Space:
            if (!is_space(cp)) return false;
            break;
        case CharClass::Lower:
            if (is_upper_cp(cp)) return false;
            any_cased = any_cased || is_lower_cp(cp);
            break;
        case CharClass::Upper:
            if (is_lower_cp(cp)) return false;
            any_cased = any_cased || is_upper_cp(cp);
            break;
        case CharClass::Title:
            if (is_upper_cp(cp)) {
                if (previous_cased) return false;
                any_cased = true;
            } else if (is_lower_cp(cp) && !previous_cased) {
                return false;
            }
            previous_cased = is_cased(cp);
            break;
        case CharClass::Ascii: break;
        }
    }
    if (c == CharClass::Lower || c == CharClass::Upper || c == CharClass::Title) return any_cased;
    return true;
}

}  // namespace ascent::templates::jinja
