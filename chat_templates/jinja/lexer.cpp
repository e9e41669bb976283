#include "chat_templates/jinja/lexer.h"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "chat_templates/jinja/unicode.h"

namespace ascent::templates::jinja {

std::string normalize_newlines(std::string_view source) {
    std::string out;
    out.reserve(source.size());
    for (std::size_t i = 0; i < source.size(); ++i) {
        char c = source[i];
        if (c == '\r') {
            out += '\n';
            if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
        } else {
            out += c;
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

const char* op_spelling(Op op) {
    static constexpr const char* names[] = {"+", "-", "/", "//", "*", "%", "**", "~", "[", "]", "(", ")", "{",
                                            "}", "==", "!=", ">", ">=", "<", "<=", "=", ".", ":", "|", ",", ";"};
    return names[static_cast<int>(op)];
}

namespace {

bool is_digit_char(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool is_name_char(char c) { return is_name_start(c) || is_digit_char(c); }

// Maps byte offsets to line:column; offsets are asked for in increasing order.
class PositionTracker {
public:
    explicit PositionTracker(std::string_view s) : src_(s) {}

    SourcePos at(std::size_t offset) {
        if (offset < offset_) {  // rare: restart from the beginning
            offset_ = 0;
            line_ = 1;
            column_ = 1;
        }
        for (; offset_ < offset && offset_ < src_.size(); ++offset_) {
            char c = src_[offset_];
            if (c == '\n') {
                ++line_;
                column_ = 1;
            } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
                ++column_;
            }
        }
        return {line_, column_};
    }

private:
    std::string_view src_;
    std::size_t offset_ = 0;
    std::uint32_t line_ = 1;
    std::uint32_t column_ = 1;
};

class Lexer {
public:
    Lexer(std::string_view src, const std::string& name) : src_(src), name_(name), positions_(src) {}

    std::vector<Token> run() {
        while (pos_ < src_.size()) {
            if (!lex_root()) break;
        }
        Token eof;
        eof.type = TokenType::Eof;
        eof.pos = positions_.at(src_.size());
        tokens_.push_back(eof);
        return std::move(tokens_);
    }

private:
    std::string_view src_;
    const std::string& name_;
    PositionTracker positions_;
    std::vector<Token> tokens_;
    std::size_t pos_ = 0;
    // Whether the text consumed last ended with a newline; lstrip_blocks also strips
    // indentation before a tag when no newline separates it from the previous tag.
    bool line_starting_ = true;
    std::vector<char> balance_;

    [[noreturn]] void error(std::size_t offset, const std::string& message) {
        throw TemplateError(TemplateError::Kind::Syntax, message, name_, positions_.at(offset));
    }

    void emit(TokenType type, std::size_t offset, std::string text = {}) {
        Token t;
        t.type = type;
        t.pos = positions_.at(offset);
        t.text = std::move(text);
        tokens_.push_back(std::move(t));
    }

    bool space_at(std::size_t i, std::size_t* next) const {
        if (i >= src_.size()) return false;
        std::size_t j = i;
        std::uint32_t cp = decode_utf8(src_, j);
        if (!is_space(cp)) return false;
        *next = j;
        return true;
    }

    std::size_t skip_space(std::size_t i) const {
        std::size_t next;
        while (space_at(i, &next)) i = next;
        return i;
    }

    bool all_space(std::string_view text) const {
        for (std::size_t i = 0; i < text.size();) {
            if (!is_space(decode_utf8(text, i))) return false;
        }
        return !text.empty();
    }

    // Text before a tag, with `-` (strip all whitespace) or lstrip_blocks (strip the
    // indentation of a line that holds only the tag) applied.
    std::string_view strip_text(std::string_view text, char sign, bool is_variable) const {
        if (sign == '-') return strip(text, std::nullopt, StripSide::Right);
        if (sign == '+' || is_variable) return text;
        std::size_t nl = text.rfind('\n');
        std::size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
        if ((line_start > 0 || line_starting_) && all_space(text.substr(line_start)))
            return text.substr(0, line_start);
        return text;
    }

    // Matches a block end at i: "+%}", "-%}" plus following whitespace, or "%}" plus one
    // newline (trim_blocks). Returns the offset after it, or npos.
    std::size_t match_block_end(std::size_t i) const {
        if (src_.compare(i, 3, "+%}") == 0) return i + 3;
        if (src_.compare(i, 3, "-%}") == 0) return skip_space(i + 3);
        if (src_.compare(i, 2, "%}") == 0) {
            std::size_t end = i + 2;
            if (end < src_.size() && src_[end] == '\n') ++end;
            return end;
        }
        return std::string_view::npos;
    }

    std::size_t match_variable_end(std::size_t i) const {
        if (src_.compare(i, 3, "-}}") == 0) return skip_space(i + 3);
        if (src_.compare(i, 2, "}}") == 0) return i + 2;
        return std::string_view::npos;
    }

    // "{% raw %}" at i (with optional -/+ after "{%"); returns the offset after it.
    std::size_t match_raw_begin(std::size_t i) const {
        std::size_t k = i + 2;
        if (k < src_.size() && (src_[k] == '-' || src_[k] == '+')) ++k;
        k = skip_space(k);
        if (src_.compare(k, 3, "raw") != 0) return std::string_view::npos;
        k = skip_space(k + 3);
        if (src_.compare(k, 3, "-%}") == 0) return skip_space(k + 3);
        if (src_.compare(k, 2, "%}") == 0) return k + 2;
        return std::string_view::npos;
    }

    // Finds "{% endraw %}" from i. Sets begin (offset of "{%"), sign, end.
    bool find_raw_end(std::size_t i, std::size_t& begin, char& sign, std::size_t& end) const {
        for (std::size_t k = src_.find("{%", i); k != std::string_view::npos; k = src_.find("{%", k + 1)) {
            std::size_t j = k + 2;
            char s = 0;
            if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) s = src_[j++];
            j = skip_space(j);
            if (src_.compare(j, 6, "endraw") != 0) continue;
            j = skip_space(j + 6);
            std::size_t e = match_block_end(j);
            if (e == std::string_view::npos) continue;
            begin = k;
            sign = s;
            end = e;
            return true;
        }
        return false;
    }

    bool lex_root() {
        std::size_t t = pos_;
        for (;;) {
            t = src_.find('{', t);
            if (t == std::string_view::npos || t + 1 >= src_.size()) {
                emit_data(pos_, src_.substr(pos_));
                pos_ = src_.size();
                return false;
            }
            char k = src_[t + 1];
            if (k == '{' || k == '%' || k == '#') break;
            ++t;
        }
        char kind = src_[t + 1];
        char sign = 0;
        if (t + 2 < src_.size() && (src_[t + 2] == '-' || src_[t + 2] == '+')) sign = src_[t + 2];
        std::size_t raw_after = kind == '%' ? match_raw_begin(t) : std::string_view::npos;

        emit_data(pos_, strip_text(src_.substr(pos_, t - pos_), sign, kind == '{'));
        std::size_t inner = t + 2 + (sign ? 1 : 0);
        line_starting_ = false;

        if (raw_after != std::string_view::npos) {
            lex_raw(t, raw_after);
        } else if (kind == '#') {
            lex_comment(t, inner);
        } else {
            emit(kind == '{' ? TokenType::VariableBegin : TokenType::BlockBegin, t);
            pos_ = inner;
            lex_tag(kind == '{');
        }
        return true;
    }

    void emit_data(std::size_t offset, std::string_view text) {
        if (!text.empty()) emit(TokenType::Data, offset, std::string(text));
    }

    void lex_comment(std::size_t begin, std::size_t inner) {
        std::size_t q = src_.find("#}", inner);
        if (q == std::string_view::npos) error(begin, "missing end of comment tag");
        std::size_t end;
        if (q > inner && src_[q - 1] == '-') end = skip_space(q + 2);
        else if (q > inner && src_[q - 1] == '+') end = q + 2;
        else end = (q + 2 < src_.size() && src_[q + 2] == '\n') ? q + 3 : q + 2;
        pos_ = end;
        line_starting_ = src_[end - 1] == '\n';
    }

    void lex_raw(std::size_t begin, std::size_t after_begin) {
        line_starting_ = src_[after_begin - 1] == '\n';
        std::size_t end_begin, end;
        char sign;
        if (!find_raw_end(after_begin, end_begin, sign, end)) error(begin, "missing end of raw directive");
        emit_data(after_begin, strip_text(src_.substr(after_begin, end_begin - after_begin), sign, false));
        pos_ = end;
        line_starting_ = src_[end - 1] == '\n';
    }

    void lex_tag(bool is_variable) {
        balance_.clear();
        while (pos_ < src_.size()) {
            if (balance_.empty()) {
                std::size_t end = is_variable ? match_variable_end(pos_) : match_block_end(pos_);
                if (end != std::string_view::npos) {
                    emit(is_variable ? TokenType::VariableEnd : TokenType::BlockEnd, pos_);
                    pos_ = end;
                    line_starting_ = src_[end - 1] == '\n';
                    return;
                }
            }
            std::size_t next;
            if (space_at(pos_, &next)) {
                pos_ = skip_space(pos_);
                continue;
            }
            char c = src_[pos_];
            if (lex_float() || lex_integer()) continue;
            if (is_name_start(c)) {
                std::size_t e = pos_;
                while (e < src_.size() && is_name_char(src_[e])) ++e;
                emit(TokenType::Name, pos_, std::string(src_.substr(pos_, e - pos_)));
                pos_ = e;
                continue;
            }
            if (c == '\'' || c == '"') {
                lex_string();
                continue;
            }
            lex_operator();
        }
    }

    // Digits with optional single underscores between them ("1_000"); returns the end or npos.
    std::size_t match_digits(std::size_t i) const {
        if (i >= src_.size() || !is_digit_char(src_[i])) return std::string_view::npos;
        while (i < src_.size()) {
            if (is_digit_char(src_[i])) ++i;
            else if (src_[i] == '_' && i + 1 < src_.size() && is_digit_char(src_[i + 1])) ++i;
            else break;
        }
        return i;
    }

    bool lex_float() {
        if (pos_ > 0 && src_[pos_ - 1] == '.') return false;
        std::size_t e = match_digits(pos_);
        if (e == std::string_view::npos) return false;
        std::size_t frac_end = std::string_view::npos;
        if (e < src_.size() && src_[e] == '.') frac_end = match_digits(e + 1);
        std::size_t mantissa_end = frac_end != std::string_view::npos ? frac_end : e;
        std::size_t end = std::string_view::npos;
        if (mantissa_end < src_.size() && (src_[mantissa_end] == 'e' || src_[mantissa_end] == 'E')) {
            std::size_t k = mantissa_end + 1;
            if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
            end = match_digits(k);
        }
        if (end == std::string_view::npos) end = frac_end;
        if (end == std::string_view::npos) return false;
        std::string text;
        for (char ch : src_.substr(pos_, end - pos_))
            if (ch != '_') text += ch;
        Token t;
        t.type = TokenType::Float;
        t.pos = positions_.at(pos_);
        t.floating = std::strtod(text.c_str(), nullptr);
        t.text = std::move(text);
        tokens_.push_back(std::move(t));
        pos_ = end;
        return true;
    }

    bool lex_integer() {
        char c = src_[pos_];
        if (!is_digit_char(c)) return false;
        int base = 10;
        std::size_t digits_begin = pos_;
        std::size_t end;
        char prefix = pos_ + 1 < src_.size() ? static_cast<char>(src_[pos_ + 1] | 0x20) : 0;
        if (c == '0' && (prefix == 'b' || prefix == 'o' || prefix == 'x')) {
            char p = prefix;
            base = p == 'b' ? 2 : p == 'o' ? 8 : 16;
            auto valid = [&](char d) {
                if (base == 2) return d == '0' || d == '1';
                if (base == 8) return d >= '0' && d <= '7';
                return std::isxdigit(static_cast<unsigned char>(d)) != 0;
            };
            std::size_t k = pos_ + 2;
            digits_begin = k;
            while (k < src_.size()) {
                if (valid(src_[k])) ++k;
                else if (src_[k] == '_' && k + 1 < src_.size() && valid(src_[k + 1])) ++k;
                else break;
            }
            if (k == digits_begin) {
                base = 10;  // "0b" without digits: just the integer 0
                digits_begin = pos_;
                end = pos_ + 1;
            } else {
                end = k;
            }
        } else if (c == '0') {
            end = pos_ + 1;
            while (end < src_.size() && (src_[end] == '0' || (src_[end] == '_' && end + 1 < src_.size() &&
                                                              src_[end + 1] == '0')))
                ++end;
        } else {
            end = match_digits(pos_);
        }
        std::string digits;
        for (char ch : src_.substr(digits_begin, end - digits_begin))
            if (ch != '_') digits += ch;
        errno = 0;
        unsigned long long value = std::strtoull(digits.c_str(), nullptr, base);
        if (errno == ERANGE || value > static_cast<unsigned long long>(INT64_MAX))
            error(pos_, "integer literal too large: " + std::string(src_.substr(pos_, end - pos_)));
        Token t;
        t.type = TokenType::Integer;
        t.pos = positions_.at(pos_);
        t.integer = static_cast<std::int64_t>(value);
        t.text = std::string(src_.substr(pos_, end - pos_));
        tokens_.push_back(std::move(t));
        pos_ = end;
        return true;
    }

    static int hex_value(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        c = static_cast<char>(c | 0x20);
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    }

    // Decodes Python string escapes (the `unicode-escape` codec Jinja2 uses).
    std::string unescape(std::string_view body, std::size_t body_offset) {
        std::string out;
        out.reserve(body.size());
        for (std::size_t i = 0; i < body.size(); ++i) {
            char c = body[i];
            if (c != '\\' || i + 1 >= body.size()) {
                out += c;
                continue;
            }
            char e = body[++i];
            switch (e) {
            case '\n': break;
            case '\\': out += '\\'; break;
            case '\'': out += '\''; break;
            case '"': out += '"'; break;
            case 'a': out += '\a'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'v': out += '\v'; break;
            case 'x':
            case 'u':
            case 'U': {
                int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                std::uint32_t cp = 0;
                for (int k = 0; k < n; ++k) {
                    int h = i + 1 + static_cast<std::size_t>(k) < body.size() ? hex_value(body[i + 1 + k]) : -1;
                    if (h < 0) error(body_offset + i - 1, std::string("truncated \\") + e + " escape in string literal");
                    cp = cp * 16 + static_cast<std::uint32_t>(h);
                }
                i += static_cast<std::size_t>(n);
                if (cp > 0x10FFFF) error(body_offset + i, "illegal Unicode character in string literal");
                if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // lone surrogates cannot be UTF-8
                append_utf8(out, cp);
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    std::uint32_t cp = static_cast<std::uint32_t>(e - '0');
                    for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k)
                        cp = cp * 8 + static_cast<std::uint32_t>(body[++i] - '0');
                    append_utf8(out, cp);
                } else {
                    out += '\\';
                    out += e;
                }
            }
        }
        return out;
    }

    void lex_string() {
        char quote = src_[pos_];
        std::size_t i = pos_ + 1;
        while (i < src_.size() && src_[i] != quote) {
            if (src_[i] == '\\') ++i;
            ++i;
        }
        if (i >= src_.size()) error(pos_, std::string("unterminated string literal starting with ") + quote);
        Token t;
        t.type = TokenType::String;
        t.pos = positions_.at(pos_);
        t.text = unescape(src_.substr(pos_ + 1, i - pos_ - 1), pos_ + 1);
        tokens_.push_back(std::move(t));
        pos_ = i + 1;
    }

    void lex_operator() {
        struct Spelling {
            const char* text;
            Op op;
        };
        static constexpr Spelling spellings[] = {
            {"//", Op::FloorDiv}, {"**", Op::Pow}, {"==", Op::Eq}, {"!=", Op::Ne}, {">=", Op::Ge},
            {"<=", Op::Le},       {"+", Op::Add},  {"-", Op::Sub}, {"/", Op::Div}, {"*", Op::Mul},
            {"%", Op::Mod},       {"~", Op::Tilde}, {"[", Op::LBracket}, {"]", Op::RBracket},
            {"(", Op::LParen},    {")", Op::RParen}, {"{", Op::LBrace}, {"}", Op::RBrace},
            {">", Op::Gt},        {"<", Op::Lt},   {"=", Op::Assign}, {".", Op::Dot}, {":", Op::Colon},
            {"|", Op::Pipe},      {",", Op::Comma}, {";", Op::Semicolon},
        };
        for (const auto& s : spellings) {
            std::size_t len = std::strlen(s.text);
            if (src_.compare(pos_, len, s.text) != 0) continue;
            track_balance(s.op);
            Token t;
            t.type = TokenType::Operator;
            t.op = s.op;
            t.pos = positions_.at(pos_);
            t.text = s.text;
            tokens_.push_back(std::move(t));
            pos_ += len;
            return;
        }
        std::size_t j = pos_;
        std::uint32_t cp = decode_utf8(src_, j);
        std::string shown;
        append_utf8(shown, cp);
        error(pos_, "unexpected character '" + shown + "'");
    }

    void track_balance(Op op) {
        switch (op) {
        case Op::LBrace: balance_.push_back('}'); break;
        case Op::LParen: balance_.push_back(')'); break;
        case Op::LBracket: balance_.push_back(']'); break;
        case Op::RBrace:
        case Op::RParen:
        case Op::RBracket: {
            char closer = op == Op::RBrace ? '}' : op == Op::RParen ? ')' : ']';
            if (balance_.empty()) error(pos_, std::string("unexpected '") + closer + "'");
            char expected = balance_.back();
            balance_.pop_back();
            if (expected != closer)
                error(pos_, std::string("unexpected '") + closer + "', expected '" + expected + "'");
            break;
        }
        default: break;
        }
    }
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const std::string& template_name) {
    return Lexer(source, template_name).run();
}

}  // namespace ascent::templates::jinja
