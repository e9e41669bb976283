#pragma once
// Builds the AST from tokens with Jinja2's grammar (jinja2/parser.py): the same
// precedence, the same statement tags, and the same compile-time checks.
#include <string>
#include <string_view>

#include "chat_templates/jinja/ast.h"

namespace ascent::templates::jinja {

// Parses template source (raw: newlines are normalized here). Throws TemplateError (Syntax).
Program parse_template(std::string_view source, const std::string& template_name);

}  // namespace ascent::templates::jinja
