// The Python methods of str, dict, list and tuple that chat templates call, plus
// loop.cycle/loop.changed and the loop's attributes.
#include <algorithm>
#include <cstdio>

#include "chat_templates/jinja/builtins.h"
#include "chat_templates/jinja/interpreter.h"
#include "chat_templates/jinja/pyformat.h"
#include "chat_templates/jinja/pystring.h"
#include "chat_templates/jinja/unicode.h"

namespace ascent::templates::jinja {

namespace {

template <std::size_t N>
bool one_of(std::string_view name, const std::string_view (&names)[N]) {
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

constexpr std::string_view string_methods[] = {
    "capitalize", "casefold", "center", "count", "endswith", "find", "format", "index", "isalnum", "isalpha",
    "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "join", "ljust",
    "lower", "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
    "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper",
    "zfill",
};
constexpr std::string_view dict_methods[] = {"get", "items", "keys", "values", "copy"};
// What jinja2.sandbox.ImmutableSandboxedEnvironment refuses (modifies_known_mutable).
constexpr std::string_view dict_mutators[] = {"clear", "pop", "popitem", "setdefault", "update"};
constexpr std::string_view list_methods[] = {"index", "count", "copy"};
constexpr std::string_view list_mutators[] = {"append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove"};
constexpr std::string_view tuple_methods[] = {"index", "count"};
constexpr std::string_view loop_methods[] = {"cycle", "changed"};

struct BoundMethod : CallableObject {
    BoundMethod(Value s, std::string n) : self(std::move(s)), name(std::move(n)) {}
    Value self;
    std::string name;

    Value call(Interpreter& interp, CallArgs& args) override { return call_method(interp, self, name, args); }
    std::string repr() const override { return "<built-in method " + name + " of " + type_name(self) + " object>"; }
};

Value str_value(std::string s, const Value& like) { return Value::string(std::move(s), like.is_safe()); }

Value string_list(std::vector<std::string> parts, const Value& like) {
    std::vector<Value> items;
    items.reserve(parts.size());
    for (auto& p : parts) items.push_back(str_value(std::move(p), like));
    return Value::sequence(std::move(items));
}

std::optional<std::string_view> optional_string(const Value* v, std::string_view what) {
    if (!v || v->is_none()) return std::nullopt;
    return std::string_view(expect_string(*v, what));
}

std::optional<std::int64_t> optional_index(const Value* v) {
    if (!v || v->is_none()) return std::nullopt;
    return expect_int(*v, "slice indices");
}

// The part of s that str.startswith(x, start, end) looks at.
std::string_view code_point_window(std::string_view s, std::optional<std::int64_t> start, std::optional<std::int64_t> end) {
    if (!start && !end) return s;
    auto offsets = code_point_offsets(s);
    auto len = static_cast<std::int64_t>(offsets.size() - 1);
    auto clamp = [&](std::optional<std::int64_t> v, std::int64_t fallback) {
        if (!v) return fallback;
        std::int64_t i = *v < 0 ? std::max<std::int64_t>(0, *v + len) : *v;
        return std::min(i, len);
    };
    std::int64_t b = clamp(start, 0), e = clamp(end, len);
    if (b > e) return s.substr(s.size());
    return s.substr(offsets[static_cast<std::size_t>(b)],
                    offsets[static_cast<std::size_t>(e)] - offsets[static_cast<std::size_t>(b)]);
}

bool affix_match(const Value& self, CallArgs& args, const char* method, bool prefix) {
    ArgBinder a(method, args, {"prefix", "start", "end"}, 1);
    std::string_view window = code_point_window(self.str(), optional_index(a.get(1)), optional_index(a.get(2)));
    auto test = [&](const Value& candidate) {
        const std::string& c = expect_string(candidate, std::string(method) + " first arg");
        if (c.size() > window.size()) return false;
        return prefix ? window.compare(0, c.size(), c) == 0 : window.compare(window.size() - c.size(), c.size(), c) == 0;
    };
    const Value& arg = *a.get(0);
    if (arg.is_sequence() && arg.seq().kind == SeqKind::Tuple) {
        for (const auto& c : arg.seq().items)
            if (test(c)) return true;
        return false;
    }
    if (!arg.is_string())
        fail(std::string(method) + " first arg must be str or a tuple of str, not " + type_name(arg));
    return test(arg);
}

// A format spec of str.format: [[fill]align][sign][#][0][width][.precision][type].
std::string apply_format_spec(const Value& v, std::string_view spec) {
    if (spec.empty()) return to_str(v);
    std::string fill = " ";
    char align = 0;
    std::size_t i = 0;
    auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
    if (spec.size() >= 2 && is_align(spec[1])) {
        fill = std::string(1, spec[0]);
        align = spec[1];
        i = 2;
    } else if (!spec.empty() && is_align(spec[0])) {
        align = spec[0];
        i = 1;
    }
    std::string sign;
    if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) sign = std::string(1, spec[i++]);
    bool alternate = i < spec.size() && spec[i] == '#';
    if (alternate) ++i;
    if (i < spec.size() && spec[i] == '0') {
        if (!align) {
            fill = "0";
            align = '=';
        }
        ++i;
    }
    std::int64_t width = 0;
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') width = width * 10 + (spec[i++] - '0');
    int precision = -1;
    if (i < spec.size() && spec[i] == '.') {
        precision = 0;
        ++i;
        while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') precision = precision * 10 + (spec[i++] - '0');
    }
    char type = i < spec.size() ? spec[i++] : 0;
    if (i != spec.size()) fail("Invalid format specifier '" + std::string(spec) + "'");

    std::string body;
    if (v.is_string() || (!v.is_number() && !type)) {
        body = to_str(v);
        if (precision >= 0) {
            auto offsets = code_point_offsets(body);
            if (static_cast<std::size_t>(precision) + 1 < offsets.size()) body.resize(offsets[static_cast<std::size_t>(precision)]);
        }
        if (!align) align = '<';
    } else if (v.is_number()) {
        char buf[512];
        std::string fmt = "%" + sign + (alternate ? "#" : "");
        if (type == 'd' || (!type && v.is_integral() && precision < 0)) {
            if (v.is_float()) fail("Unknown format code 'd' for object of type 'float'");
            std::snprintf(buf, sizeof buf, (fmt + "lld").c_str(), static_cast<long long>(v.as_int()));
        } else if (type == 'x' || type == 'X' || type == 'o') {
            if (v.is_float()) fail(std::string("Unknown format code '") + type + "' for object of type 'float'");
            std::snprintf(buf, sizeof buf, (fmt + "ll" + type).c_str(), static_cast<unsigned long long>(v.as_int()));
        } else if (type == '%') {
            std::snprintf(buf, sizeof buf, (fmt + "." + std::to_string(precision < 0 ? 6 : precision) + "f%%").c_str(),
                          v.as_float() * 100.0);
        } else if (!type && precision < 0) {
            std::string s = to_str(v);
            std::snprintf(buf, sizeof buf, "%s%s", sign == "+" && v.as_float() >= 0 ? "+" : "", s.c_str());
        } else {
            char t = type ? type : 'g';
            std::snprintf(buf, sizeof buf, (fmt + "." + std::to_string(precision < 0 ? 6 : precision) + t).c_str(),
                          v.as_float());
        }
        body = buf;
        if (!align) align = '>';
    } else {
        fail("unsupported format string passed to " + type_name(v) + ".__format__");
    }
    if (align == '=') {
        std::string head;
        if (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) {
            head = body.substr(0, 1);
            body.erase(0, 1);
        }
        return head + py_pad(body, width - static_cast<std::int64_t>(head.size()), fill, '>');
    }
    return py_pad(body, width, fill, align);
}

// str.format through the sandbox: fields may use .attr and [key], resolved like Jinja2 does.
std::string python_format(Interpreter& interp, std::string_view format, CallArgs& args) {
    std::string out;
    std::size_t auto_index = 0;
    for (std::size_t i = 0; i < format.size(); ++i) {
        char c = format[i];
        if (c == '}') {
            if (i + 1 < format.size() && format[i + 1] == '}') ++i;
            else fail("Single '}' encountered in format string");
            out += '}';
            continue;
        }
        if (c != '{') {
            out += c;
            continue;
        }
        if (i + 1 < format.size() && format[i + 1] == '{') {
            out += '{';
            ++i;
            continue;
        }
        std::size_t close = format.find('}', i);
        if (close == std::string_view::npos) fail("Single '{' encountered in format string");
        std::string_view field = format.substr(i + 1, close - i - 1);
        i = close;
        std::string_view spec, conversion;
        if (auto colon = field.find(':'); colon != std::string_view::npos) {
            spec = field.substr(colon + 1);
            field = field.substr(0, colon);
        }
        if (auto bang = field.find('!'); bang != std::string_view::npos) {
            conversion = field.substr(bang + 1);
            field = field.substr(0, bang);
        }
        std::size_t name_end = std::min(field.find('.'), field.find('['));
        if (name_end == std::string_view::npos) name_end = field.size();
        std::string_view head = field.substr(0, name_end);
        Value v;
        if (head.empty() || std::all_of(head.begin(), head.end(), [](char d) { return d >= '0' && d <= '9'; })) {
            std::size_t index = head.empty() ? auto_index++ : std::stoul(std::string(head));
            if (index >= args.positional.size())
                fail("Replacement index " + std::to_string(index) + " out of range for positional args tuple");
            v = args.positional[index];
        } else {
            auto it = std::find_if(args.named.begin(), args.named.end(), [&](const auto& p) { return p.first == head; });
            if (it == args.named.end()) fail("KeyError: '" + std::string(head) + "'");
            v = it->second;
        }
        for (std::size_t k = name_end; k < field.size();) {
            if (field[k] == '.') {
                std::size_t e = std::min(field.find('.', k + 1), field.find('[', k + 1));
                if (e == std::string_view::npos) e = field.size();
                v = interp.getattr(v, field.substr(k + 1, e - k - 1));
                k = e;
            } else {
                std::size_t e = field.find(']', k);
                if (e == std::string_view::npos) fail("Missing ']' in format string");
                std::string key(field.substr(k + 1, e - k - 1));
                bool numeric = !key.empty() && std::all_of(key.begin(), key.end(), [](char d) { return d >= '0' && d <= '9'; });
                v = interp.getitem(v, numeric ? Value::integer(std::stoll(key)) : Value::string(key));
                k = e + 1;
            }
        }
        if (conversion == "r" || conversion == "a") {
            std::string r;
            append_repr(r, v);
            v = Value::string(std::move(r));
        } else if (conversion == "s") {
            v = Value::string(to_str(v));
        } else if (!conversion.empty()) {
            fail("Unknown conversion specifier " + std::string(conversion));
        }
        out += apply_format_spec(v, spec);
    }
    return out;
}

Value call_string_method(Interpreter& interp, const Value& self, std::string_view name, CallArgs& args) {
    const std::string& s = self.str();
    auto no_args = [&](const char* method) { ArgBinder(method, args, {}); };
    auto strip_method = [&](StripSide side, const char* method) {
        ArgBinder a(method, args, {"chars"});
        return str_value(std::string(strip(s, optional_string(a.get(0), "strip arg"), side)), self);
    };
    if (name == "strip") return strip_method(StripSide::Both, "strip");
    if (name == "lstrip") return strip_method(StripSide::Left, "lstrip");
    if (name == "rstrip") return strip_method(StripSide::Right, "rstrip");
    if (name == "split" || name == "rsplit") {
        ArgBinder a(name == "split" ? "split" : "rsplit", args, {"sep", "maxsplit"});
        auto sep = optional_string(a.get(0), "sep");
        std::int64_t maxsplit = a.get(1) ? expect_int(*a.get(1), "maxsplit") : -1;
        return string_list(name == "split" ? py_split(s, sep, maxsplit) : py_rsplit(s, sep, maxsplit), self);
    }
    if (name == "splitlines") {
        ArgBinder a("splitlines", args, {"keepends"});
        return string_list(py_splitlines(s, a.get(0) && a.get(0)->truthy()), self);
    }
    if (name == "startswith") return Value::boolean(affix_match(self, args, "startswith", true));
    if (name == "endswith") return Value::boolean(affix_match(self, args, "endswith", false));
    if (name == "replace") {
        ArgBinder a("replace", args, {"old", "new", "count"}, 2);
        std::int64_t count = a.get(2) ? expect_int(*a.get(2), "count") : -1;
        std::string out = py_replace(s, expect_string(*a.get(0), "replace() argument 1"),
                                     expect_string(*a.get(1), "replace() argument 2"), count);
        interp.check_size(out.size());
        return str_value(std::move(out), self);
    }
    if (name == "upper" || name == "lower" || name == "casefold") {
        no_args(std::string(name).c_str());
        return str_value(name == "upper" ? to_upper(s) : to_lower(s), self);
    }
    if (name == "title") {
        no_args("title");
        return str_value(py_title(s), self);
    }
    if (name == "capitalize") {
        no_args("capitalize");
        return str_value(py_capitalize(s), self);
    }
    if (name == "swapcase") {
        no_args("swapcase");
        return str_value(py_swapcase(s), self);
    }
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
        ArgBinder a(std::string(name), args, {"sub", "start", "end"}, 1);
        bool reverse = name[0] == 'r';
        std::int64_t at = py_find(s, expect_string(*a.get(0), "must be str"), optional_index(a.get(1)),
                                  optional_index(a.get(2)), reverse);
        if (at < 0 && (name == "index" || name == "rindex")) fail("substring not found");
        return Value::integer(at);
    }
    if (name == "count") {
        ArgBinder a("count", args, {"sub", "start", "end"}, 1);
        std::string_view window = code_point_window(s, optional_index(a.get(1)), optional_index(a.get(2)));
        return Value::integer(py_count(window, expect_string(*a.get(0), "must be str")));
    }
    if (name == "join") {
        ArgBinder a("join", args, {"iterable"}, 1);
        std::string out;
        std::size_t k = 0;
        auto parts = iterate(*a.get(0));
        for (const auto& item : parts->items) {
            if (!item.is_string())
                fail("sequence item " + std::to_string(k) + ": expected str instance, " + type_name(item) + " found");
            if (k++) out += s;
            out += item.str();
            interp.check_size(out.size());
        }
        return str_value(std::move(out), self);
    }
    if (name == "center" || name == "ljust" || name == "rjust") {
        ArgBinder a(std::string(name), args, {"width", "fillchar"}, 1);
        std::string fill = a.get(1) ? expect_string(*a.get(1), "fillchar") : " ";
        if (utf8_length(fill) != 1) fail("The fill character must be exactly one character long");
        std::int64_t width = expect_int(*a.get(0), "width");
        interp.check_size(static_cast<std::size_t>(std::max<std::int64_t>(width, 0)));
        char align = name == "center" ? '^' : name == "ljust" ? '<' : '>';
        return str_value(py_pad(s, width, fill, align), self);
    }
    if (name == "zfill") {
        ArgBinder a("zfill", args, {"width"}, 1);
        std::int64_t width = expect_int(*a.get(0), "width");
        interp.check_size(static_cast<std::size_t>(std::max<std::int64_t>(width, 0)));
        return str_value(py_zfill(s, width), self);
    }
    if (name == "partition" || name == "rpartition") {
        ArgBinder a(std::string(name), args, {"sep"}, 1);
        const std::string& sep = expect_string(*a.get(0), "sep");
        if (sep.empty()) fail("empty separator");
        std::size_t at = name == "partition" ? s.find(sep) : s.rfind(sep);
        std::vector<Value> parts;
        if (at == std::string::npos) {
            bool left = name == "partition";
            parts = {str_value(left ? s : "", self), str_value("", self), str_value(left ? "" : s, self)};
        } else {
            parts = {str_value(s.substr(0, at), self), str_value(sep, self), str_value(s.substr(at + sep.size()), self)};
        }
        return Value::sequence(std::move(parts), SeqKind::Tuple);
    }
    if (name == "removeprefix" || name == "removesuffix") {
        ArgBinder a(std::string(name), args, {"affix"}, 1);
        const std::string& affix = expect_string(*a.get(0), std::string(name) + " arg");
        if (name == "removeprefix" && s.compare(0, affix.size(), affix) == 0)
            return str_value(s.substr(affix.size()), self);
        if (name == "removesuffix" && s.size() >= affix.size() &&
            s.compare(s.size() - affix.size(), affix.size(), affix) == 0)
            return str_value(s.substr(0, s.size() - affix.size()), self);
        return self;
    }
    if (name == "format") return str_value(python_format(interp, s, args), self);
    struct Predicate {
        std::string_view name;
        CharClass cls;
    };
    static constexpr Predicate predicates[] = {
        {"isalnum", CharClass::Alnum}, {"isalpha", CharClass::Alpha}, {"isascii", CharClass::Ascii},
        {"isdecimal", CharClass::Digit}, {"isdigit", CharClass::Digit}, {"isnumeric", CharClass::Digit},
        {"islower", CharClass::Lower}, {"isupper", CharClass::Upper}, {"isspace", CharClass::Space},
        {"istitle", CharClass::Title},
    };
    for (const auto& p : predicates) {
        if (p.name == name) {
            no_args(std::string(name).c_str());
            return Value::boolean(py_is(s, p.cls));
        }
    }
    fail("'str' object has no attribute '" + std::string(name) + "'");
}

Value view_of(const DictObject& d, SeqKind kind) {
    std::vector<Value> items;
    items.reserve(d.entries.size());
    for (const auto& [k, v] : d.entries) {
        if (kind == SeqKind::DictKeys) items.push_back(k);
        else if (kind == SeqKind::DictValues) items.push_back(v);
        else items.push_back(Value::sequence({k, v}, SeqKind::Tuple));
    }
    return Value::sequence(std::move(items), kind);
}

Value call_dict_method(const Value& self, std::string_view name, CallArgs& args) {
    const DictObject& d = self.dict();
    if (name == "get") {
        ArgBinder a("get", args, {"key", "default"}, 1);
        const Value& key = *a.get(0);
        if (unhashable(key)) fail("unhashable type: '" + type_name(key) + "'");
        if (const Value* v = d.find(key)) return *v;
        return a.get_or(1, Value::none());
    }
    ArgBinder(std::string(name), args, {});
    if (name == "items") return view_of(d, SeqKind::DictItems);
    if (name == "keys") return view_of(d, SeqKind::DictKeys);
    if (name == "values") return view_of(d, SeqKind::DictValues);
    auto copy = std::make_shared<DictObject>(d);
    return Value::dict(std::move(copy));
}

Value call_sequence_method(const Value& self, std::string_view name, CallArgs& args) {
    const auto& items = self.seq().items;
    if (name == "copy") {
        ArgBinder("copy", args, {});
        return Value::sequence(items, self.seq().kind);
    }
    ArgBinder a(std::string(name), args, {"value"}, 1);
    const Value& needle = *a.get(0);
    if (name == "count")
        return Value::integer(std::count_if(items.begin(), items.end(), [&](const Value& v) { return equals(v, needle); }));
    for (std::size_t i = 0; i < items.size(); ++i)
        if (equals(items[i], needle)) return Value::integer(static_cast<std::int64_t>(i));
    std::string r;
    append_repr(r, needle);
    fail(self.seq().kind == SeqKind::Tuple ? "tuple.index(x): x not in tuple" : r + " is not in list");
}

Value call_loop_method(const Value& self, std::string_view name, CallArgs& args) {
    LoopObject& loop = self.loop();
    if (!args.named.empty()) fail("loop." + std::string(name) + "() takes no keyword arguments");
    if (name == "cycle") {
        if (args.positional.empty()) fail("no items for cycling given");
        return args.positional[loop.index0 % args.positional.size()];
    }
    bool changed = !loop.changed_called || loop.last_changed.size() != args.positional.size() ||
                   !std::equal(loop.last_changed.begin(), loop.last_changed.end(), args.positional.begin(),
                               [](const Value& a, const Value& b) { return equals(a, b); });
    if (changed) {
        loop.last_changed = args.positional;
        loop.changed_called = true;
    }
    return Value::boolean(changed);
}

}  // namespace

