#pragma once
// What a template can call: Jinja2's filters and tests, the Python methods of str,
// dict and list that the sandbox allows, and the globals (range, namespace, ...)
// including transformers' raise_exception and strftime_now.
#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat_templates/jinja/ast.h"
#include "chat_templates/jinja/value.h"

namespace ascent::templates::jinja {

// Null when Jinja2 has no filter / test of that name.
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);

// Attribute lookups that name a method. Unsafe: a method the immutable sandbox blocks
// (list.append, dict.update...); using it is an error, as in transformers.
enum class MethodKind { None, Safe, Unsafe };
MethodKind method_kind(const Value& self, std::string_view name);
Value call_method(Interpreter& interp, const Value& self, std::string_view name, CallArgs& args);
// The method as a value (`x.get` without a call).
Value bound_method(const Value& self, std::string_view name);
// The undefined value the sandbox gives for a blocked attribute.
Value unsafe_attribute(const Value& self, std::string_view name);

// loop.index, loop.first, ...; Undefined for unknown attributes.
Value loop_attribute(const Value& loop, std::string_view name);

// range, dict, namespace, joiner, cycler, raise_exception, strftime_now.
const Value* find_global(std::string_view name);

// Python's strftime for the directives datetime supports (English names, no locale).
std::string python_strftime(std::string_view format, const std::tm& time, int microseconds);

// Binds call arguments to named parameters the way Python does for builtins,
// with messages like "do_default() got an unexpected keyword argument 'x'".
class ArgBinder {
public:
    ArgBinder(std::string_view function, CallArgs& args, std::initializer_list<std::string_view> params,
              std::size_t required = 0);

    const Value* get(std::size_t i) const { return bound_[i] ? &*bound_[i] : nullptr; }
    Value get_or(std::size_t i, Value fallback) const { return bound_[i] ? *bound_[i] : std::move(fallback); }

private:
    std::vector<std::optional<Value>> bound_;
};

// Argument coercions with Python's error messages.
std::int64_t expect_int(const Value& v, std::string_view what);
const std::string& expect_string(const Value& v, std::string_view what);

}  // namespace ascent::templates::jinja
