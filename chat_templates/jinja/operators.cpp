#include "chat_templates/jinja/operators.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "chat_templates/jinja/interpreter.h"
#include "chat_templates/jinja/pyformat.h"
#include "chat_templates/jinja/unicode.h"

namespace ascent::templates::jinja {

namespace {

const char* op_symbol(BinaryOp op) {
    switch (op) {
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::FloorDiv: return "//";
    case BinaryOp::Mod: return "%";
    case BinaryOp::Pow: return "** or pow()";
    }
    return "?";
}

[[noreturn]] void unsupported(BinaryOp op, const Value& a, const Value& b) {
    fail(std::string("unsupported operand type(s) for ") + op_symbol(op) + ": '" + type_name(a) + "' and '" +
         type_name(b) + "'");
}

[[noreturn]] void integer_overflow() { fail("integer result too large for this renderer (64-bit)"); }

// Applies a __builtin_*_overflow operation, failing like Python would run out of range.
template <typename Op>
std::int64_t checked(Op op, std::int64_t x, std::int64_t y) {
    std::int64_t r = 0;
    if (op(x, y, &r)) integer_overflow();
    return r;
}
constexpr auto add_op = [](std::int64_t x, std::int64_t y, std::int64_t* r) { return __builtin_add_overflow(x, y, r); };
constexpr auto sub_op = [](std::int64_t x, std::int64_t y, std::int64_t* r) { return __builtin_sub_overflow(x, y, r); };
constexpr auto mul_op = [](std::int64_t x, std::int64_t y, std::int64_t* r) { return __builtin_mul_overflow(x, y, r); };

Value repeat(Interpreter& interp, const Value& seq, std::int64_t times) {
    if (times <= 0) {
        if (seq.is_string()) return Value::string("", seq.is_safe());
        return Value::sequence({}, seq.seq().kind);
    }
    auto n = static_cast<std::size_t>(times);
    if (seq.is_string()) {
        const std::string& s = seq.str();
        if (!s.empty() && n > interp.limits().max_output_bytes / s.size() + 1) interp.check_size(SIZE_MAX);
        interp.check_size(s.size() * n);
        std::string out;
        out.reserve(s.size() * n);
        for (std::size_t k = 0; k < n; ++k) out += s;
        return Value::string(std::move(out), seq.is_safe());
    }
    const auto& items = seq.seq().items;
    if (!items.empty() && n > interp.limits().max_output_bytes / (items.size() * sizeof(Value)) + 1)
        interp.check_size(SIZE_MAX);
    interp.check_size(items.size() * n * sizeof(Value));
    std::vector<Value> out;
    out.reserve(items.size() * n);
    for (std::size_t k = 0; k < n; ++k) out.insert(out.end(), items.begin(), items.end());
    return Value::sequence(std::move(out), seq.seq().kind);
}

bool is_list_or_tuple(const Value& v) {
    return v.is_sequence() && (v.seq().kind == SeqKind::List || v.seq().kind == SeqKind::Tuple);
}

Value add(Interpreter& interp, const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return Value::floating(a.as_float() + b.as_float());
        return Value::integer(checked(add_op, a.as_int(), b.as_int()));
    }
    if (a.is_string() && b.is_string()) {
        interp.check_size(a.str().size() + b.str().size());
        // Markup + str escapes the plain operand (markupsafe), which a template meets
        // when it writes "..."|safe + text.
        if (a.is_safe() || b.is_safe()) {
            std::string left = a.is_safe() ? a.str() : html_escape(a.str());
            std::string right = b.is_safe() ? b.str() : html_escape(b.str());
            return Value::string(left + right, true);
        }
        return Value::string(a.str() + b.str());
    }
    if (is_list_or_tuple(a) && is_list_or_tuple(b) && a.seq().kind == b.seq().kind) {
        std::vector<Value> items = a.seq().items;
        interp.check_size((items.size() + b.seq().items.size()) * sizeof(Value));
        items.insert(items.end(), b.seq().items.begin(), b.seq().items.end());
        return Value::sequence(std::move(items), a.seq().kind);
    }
    if (a.is_string() || is_list_or_tuple(a)) {
        std::string t = type_name(a);
        if (a.is_string()) t = "str";
        fail("can only concatenate " + t + " (not \"" + type_name(b) + "\") to " + t);
    }
    unsupported(BinaryOp::Add, a, b);
}

double float_floor_div(double a, double b, double* remainder) {
    // CPython's float_divmod, so results agree to the last bit.
    double mod = std::fmod(a, b);
    double div = (a - mod) / b;
    if (mod != 0.0) {
        if ((b < 0) != (mod < 0)) {
            mod += b;
            div -= 1.0;
        }
    } else {
        mod = std::copysign(0.0, b);
    }
    double floordiv;
    if (div != 0.0) {
        floordiv = std::floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
        floordiv = std::copysign(0.0, a / b);
    }
    if (remainder) *remainder = mod;
    return floordiv;
}

Value arithmetic(BinaryOp op, const Value& a, const Value& b) {
    if (!a.is_number() || !b.is_number()) unsupported(op, a, b);
    bool floats = a.is_float() || b.is_float();
    if (op == BinaryOp::Div) {
        if (b.as_float() == 0.0) fail(floats ? "float division by zero" : "division by zero");
        return Value::floating(a.as_float() / b.as_float());
    }
    if (floats) {
        double x = a.as_float(), y = b.as_float();
        switch (op) {
        case BinaryOp::Sub: return Value::floating(x - y);
        case BinaryOp::Mul: return Value::floating(x * y);
        case BinaryOp::FloorDiv:
            if (y == 0.0) fail("float floor division by zero");
            return Value::floating(float_floor_div(x, y, nullptr));
        case BinaryOp::Mod: {
            if (y == 0.0) fail("float modulo");
            double r;
            float_floor_div(x, y, &r);
            return Value::floating(r);
        }
        case BinaryOp::Pow:
            if (x == 0.0 && y < 0) fail("0.0 cannot be raised to a negative power");
            return Value::floating(std::pow(x, y));
        default: break;
        }
        unsupported(op, a, b);
    }
    std::int64_t x = a.as_int(), y = b.as_int();
    switch (op) {
    case BinaryOp::Sub: return Value::integer(checked(sub_op, x, y));
    case BinaryOp::Mul: return Value::integer(checked(mul_op, x, y));
    case BinaryOp::FloorDiv:
    case BinaryOp::Mod: {
        if (y == 0) fail("integer division or modulo by zero");
        if (x == std::numeric_limits<std::int64_t>::min() && y == -1) {
            if (op == BinaryOp::Mod) return Value::integer(0);
            integer_overflow();
        }
        std::int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {
            m += y;
            q -= 1;
        }
        return Value::integer(op == BinaryOp::Mod ? m : q);
    }
    case BinaryOp::Pow: {
        if (y < 0) {
            if (x == 0) fail("0.0 cannot be raised to a negative power");
            return Value::floating(std::pow(static_cast<double>(x), static_cast<double>(y)));
        }
        std::int64_t result = 1, base = x;
        for (std::int64_t e = y; e > 0; e >>= 1) {
            if (e & 1) result = checked(mul_op, result, base);
            if (e > 1) base = checked(mul_op, base, base);
        }
        return Value::integer(result);
    }
    default: break;
    }
    unsupported(op, a, b);
}

// One conversion spec of printf-style formatting.
struct Spec {
    std::string flags;
    int width = -1;
    int precision = -1;
    char conversion = 's';
};

std::string pad(std::string body, const Spec& spec) {
    if (spec.width < 0) return body;
    auto width = static_cast<std::size_t>(spec.width);
    std::size_t len = utf8_length(body);
    if (len >= width) return body;
    if (spec.flags.find('-') != std::string::npos) return body + std::string(width - len, ' ');
    return std::string(width - len, ' ') + body;
}

std::string format_number(const Spec& spec, const Value& v) {
    if (!v.is_number()) {
        if (spec.conversion == 'd' || spec.conversion == 'i' || spec.conversion == 'u' || spec.conversion == 'x' ||
            spec.conversion == 'X' || spec.conversion == 'o')
            fail(std::string("%") + spec.conversion + " format: a real number is required, not " + type_name(v));
        fail("must be real number, not " + type_name(v));
    }
    std::string fmt = "%" + spec.flags;
    if (spec.width >= 0) fmt += std::to_string(spec.width);
    if (spec.precision >= 0) {
        fmt += '.';
        fmt += std::to_string(spec.precision);
    }
    char buf[512];
    switch (spec.conversion) {
    case 'd':
    case 'i':
    case 'u': {
        double f = v.as_float();
        long long i = v.is_float() ? static_cast<long long>(std::trunc(f)) : static_cast<long long>(v.as_int());
        fmt += "lld";
        std::snprintf(buf, sizeof buf, fmt.c_str(), i);
        return buf;
    }
    case 'x':
    case 'X':
    case 'o': {
        if (v.is_float()) fail(std::string("%") + spec.conversion + " format: an integer is required, not float");
        std::int64_t i = v.as_int();
        fmt += std::string("ll") + spec.conversion;
        std::string body;
        if (i < 0) {
            std::snprintf(buf, sizeof buf, fmt.c_str(), static_cast<unsigned long long>(-i));
            body = "-";
            body += buf;
        } else {
            std::snprintf(buf, sizeof buf, fmt.c_str(), static_cast<unsigned long long>(i));
            body = buf;
        }
        return body;
    }
    default: {
        fmt += spec.conversion;
        std::snprintf(buf, sizeof buf, fmt.c_str(), v.as_float());
        return buf;
    }
    }
}

}  // namespace

