#include "ui/text_width.h"

#include <utf8proc.h>

namespace ascent::ui {

namespace {

constexpr char32_t kZwj = 0x200D;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Decodes the code point at s[i]; returns its length in bytes, or -1 for an invalid sequence.
int next_code_point(std::string_view s, size_t i, utf8proc_int32_t& cp) {
    auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                              static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    return n > 0 ? static_cast<int>(n) : -1;
}

void append_utf8(std::string& out, utf8proc_int32_t cp) {
    utf8proc_uint8_t buf[4];
    auto n = utf8proc_encode_char(cp, buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

bool is_space(std::string_view c) { return c == " " || c == "\t"; }

}  // namespace

std::string sanitize_for_display(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        utf8proc_int32_t cp = 0;
        const int n = next_code_point(text, i, cp);
        if (n < 0) {
            out += kReplacement;
            ++i;
            continue;
        }
        i += static_cast<size_t>(n);
        if (cp == '\r') continue;  // "\r\n" keeps its '\n'; a lone CR would move the cursor
        const bool control = (cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7F && cp < 0xA0);
        if (control) out += kReplacement;
        else append_utf8(out, cp);
    }
    return out;
}

std::vector<std::string_view> grapheme_clusters(std::string_view text) {
    std::vector<std::string_view> out;
    utf8proc_int32_t state = 0, prev = -1;
    size_t start = 0;
    for (size_t i = 0; i < text.size();) {
        utf8proc_int32_t cp = 0;
        int n = next_code_point(text, i, cp);
        if (n < 0) {  // not valid UTF-8: the byte stands alone
            if (i > start) out.push_back(text.substr(start, i - start));
            out.push_back(text.substr(i, 1));
            start = ++i;
            prev = -1;
            state = 0;
            continue;
        }
        if (prev >= 0 && utf8proc_grapheme_break_stateful(prev, cp, &state)) {
            out.push_back(text.substr(start, i - start));
            start = i;
        }
        prev = cp;
        i += static_cast<size_t>(n);
    }
    if (start < text.size()) out.push_back(text.substr(start));
    return out;
}

int cluster_width(std::string_view cluster) {
    if (cluster == "\t") return 1;
    int w = 0;
    for (size_t i = 0; i < cluster.size();) {
        utf8proc_int32_t cp = 0;
        const int n = next_code_point(cluster, i, cp);
        if (n < 0) return 1;  // shown as U+FFFD
        w += utf8proc_charwidth(cp);
        i += static_cast<size_t>(n);
    }
    return w;
}

int display_width(std::string_view text, int tab_width) {
    int col = 0;
    for (auto c : grapheme_clusters(text)) col += c == "\t" ? tab_width - col % tab_width : cluster_width(c);
    return col;
}

std::vector<std::u32string> display_parts(std::string_view cluster) {
    std::vector<std::u32string> parts;
    for (size_t i = 0; i < cluster.size();) {
        utf8proc_int32_t cp = 0;
        const int n = next_code_point(cluster, i, cp);
        if (n < 0) {
            parts.push_back(U"\uFFFD");
            ++i;
            continue;
        }
        i += static_cast<size_t>(n);
        if (utf8proc_charwidth(cp) > 0) parts.emplace_back(1, static_cast<char32_t>(cp));
        else if (cp != kZwj && !parts.empty()) parts.back() += static_cast<char32_t>(cp);
    }
    return parts;
}

std::vector<LineRange> wrap_lines(std::string_view text, int width, int tab_width) {
    if (width < 1) width = 1;
    std::vector<LineRange> lines;
    size_t line_begin = 0;
    int col = 0;
    // The last place on this line where it may break: the line would end at `end` (its columns:
    // `cols`) and the next one start at `next`.
    struct Break {
        bool valid = false;
        size_t end = 0, next = 0;
        int cols = 0;
    } bk;
    size_t space_run = 0;    // where the current run of spaces began
    int space_run_col = 0;
    bool in_spaces = false;
    bool swallowing = false;  // after a break at a space, the rest of that space run goes too

    auto new_line = [&](size_t end, int cols, size_t next) {
        lines.push_back({line_begin, end, cols});
        line_begin = next;
        col = 0;
        bk = {};
        in_spaces = false;
    };

    for (auto c : grapheme_clusters(text)) {
        const size_t off = static_cast<size_t>(c.data() - text.data());
        const size_t after = off + c.size();
        if (c == "\n") {
            new_line(off, col, after);
            swallowing = false;
            continue;
        }
        if (is_space(c)) {
            if (swallowing) {
                line_begin = after;
                continue;
            }
            const int w = c == "\t" ? tab_width - col % tab_width : 1;
            if (col + w > width && col > 0) {
                new_line(in_spaces ? space_run : off, in_spaces ? space_run_col : col, after);
                swallowing = true;
                continue;
            }
            if (!in_spaces) {
                space_run = off;
                space_run_col = col;
                in_spaces = true;
            }
            col += w;
            bk = {true, space_run, after, space_run_col};
            continue;
        }
        swallowing = false;
        in_spaces = false;
        const int w = cluster_width(c);
        if (col + w > width && col > 0) {
            if (bk.valid && bk.next > line_begin && bk.next <= off) {
                const size_t next = bk.next;
                new_line(bk.end, bk.cols, next);
                col = display_width(text.substr(next, off - next), tab_width);
            }
            if (col + w > width && col > 0) new_line(off, col, off);  // a word wider than the line
        }
        if (w >= 2 && col > 0) bk = {true, off, off, col};  // may break before a wide character
        col += w;
        if (w >= 2) bk = {true, after, after, col};         // ... and after it
    }
    lines.push_back({line_begin, std::max(line_begin, text.size()), col});
    return lines;
}

std::string expand_tabs(std::string_view line, int tab_width) {
    std::string out;
    int col = 0;
    for (auto c : grapheme_clusters(line)) {
        if (c == "\t") {
            const int w = tab_width - col % tab_width;
            out.append(static_cast<size_t>(w), ' ');
            col += w;
        } else {
            out += c;
            col += cluster_width(c);
        }
    }
    return out;
}

std::string truncate_to_width(std::string_view text, int width) {
    if (width <= 0) return {};
    if (display_width(text) <= width) return std::string(text);
    std::string out;
    int col = 0;
    for (auto c : grapheme_clusters(text)) {
        const int w = cluster_width(c);
        if (col + w > width - 1) break;
        out += c;
        col += w;
    }
    return out + "…";
}

}  // namespace ascent::ui
