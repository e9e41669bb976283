// Jinja2's builtin tests, the `x is name` checks (jinja2/tests.py).
#include <unordered_map>

#include "chat_templates/jinja/builtins.h"
#include "chat_templates/jinja/interpreter.h"
#include "chat_templates/jinja/operators.h"
#include "chat_templates/jinja/pyformat.h"
#include "chat_templates/jinja/pystring.h"

namespace ascent::templates::jinja {

namespace {

const Value& one_arg(CallArgs& args, const char* test) {
    if (args.positional.size() != 1 || !args.named.empty())
        fail(std::string("test '") + test + "' takes exactly one argument");
    return args.positional[0];
}

void no_args(CallArgs& args, const char* test) {
    if (!args.positional.empty() || !args.named.empty()) fail(std::string("test '") + test + "' takes no arguments");
}

bool remainder_is(Interpreter& interp, const Value& v, const Value& divisor, std::int64_t expected) {
    return equals(binary_op(interp, BinaryOp::Mod, v, divisor), Value::integer(expected));
}

bool t_odd(Interpreter& i, const Value& v, CallArgs& a) {
    no_args(a, "odd");
    return remainder_is(i, v, Value::integer(2), 1);
}
bool t_even(Interpreter& i, const Value& v, CallArgs& a) {
    no_args(a, "even");
    return remainder_is(i, v, Value::integer(2), 0);
}
bool t_divisibleby(Interpreter& i, const Value& v, CallArgs& a) { return remainder_is(i, v, one_arg(a, "divisibleby"), 0); }
bool t_defined(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "defined");
    return !v.is_undefined();
}
bool t_undefined(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "undefined");
    return v.is_undefined();
}
bool t_filter(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "filter");
    return v.is_string() && find_filter(v.str()) != nullptr;
}
bool t_test(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "test");
    return v.is_string() && find_test(v.str()) != nullptr;
}
bool t_none(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "none");
    return v.is_none();
}
bool t_boolean(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "boolean");
    return v.is_bool();
}
bool t_false(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "false");
    return v.is_bool() && !v.as_bool();
}
bool t_true(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "true");
    return v.is_bool() && v.as_bool();
}
bool t_integer(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "integer");
    return v.is_int();
}
bool t_float(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "float");
    return v.is_float();
}
bool t_lower(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "lower");
    return py_is(to_str(v), CharClass::Lower);
}
bool t_upper(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "upper");
    return py_is(to_str(v), CharClass::Upper);
}
bool t_string(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "string");
    return v.is_string();
}
bool t_mapping(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "mapping");
    return v.is_dict();
}
bool t_number(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "number");
    return v.is_number();
}
// Jinja2: "has len() and __getitem__". Undefined has both; generators and dict views lack one.
bool t_sequence(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "sequence");
    switch (v.kind()) {
    case Kind::Undefined:
    case Kind::String:
    case Kind::Dict: return true;
    case Kind::Sequence: return v.seq().kind == SeqKind::List || v.seq().kind == SeqKind::Tuple;
    default: return false;
    }
}
bool t_iterable(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "iterable");
    switch (v.kind()) {
    case Kind::Undefined:
    case Kind::String:
    case Kind::Sequence:
    case Kind::Dict:
    case Kind::Loop: return true;
    default: return false;
    }
}
// Undefined defines __call__ (to raise), so Python's callable() says yes.
bool t_callable(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "callable");
    return v.is_callable() || v.is_undefined() || v.kind() == Kind::Loop;
}
bool t_sameas(Interpreter&, const Value& v, CallArgs& a) {
    const Value& other = one_arg(a, "sameas");
    switch (v.kind()) {
    case Kind::None:
    case Kind::Bool:
    case Kind::Int:
    case Kind::Float:
    case Kind::String: return v.kind() == other.kind() && equals(v, other);
    default: return v.kind() == other.kind() && v.identity() == other.identity();
    }
}
bool t_escaped(Interpreter&, const Value& v, CallArgs& a) {
    no_args(a, "escaped");
    return v.is_string() && v.is_safe();
}
bool t_in(Interpreter&, const Value& v, CallArgs& a) { return contains(one_arg(a, "in"), v); }
bool t_eq(Interpreter&, const Value& v, CallArgs& a) { return equals(v, one_arg(a, "eq")); }
bool t_ne(Interpreter&, const Value& v, CallArgs& a) { return !equals(v, one_arg(a, "ne")); }
bool t_gt(Interpreter&, const Value& v, CallArgs& a) { return less(one_arg(a, "gt"), v); }
bool t_ge(Interpreter&, const Value& v, CallArgs& a) {
    const Value& o = one_arg(a, "ge");
    return less(o, v) || equals(o, v);
}
bool t_lt(Interpreter&, const Value& v, CallArgs& a) { return less(v, one_arg(a, "lt")); }
bool t_le(Interpreter&, const Value& v, CallArgs& a) {
    const Value& o = one_arg(a, "le");
    return less(v, o) || equals(v, o);
}

const std::unordered_map<std::string_view, TestFn>& test_table() {
    static const std::unordered_map<std::string_view, TestFn> table = {
        {"odd", t_odd},         {"even", t_even},       {"divisibleby", t_divisibleby}, {"defined", t_defined},
        {"undefined", t_undefined}, {"filter", t_filter}, {"test", t_test},           {"none", t_none},
        {"boolean", t_boolean}, {"false", t_false},     {"true", t_true},             {"integer", t_integer},
        {"float", t_float},     {"lower", t_lower},     {"upper", t_upper},           {"string", t_string},
        {"mapping", t_mapping}, {"number", t_number},   {"sequence", t_sequence},     {"iterable", t_iterable},
        {"callable", t_callable}, {"sameas", t_sameas}, {"escaped", t_escaped},       {"in", t_in},
        {"==", t_eq},           {"eq", t_eq},           {"equalto", t_eq},            {"!=", t_ne},
        {"ne", t_ne},           {">", t_gt},            {"gt", t_gt},                 {"greaterthan", t_gt},
        {"ge", t_ge},           {">=", t_ge},           {"<", t_lt},                  {"lt", t_lt},
        {"lessthan", t_lt},     {"<=", t_le},           {"le", t_le},
    };
    return table;
}

}  // namespace

TestFn find_test(std::string_view name) {
    const auto& table = test_table();
    auto it = table.find(name);
    return it == table.end() ? nullptr : it->second;
}

}  // namespace ascent::templates::jinja
