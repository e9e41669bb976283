#include "chat_templates/jinja/unicode.h"

#include <algorithm>

namespace ascent::templates::jinja {

bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= s.size()) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        static constexpr std::uint32_t min_for_length[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    return n;
}

std::uint32_t decode_utf8(std::string_view s, std::size_t& i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
        ++i;
        return c;
    }
    std::size_t n = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : 3;
    std::uint32_t cp = c & (n == 1 ? 0x1F : n == 2 ? 0x0F : 0x07);
    for (std::size_t k = 1; k <= n && i + k < s.size(); ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += n + 1;
    return cp;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::vector<std::uint32_t> to_code_points(std::string_view s) {
    std::vector<std::uint32_t> out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) out.push_back(decode_utf8(s, i));
    return out;
}

std::vector<std::size_t> code_point_offsets(std::string_view s) {
    std::vector<std::size_t> out;
    out.reserve(s.size() + 1);
    for (std::size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
    out.push_back(s.size());
    return out;
}

bool is_space(std::uint32_t cp) {
    if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool is_printable(std::uint32_t cp) {
    // Python counts control, format, separator (other than ' '), surrogate and
    // private-use characters as not printable; repr() escapes them.
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) return false;
    if (cp < 0x600) return true;
    if ((cp >= 0x600 && cp <= 0x605) || cp == 0x61C || cp == 0x6DD || cp == 0x70F) return false;
    if (cp == 0x1680 || cp == 0x180E) return false;
    if ((cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x2064) ||
        (cp >= 0x2066 && cp <= 0x206F))
        return false;
    if (cp == 0x3000 || (cp >= 0xD800 && cp <= 0xF8FF) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB) ||
        cp == 0xFFFE || cp == 0xFFFF)
        return false;
    if (cp == 0xE0001 || (cp >= 0xE0020 && cp <= 0xE007F) || cp >= 0xF0000) return false;
    return true;
}

namespace {

// Ranges where upper and lower case letters alternate: even code point upper, odd lower
// (or the reverse when `odd_upper`).
struct AlternatingRange {
    std::uint32_t first, last;
    bool odd_upper;
};
constexpr AlternatingRange alternating[] = {
    {0x100, 0x12F, false}, {0x132, 0x137, false}, {0x139, 0x148, true}, {0x14A, 0x177, false},
    {0x179, 0x17E, true},  {0x460, 0x481, false}, {0x48A, 0x4BF, false}, {0x4D0, 0x52F, false},
};

// Ranges of upper case letters whose lower case is at a fixed offset.
struct OffsetRange {
    std::uint32_t first, last;
    std::uint32_t offset;
};
constexpr OffsetRange offset_ranges[] = {
    {0x41, 0x5A, 0x20},     {0xC0, 0xD6, 0x20},     {0xD8, 0xDE, 0x20},   {0x391, 0x3A1, 0x20},
    {0x3A3, 0x3AB, 0x20},   {0x388, 0x38A, 0x25},   {0x410, 0x42F, 0x20}, {0x400, 0x40F, 0x50},
    {0x531, 0x556, 0x30},   {0xFF21, 0xFF3A, 0x20},
};

const AlternatingRange* find_alternating(std::uint32_t cp) {
    for (const auto& r : alternating)
        if (cp >= r.first && cp <= r.last) return &r;
    return nullptr;
}

}  // namespace

std::uint32_t to_lower_cp(std::uint32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 0x20 : cp;
    for (const auto& r : offset_ranges)
        if (cp >= r.first && cp <= r.last) return cp + r.offset;
    if (const auto* r = find_alternating(cp)) {
        bool upper = ((cp & 1) != 0) == r->odd_upper;
        return upper ? cp + 1 : cp;
    }
    switch (cp) {
    case 0x178: return 0xFF;
    case 0x386: return 0x3AC;
    case 0x38C: return 0x3CC;
    case 0x38E: return 0x3CD;
    case 0x38F: return 0x3CE;
    default: return cp;
    }
}

std::uint32_t to_upper_cp(std::uint32_t cp) {
    if (cp < 0x80) return (cp >= 'a' && cp <= 'z') ? cp - 0x20 : cp;
    for (const auto& r : offset_ranges)
        if (cp >= r.first + r.offset && cp <= r.last + r.offset) return cp - r.offset;
    if (const auto* r = find_alternating(cp)) {
        bool upper = ((cp & 1) != 0) == r->odd_upper;
        return upper ? cp : cp - 1;
    }
    switch (cp) {
    case 0xB5: return 0x39C;
    case 0xFF: return 0x178;
    case 0x131: return 'I';
    case 0x17F: return 'S';
    case 0x3C2: return 0x3A3;
    case 0x3AC: return 0x386;
    case 0x3CC: return 0x38C;
    case 0x3CD: return 0x38E;
    case 0x3CE: return 0x38F;
    default: return cp;
    }
}

bool is_upper_cp(std::uint32_t cp) { return to_lower_cp(cp) != cp; }
bool is_lower_cp(std::uint32_t cp) { return to_upper_cp(cp) != cp || cp == 0xDF; }

bool is_alpha(std::uint32_t cp) {
    if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    if (is_upper_cp(cp) || is_lower_cp(cp)) return true;
    // Letters without case: CJK, kana, Hangul, Arabic, Hebrew, Indic scripts.
    return (cp >= 0x5D0 && cp <= 0x5EA) || (cp >= 0x620 && cp <= 0x64A) || (cp >= 0x900 && cp <= 0x939) ||
           (cp >= 0x3041 && cp <= 0x30FF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) ||
           (cp >= 0xAC00 && cp <= 0xD7A3);
}

bool is_digit(std::uint32_t cp) { return cp >= '0' && cp <= '9'; }

static std::string map_case(std::string_view s, bool upper) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            char m = static_cast<char>(c);
            if (upper && c >= 'a' && c <= 'z') m = static_cast<char>(c - 0x20);
            if (!upper && c >= 'A' && c <= 'Z') m = static_cast<char>(c + 0x20);
            out += m;
            ++i;
            continue;
        }
        std::uint32_t cp = decode_utf8(s, i);
        if (upper && cp == 0xDF) {  // German sharp s has no single upper case letter
            out += "SS";
            continue;
        }
        append_utf8(out, upper ? to_upper_cp(cp) : to_lower_cp(cp));
    }
    return out;
}

std::string to_upper(std::string_view s) { return map_case(s, true); }
std::string to_lower(std::string_view s) { return map_case(s, false); }

std::string_view strip(std::string_view s, const std::optional<std::string_view>& chars, StripSide side) {
    std::vector<std::uint32_t> set;
    if (chars) set = to_code_points(*chars);
    auto strippable = [&](std::uint32_t cp) {
        if (!chars) return is_space(cp);
        return std::find(set.begin(), set.end(), cp) != set.end();
    };
    std::size_t begin = 0;
    std::size_t end = s.size();
    if (side != StripSide::Right) {
        while (begin < end) {
            std::size_t next = begin;
            if (!strippable(decode_utf8(s, next))) break;
            begin = next;
        }
    }
    if (side != StripSide::Left) {
        while (end > begin) {
            std::size_t start = end - 1;
            while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
            std::size_t probe = start;
            if (!strippable(decode_utf8(s, probe))) break;
            end = start;
        }
    }
    return s.substr(begin, end - begin);
}

}  // namespace ascent::templates::jinja