MethodKind method_kind(const Value& self, std::string_view name) {
    switch (self.kind()) {
    case Kind::String: return one_of(name, string_methods) ? MethodKind::Safe : MethodKind::None;
    case Kind::Dict:
        if (one_of(name, dict_methods)) return MethodKind::Safe;
        return one_of(name, dict_mutators) ? MethodKind::Unsafe : MethodKind::None;
    case Kind::Sequence:
        if (self.seq().kind == SeqKind::List) {
            if (one_of(name, list_methods)) return MethodKind::Safe;
            return one_of(name, list_mutators) ? MethodKind::Unsafe : MethodKind::None;
        }
        if (self.seq().kind == SeqKind::Tuple && one_of(name, tuple_methods)) return MethodKind::Safe;
        return MethodKind::None;
    case Kind::Loop: return one_of(name, loop_methods) ? MethodKind::Safe : MethodKind::None;
    default: return MethodKind::None;
    }
}

Value call_method(Interpreter& interp, const Value& self, std::string_view name, CallArgs& args) {
    switch (self.kind()) {
    case Kind::String: return call_string_method(interp, self, name, args);
    case Kind::Dict: return call_dict_method(self, name, args);
    case Kind::Sequence: return call_sequence_method(self, name, args);
    case Kind::Loop: return call_loop_method(self, name, args);
    default: fail("'" + type_name(self) + "' object has no attribute '" + std::string(name) + "'");
    }
}

