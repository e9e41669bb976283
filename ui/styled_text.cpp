#include "ui/styled_text.h"

#include <algorithm>

#include "ui/text_width.h"

namespace ascent::ui {

std::vector<StyleRun> slice_runs(const std::vector<StyleRun>& runs, size_t begin, size_t end) {
    std::vector<StyleRun> out;
    Style current = Style::Normal;
    for (const auto& r : runs) {
        if (r.begin <= begin) {
            current = r.style;
            continue;
        }
        if (r.begin >= end) break;
        if (out.empty()) out.push_back({0, current});
        out.push_back({r.begin - begin, r.style});
    }
    if (out.empty()) out.push_back({0, current});
    return out;
}

std::vector<StyledLine> wrap_styled(const std::string& text, const std::vector<StyleRun>& runs, int width,
                                    int indent) {
    std::vector<StyledLine> out;
    for (const auto& r : wrap_lines(text, std::max(1, width - indent))) {
        StyledLine l;
        l.text = text.substr(r.begin, r.end - r.begin);
        l.runs = slice_runs(runs, r.begin, r.end);
        l.indent = indent;
        out.push_back(std::move(l));
    }
    return out;
}

}  // namespace ascent::ui
