#pragma once
// Checks Jinja2 makes when it compiles a parsed template.
#include <string>

#include "chat_templates/jinja/ast.h"

namespace ascent::templates::jinja {

// Unknown filters and tests are syntax errors, except inside an `if` statement or a
// conditional expression, where Jinja2 lets them fail only when evaluated. Throws
// TemplateError (Syntax).
void check_filter_and_test_names(const Body& body, const std::string& template_name);

// Sets def.catch_varargs / catch_kwargs / catch_caller: a macro takes extra arguments
// only if its body mentions varargs, kwargs or caller.
void find_special_names(MacroDef& def);

}  // namespace ascent::templates::jinja
