#include "ui/transcript.h"

#include <fmt/format.h>

#include <algorithm>

#include "ui/code_highlight.h"
#include "ui/text_width.h"

namespace ascent::ui {

namespace {

constexpr int kBodyIndent = 2;
const std::string kCodeBar = "│ ";

std::string_view trim_trailing_newlines(std::string_view s) {
    while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    return s;
}

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

void append_wrapped(std::vector<StyledLine>& out, const std::string& text, Style style, int width, int indent) {
    for (auto& l : wrap_styled(text, {{0, style}}, width, indent)) out.push_back(std::move(l));
}

// A row of a two-column table ("  /save FILE       save ..."): kept as it is when it fits, else
// the second column wraps under itself so nothing is cut off.
void append_table_row(std::vector<StyledLine>& out, const std::string& row, Style style, int width) {
    if (display_width(row) <= width) {
        StyledLine l(row, style);
        l.preformatted = true;
        out.push_back(std::move(l));
        return;
    }
    const size_t key = row.find_first_not_of(' ');
    const size_t gap = key == std::string::npos ? std::string::npos : row.find("  ", key);
    const size_t desc = gap == std::string::npos ? std::string::npos : row.find_first_not_of(' ', gap);
    int hang = desc == std::string::npos ? 0 : display_width(row.substr(0, desc));
    if (hang > width / 2) hang = std::min(4, width / 2);
    const std::string head = desc == std::string::npos || hang != display_width(row.substr(0, desc)) ? "" : row.substr(0, desc);
    const std::string body = head.empty() ? row : row.substr(desc);
    const auto parts = wrap_lines(body, std::max(1, width - (head.empty() ? 0 : hang)));
    for (size_t i = 0; i < parts.size(); ++i) {
        std::string text = body.substr(parts[i].begin, parts[i].end - parts[i].begin);
        if (!head.empty()) text = (i == 0 ? head : std::string(static_cast<size_t>(hang), ' ')) + text;
        StyledLine l(text, style);
        l.preformatted = true;
        out.push_back(std::move(l));
    }
}

int count_words(std::string_view s) {
    int n = 0;
    bool in_word = false;
    for (char c : s) {
        const bool space = c == ' ' || c == '\n' || c == '\t';
        if (!space && !in_word) ++n;
        in_word = !space;
    }
    return n;
}

// Markdown as far as a terminal needs it: paragraphs wrap, ``` fences become highlighted code
// blocks with a bar on the left (and are kept whole while the answer streams in).
void render_markdown(std::vector<StyledLine>& out, std::string_view text, Style base, int width, int indent) {
    std::string paragraph;
    auto flush = [&] {
        if (paragraph.empty()) return;
        paragraph.pop_back();  // the '\n' after its last line
        append_wrapped(out, paragraph, base, width, indent);
        paragraph.clear();
    };
    bool in_code = false;
    std::string language;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        const std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        const auto t = trim_left(line);
        if (t.starts_with("```") || t.starts_with("~~~")) {
            flush();
            if (!in_code) {
                language = std::string(trim_left(t.substr(3)));
                out.emplace_back(language.empty() ? "╭─" : "╭─ " + language, Style::CodeFence, indent);
            } else {
                out.emplace_back("╰─", Style::CodeFence, indent);
            }
            in_code = !in_code;
            continue;
        }
        if (!in_code) {
            paragraph += line;
            paragraph += '\n';
            continue;
        }
        const std::string code(line);
        const auto runs = highlight_code(code, language);
        const int code_width = std::max(1, width - indent - display_width(kCodeBar));
        for (const auto& r : wrap_lines(code, code_width)) {
            StyledLine l(kCodeBar, Style::CodeFence, indent);
            for (auto run : slice_runs(runs, r.begin, r.end)) {
                run.begin += kCodeBar.size();
                l.runs.push_back(run);
            }
            l.text += code.substr(r.begin, r.end - r.begin);
            l.fill = true;
            out.push_back(std::move(l));
        }
    }
    flush();
}

}  // namespace

