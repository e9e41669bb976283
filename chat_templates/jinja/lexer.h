#pragma once
// Splits template source into tokens the way Jinja2's lexer does with
// trim_blocks=True and lstrip_blocks=True: the whitespace control of `-`/`+`
// markers and of both options is applied here, so the parser only sees text
// that is really output.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat_templates/jinja/error.h"

namespace ascent::templates::jinja {

enum class TokenType : std::uint8_t {
    Data,
    VariableBegin,
    VariableEnd,
    BlockBegin,
    BlockEnd,
    Name,
    String,
    Integer,
    Float,
    Operator,
    Eof,
};

enum class Op : std::uint8_t {
    Add, Sub, Div, FloorDiv, Mul, Mod, Pow, Tilde,
    LBracket, RBracket, LParen, RParen, LBrace, RBrace,
    Eq, Ne, Gt, Ge, Lt, Le, Assign, Dot, Colon, Pipe, Comma, Semicolon,
};

struct Token {
    TokenType type = TokenType::Eof;
    Op op = Op::Add;         // for Operator tokens
    SourcePos pos;
    std::string text;        // Data text, Name, decoded String, operator spelling
    std::int64_t integer = 0;
    double floating = 0.0;
};

// Jinja2 reads "\r\n" and "\r" as "\n" and drops one newline at the very end of the source.
std::string normalize_newlines(std::string_view source);

// Tokenizes normalized source; throws TemplateError (Syntax) naming line and column.
std::vector<Token> tokenize(std::string_view source, const std::string& template_name);

const char* op_spelling(Op op);

}  // namespace ascent::templates::jinja