Value binary_op(Interpreter& interp, BinaryOp op, const Value& a, const Value& b) {
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    switch (op) {
    case BinaryOp::Add: return add(interp, a, b);
    case BinaryOp::Mul:
        if ((a.is_string() || is_list_or_tuple(a)) && b.is_integral()) return repeat(interp, a, b.as_int());
        if ((b.is_string() || is_list_or_tuple(b)) && a.is_integral()) return repeat(interp, b, a.as_int());
        if (a.is_string() || is_list_or_tuple(a) || b.is_string() || is_list_or_tuple(b)) {
            const Value& other = a.is_string() || is_list_or_tuple(a) ? b : a;
            fail("can't multiply sequence by non-int of type '" + type_name(other) + "'");
        }
        return arithmetic(op, a, b);
    case BinaryOp::Mod:
        if (a.is_string()) {
            std::string text = percent_format(a.str(), b, a.is_safe());
            interp.check_size(text.size());
            return Value::string(std::move(text), a.is_safe());
        }
        return arithmetic(op, a, b);
    default: return arithmetic(op, a, b);
    }
}

Value unary_minus(const Value& v) {
    if (v.is_undefined()) fail_undefined(v);
    if (v.is_float()) return Value::floating(-v.as_float());
    if (v.is_integral()) {
        if (v.as_int() == std::numeric_limits<std::int64_t>::min()) integer_overflow();
        return Value::integer(-v.as_int());
    }
    fail("bad operand type for unary -: '" + type_name(v) + "'");
}

