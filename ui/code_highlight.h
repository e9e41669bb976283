#pragma once
// A small line-by-line highlighter for fenced code blocks: comments, string literals, numbers
// and the keywords common to the languages small models write most. It only has to make code
// stand out and read well in a terminal, not parse it; a construct spanning lines (block
// comments, triple-quoted strings) is highlighted line by line.
#include <string_view>
#include <vector>
#include "ui/styled_text.h"

namespace ascent::ui {

// Runs over `line` (the first at 0) for a fence's language tag ("python", "cpp", "" ...).
std::vector<StyleRun> highlight_code(std::string_view line, std::string_view language);

}  // namespace ascent::ui