Value bound_method(const Value& self, std::string_view name) {
    return Value::callable(std::make_shared<BoundMethod>(self, std::string(name)));
}

Value unsafe_attribute(const Value& self, std::string_view name) {
    return Value::undefined("access to attribute '" + std::string(name) + "' of '" + type_name(self) +
                                "' object is unsafe.",
                            true);
}

Value loop_attribute(const Value& loop_value, std::string_view name) {
    const LoopObject& loop = loop_value.loop();
    auto index0 = static_cast<std::int64_t>(loop.index0);
    auto length = static_cast<std::int64_t>(loop.length());
    if (name == "index") return Value::integer(index0 + 1);
    if (name == "index0") return Value::integer(index0);
    if (name == "revindex") return Value::integer(length - index0);
    if (name == "revindex0") return Value::integer(length - index0 - 1);
    if (name == "first") return Value::boolean(index0 == 0);
    if (name == "last") return Value::boolean(index0 + 1 == length);
    if (name == "length") return Value::integer(length);
    if (name == "depth") return Value::integer(loop.depth0 + 1);
    if (name == "depth0") return Value::integer(loop.depth0);
    if (name == "previtem") {
        if (index0 == 0) return Value::undefined("there is no previous item");
        return loop.items->items[loop.index0 - 1];
    }
    if (name == "nextitem") {
        if (index0 + 1 >= length) return Value::undefined("there is no next item");
        return loop.items->items[loop.index0 + 1];
    }
    if (one_of(name, loop_methods)) return bound_method(loop_value, name);
    return Value::undefined("'jinja2.runtime.LoopContext object' has no attribute '" + std::string(name) + "'");
}

}  // namespace ascent::templates::jinja
