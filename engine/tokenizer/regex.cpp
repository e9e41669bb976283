#include "engine/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "engine/error.h"
#include "engine/tokenizer/utf8.h"

namespace ascent::tok {

struct Regex::Code {
    pcre2_code* code = nullptr;
    ~Code() { pcre2_code_free(code); }
};

namespace {

std::string pcre2_message(int code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(code, buf, sizeof buf);
    return reinterpret_cast<const char*>(buf);
}

struct MatchData {
    pcre2_match_data* md;
    explicit MatchData(const pcre2_code* code) : md(pcre2_match_data_create_from_pattern(code, nullptr)) {
        if (!md) runtime_error("out of memory creating regex match data");
    }
    ~MatchData() { pcre2_match_data_free(md); }
    MatchData(const MatchData&) = delete;
    MatchData& operator=(const MatchData&) = delete;
};

}  // namespace

std::string onig_to_pcre2(std::string_view p) {
    std::string out;
    out.reserve(p.size() + 16);
    bool in_class = false;
    size_t i = 0;
    while (i < p.size()) {
        const char c = p[i];
        if (c == '\\' && i + 1 < p.size()) {
            const char e = p[i + 1];
            if (e == 's') out += in_class ? "\\s\\x{85}" : "[\\s\\x{85}]";
            else if (e == 'S' && !in_class) out += "[^\\s\\x{85}]";
            else out.append(p.substr(i, 2));
            i += 2;
            continue;
        }
        if (!in_class && c == '[') {
            in_class = true;
            out += c;
            ++i;
            // A ']' right after '[' or '[^' is a literal member, not the end of the class.
            if (i < p.size() && p[i] == '^') out += p[i++];
            if (i < p.size() && p[i] == ']') out += p[i++];
            continue;
        }
        if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
            const size_t close = p.find(":]", i + 2);
            if (close != std::string_view::npos) {
                out.append(p.substr(i, close + 2 - i));
                i = close + 2;
                continue;
            }
        }
        if (in_class && c == ']') in_class = false;
        out += c;
        ++i;
    }
    return out;
}

Regex::Regex(std::string_view pattern, std::string_view where) {
    const std::string translated = onig_to_pcre2(pattern);
    int err = 0;
    PCRE2_SIZE offset = 0;
    // MULTILINE: in Oniguruma's default (Ruby) syntax ^ and $ match at line breaks.
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &err, &offset, nullptr);
    if (!code)
        input_error("{}: regex \"{}\" does not compile: {} (at offset {})", where, std::string(pattern),
                    pcre2_message(err), offset);
    auto holder = std::make_shared<Code>();
    holder->code = code;
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional: without JIT the interpreter runs
    code_ = std::move(holder);
}

void Regex::find_all(std::string_view text, std::vector<Match>& out) const {
    MatchData data(code_->code);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    // Mirrors the iteration of the `onig` crate: an empty match right where the previous match
    // ended is refused and the search moves on by one character.
    size_t pos = 0;
    bool have_last = false;
    size_t last_end = 0;
    while (pos <= text.size()) {
        const uint32_t options = PCRE2_NO_UTF_CHECK;
        int rc = pcre2_match(code_->code, subject, text.size(), pos, options, data.md, nullptr);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)  // very long runs: let the interpreter use the heap
            rc = pcre2_match(code_->code, subject, text.size(), pos, options | PCRE2_NO_JIT, data.md, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) runtime_error("regex match failed: {}", pcre2_message(rc));
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.md);
        const size_t start = ov[0], end = ov[1];
        if (start == end && have_last && last_end == end) {
            pos += pos < text.size() ? utf8_step(text, pos).len : 1;
            continue;
        }
        out.push_back({start, end});
        pos = end;
        have_last = true;
        last_end = end;
    }
}

}  // namespace ascent::tok