Value unary_plus(const Value& v) {
    if (v.is_undefined()) fail_undefined(v);
    if (v.is_float()) return v;
    if (v.is_integral()) return Value::integer(v.as_int());
    fail("bad operand type for unary +: '" + type_name(v) + "'");
}

bool contains(const Value& container, const Value& item) {
    switch (container.kind()) {
    case Kind::Undefined: return false;
    case Kind::String:
        if (!item.is_string())
            fail("'in <string>' requires string as left operand, not " + type_name(item));
        return container.str().find(item.str()) != std::string::npos;
    case Kind::Sequence:
        for (const auto& v : container.seq().items)
            if (equals(v, item)) return true;
        return false;
    case Kind::Dict:
        if (unhashable(item)) fail("unhashable type: '" + type_name(item) + "'");
        return container.dict().find(item) != nullptr;
    default: fail("argument of type '" + type_name(container) + "' is not iterable");
    }
}

std::string percent_format(std::string_view format, const Value& args, bool escape_args) {
    std::vector<Value> positional;
    const DictObject* mapping = nullptr;
    if (args.is_sequence() && args.seq().kind == SeqKind::Tuple) positional = args.seq().items;
    else if (args.is_dict()) mapping = &args.dict();
    else positional.push_back(args);
    std::size_t next_arg = 0;

    auto take = [&]() -> const Value& {
        if (next_arg >= positional.size()) fail("not enough arguments for format string");
        return positional[next_arg++];
    };
    auto text_of = [&](std::string s) { return escape_args ? html_escape(s) : s; };

    std::string out;
    for (std::size_t i = 0; i < format.size(); ++i) {
        char c = format[i];
        if (c != '%') {
            out += c;
            continue;
        }
        if (++i >= format.size()) fail("incomplete format");
        const Value* arg = nullptr;
        if (format[i] == '(') {
            std::size_t close = format.find(')', i);
            if (close == std::string_view::npos) fail("incomplete format key");
            if (!mapping) fail("format requires a mapping");
            std::string key(format.substr(i + 1, close - i - 1));
            arg = mapping->find(key);
            if (!arg) fail("KeyError: '" + key + "'");
            i = close + 1;
        }
        Spec spec;
        while (i < format.size() && std::string_view("-+ #0").find(format[i]) != std::string_view::npos)
            spec.flags += format[i++];
        if (i < format.size() && format[i] == '*') {
            spec.width = static_cast<int>(take().as_int());
            ++i;
        } else {
            while (i < format.size() && format[i] >= '0' && format[i] <= '9')
                spec.width = (spec.width < 0 ? 0 : spec.width * 10) + (format[i++] - '0');
        }
        if (i < format.size() && format[i] == '.') {
            ++i;
            spec.precision = 0;
            if (i < format.size() && format[i] == '*') {
                spec.precision = static_cast<int>(take().as_int());
                ++i;
            } else {
                while (i < format.size() && format[i] >= '0' && format[i] <= '9')
                    spec.precision = spec.precision * 10 + (format[i++] - '0');
            }
        }
        while (i < format.size() && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L')) ++i;
        if (i >= format.size()) fail("incomplete format");
        spec.conversion = format[i];
        if (spec.conversion == '%') {
            out += '%';
            continue;
        }
        const Value& v = arg ? *arg : take();
        switch (spec.conversion) {
        case 's': {
            std::string s = to_str(v);
            if (spec.precision >= 0) {
                auto offsets = code_point_offsets(s);
                if (static_cast<std::size_t>(spec.precision) + 1 < offsets.size())
                    s.resize(offsets[static_cast<std::size_t>(spec.precision)]);
            }
            out += pad(v.is_safe() ? s : text_of(s), spec);
            break;
        }
        case 'r':
        case 'a': {
            std::string s;
            append_repr(s, v);
            out += pad(text_of(s), spec);
            break;
        }
        case 'c': {
            std::string s;
            if (v.is_string() && utf8_length(v.str()) == 1) s = v.str();
            else if (v.is_integral()) append_utf8(s, static_cast<std::uint32_t>(v.as_int()));
            else fail("%c requires int or char");
            out += pad(s, spec);
            break;
        }
        case 'd': case 'i': case 'u': case 'x': case 'X': case 'o':
        case 'e': case 'E': case 'f': case 'F': case 'g': case 'G':
            out += format_number(spec, v);
            break;
        default: fail(std::string("unsupported format character '") + spec.conversion + "'");
        }
    }
    // Python does not notice an unused argument that could be a mapping (dict, list).
    bool mapping_like = args.is_dict() || (args.is_sequence() && args.seq().kind == SeqKind::List);
    if (!mapping_like && next_arg < positional.size()) fail("not all arguments converted during string formatting");
    return out;
}

}  // namespace ascent::templates::jinja
