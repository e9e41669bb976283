#pragma once
// Python's operators on template values: arithmetic with int/float/bool rules,
// floor division and modulo that round toward negative infinity, str/list
// concatenation and repetition, printf-style `str % args`, and `in`.
#include "chat_templates/jinja/ast.h"
#include "chat_templates/jinja/value.h"

namespace ascent::templates::jinja {

Value binary_op(Interpreter& interp, BinaryOp op, const Value& a, const Value& b);
Value unary_minus(const Value& v);
Value unary_plus(const Value& v);
// `item in container`
bool contains(const Value& container, const Value& item);
// printf-style formatting, `format % args`
std::string percent_format(std::string_view format, const Value& args, bool escape_args);

}  // namespace ascent::templates::jinja