std::vector<StyledLine> render_entry(const Entry& e, int width, bool fold_reasoning) {
    std::vector<StyledLine> out;
    width = std::max(width, 8);
    switch (e.kind) {
    case Entry::Kind::User: {
        out.emplace_back("You", Style::UserLabel);
        append_wrapped(out, sanitize_for_display(trim_trailing_newlines(e.text)), Style::User, width, kBodyIndent);
        break;
    }
    case Entry::Kind::Assistant: {
        StyledLine label("Assistant", Style::AssistantLabel);
        if (!e.footer.empty()) label.append("  " + e.footer, Style::Meta);
        else if (e.streaming && e.text.empty() && e.reasoning.empty()) label.append("  …", Style::Meta);
        label.preformatted = true;
        out.push_back(std::move(label));
        if (!e.reasoning.empty()) {
            const auto reasoning = sanitize_for_display(trim_trailing_newlines(e.reasoning));
            if (fold_reasoning) {
                StyledLine l(fmt::format("▸ {} · {} words (F4 unfolds)", e.streaming && e.text.empty() ? "thinking" : "thought",
                                         count_words(reasoning)),
                             Style::ReasoningLabel, kBodyIndent);
                l.preformatted = true;
                out.push_back(std::move(l));
            } else {
                out.emplace_back("▾ thinking", Style::ReasoningLabel, kBodyIndent);
                append_wrapped(out, reasoning, Style::Reasoning, width, kBodyIndent + 2);
            }
        }
        if (!e.text.empty())
            render_markdown(out, sanitize_for_display(trim_trailing_newlines(e.text)), Style::Assistant, width, kBodyIndent);
        break;
    }
    case Entry::Kind::Notice:
    case Entry::Kind::Error: {
        const Style s = e.kind == Entry::Kind::Error ? Style::Error : Style::Notice;
        const auto text = sanitize_for_display(trim_trailing_newlines(e.kind == Entry::Kind::Error ? "error: " + e.text : e.text));
        if (e.preformatted) {
            size_t pos = 0;
            while (pos <= text.size()) {
                size_t nl = text.find('\n', pos);
                if (nl == std::string::npos) nl = text.size();
                append_table_row(out, text.substr(pos, nl - pos), s, width);
                pos = nl + 1;
            }
        } else {
            append_wrapped(out, text, s, width, 0);
        }
        break;
    }
    case Entry::Kind::Pad: {
        std::string text;
        std::vector<StyleRun> runs;
        for (const auto& seg : e.pad) {
            runs.push_back({text.size(), seg.by_user ? Style::PadUser : Style::PadModel});
            text += sanitize_for_display(seg.text);
        }
        for (auto& l : wrap_styled(text, runs, width, 0)) out.push_back(std::move(l));
        break;
    }
    }
    return out;
}

size_t Transcript::add(Entry e) {
    entries_.push_back(Cached{std::move(e)});
    return entries_.size() - 1;
}

Entry& Transcript::edit(size_t i) {
    ++entries_[i].version;
    return entries_[i].entry;
}

void Transcript::remove_from(size_t i) {
    if (i >= entries_.size()) return;
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i), entries_.end());
    removed_from_ = std::min(i, removed_from_.value_or(i));
}

void Transcript::clear() {
    entries_.clear();
    removed_from_ = 0;
}

std::optional<size_t> Transcript::take_removed_from() {
    auto r = removed_from_;
    removed_from_.reset();
    return r;
}

void Transcript::set_fold_reasoning(bool fold) { fold_ = fold; }

const std::vector<StyledLine>& Transcript::rendered(Cached& c, int width) {
    if (c.rendered_version != c.version || c.rendered_width != width || c.rendered_fold != fold_) {
        c.lines = render_entry(c.entry, width, fold_);
        c.rendered_version = c.version;
        c.rendered_width = width;
        c.rendered_fold = fold_;
    }
    return c.lines;
}

int Transcript::line_count(int width) {
    int n = 0;
    for (auto& c : entries_) n += static_cast<int>(rendered(c, width).size());
    if (!entries_.empty()) n += static_cast<int>(entries_.size()) - 1;
    return n;
}

std::vector<StyledLine> Transcript::lines(int width, int first, int count) {
    std::vector<StyledLine> out;
    int at = 0;  // index of the next line in the whole rendering
    for (size_t i = 0; i < entries_.size() && static_cast<int>(out.size()) < count; ++i) {
        if (i > 0) {
            if (at >= first) out.emplace_back();
            ++at;
        }
        const auto& ls = rendered(entries_[i], width);
        const int n = static_cast<int>(ls.size());
        if (at + n <= first) {
            at += n;
            continue;
        }
        for (int k = std::max(0, first - at); k < n && static_cast<int>(out.size()) < count; ++k) out.push_back(ls[static_cast<size_t>(k)]);
        at += n;
    }
    return out;
}

std::vector<StyledLine> Transcript::all_lines(int width) { return lines(width, 0, line_count(width)); }

}  // namespace ascent::ui
