#include "ui/code_highlight.h"

#include <algorithm>
#include <iterator>
#include <cctype>
#include <string>

namespace ascent::ui {

namespace {

bool hash_comments(std::string_view lang) {
    static constexpr std::string_view kHash[] = {"python", "py",   "sh",     "bash", "shell", "zsh",
                                                            "ruby",   "rb",   "yaml",   "yml",  "toml",  "perl",
                                                            "r",      "make", "cmake",  "dockerfile"};
    return std::find(std::begin(kHash), std::end(kHash), lang) != std::end(kHash);
}

bool dash_comments(std::string_view lang) { return lang == "sql" || lang == "lua" || lang == "haskell" || lang == "hs"; }

bool is_keyword(std::string_view w) {
    static constexpr std::string_view kWords[] = {
        "if",     "else",   "elif",     "for",     "while",   "do",       "return", "break",   "continue", "switch",
        "case",   "match",  "default",  "def",     "class",   "struct",   "enum",   "union",   "fn",       "func",
        "function", "let",  "const",    "var",     "mut",     "static",   "pub",    "import",  "from",     "export",
        "use",    "package", "include", "namespace", "public", "private", "protected", "new", "delete",   "try",
        "catch",  "except", "finally",  "raise",   "throw",   "async",    "await",  "yield",   "lambda",   "with",
        "as",     "in",     "not",      "and",     "or",      "is",       "true",   "false",   "True",     "False",
        "None",   "null",   "nullptr",  "nil",     "self",    "this",     "void",   "int",     "auto",     "impl",
        "trait",  "type"};
    return std::find(std::begin(kWords), std::end(kWords), w) != std::end(kWords);
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::vector<StyleRun> highlight_code(std::string_view line, std::string_view language) {
    std::string lang(language);
    std::transform(lang.begin(), lang.end(), lang.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool hash = hash_comments(lang);
    const bool dash = dash_comments(lang);
    std::vector<StyleRun> runs;
    auto mark = [&](size_t at, Style s) {
        if (!runs.empty() && runs.back().begin == at) runs.back().style = s;
        else if (runs.empty() || runs.back().style != s) runs.push_back({at, s});
    };
    mark(0, Style::Code);
    size_t i = 0;
    while (i < line.size()) {
        const char c = line[i];
        const bool comment = (c == '/' && i + 1 < line.size() && line[i + 1] == '/' && !hash) || (c == '#' && hash) ||
                             (c == '-' && dash && i + 1 < line.size() && line[i + 1] == '-');
        if (comment) {
            mark(i, Style::CodeComment);
            return runs;
        }
        if (c == '"' || c == '\'' || c == '`') {
            mark(i, Style::CodeString);
            size_t j = i + 1;
            while (j < line.size() && line[j] != c) j += line[j] == '\\' ? 2 : 1;
            i = std::min(line.size(), j + 1);
            mark(i, Style::Code);
            continue;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) && (i == 0 || !ident_char(line[i - 1]))) {
            size_t j = i;
            while (j < line.size() && (ident_char(line[j]) || line[j] == '.')) ++j;
            mark(i, Style::CodeNumber);
            mark(j, Style::Code);
            i = j;
            continue;
        }
        if (ident_char(c)) {
            size_t j = i;
            while (j < line.size() && ident_char(line[j])) ++j;
            if (is_keyword(line.substr(i, j - i))) {
                mark(i, Style::CodeKeyword);
                mark(j, Style::Code);
            }
            i = j;
            continue;
        }
        ++i;
    }
    return runs;
}

}  // namespace ascent::ui
