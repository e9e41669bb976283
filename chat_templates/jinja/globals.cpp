// Global functions: Jinja2's range/dict/namespace/joiner and the two transformers
// adds, raise_exception and strftime_now.
#include <unordered_map>

#include "chat_templates/jinja/builtins.h"
#include "chat_templates/jinja/interpreter.h"
#include "chat_templates/jinja/pyformat.h"

namespace ascent::templates::jinja {

namespace {

// jinja2.sandbox.MAX_RANGE
constexpr std::int64_t max_range = 100000;

using GlobalFn = Value (*)(Interpreter&, CallArgs&);

struct BuiltinFunction : CallableObject {
    BuiltinFunction(std::string n, GlobalFn f) : name(std::move(n)), fn(f) {}
    std::string name;
    GlobalFn fn;
    Value call(Interpreter& interp, CallArgs& args) override { return fn(interp, args); }
    std::string repr() const override { return "<built-in function " + name + ">"; }
};

Value g_range(Interpreter&, CallArgs& args) {
    if (!args.named.empty()) fail("range() takes no keyword arguments");
    const auto& p = args.positional;
    if (p.empty() || p.size() > 3) fail("range expected 1 to 3 arguments, got " + std::to_string(p.size()));
    std::int64_t start = 0, stop, step = 1;
    if (p.size() == 1) {
        stop = expect_int(p[0], "range()");
    } else {
        start = expect_int(p[0], "range()");
        stop = expect_int(p[1], "range()");
        if (p.size() == 3) step = expect_int(p[2], "range()");
    }
    if (step == 0) fail("range() arg 3 must not be zero");
    // Count first: the sandbox refuses big ranges before building them.
    std::int64_t count = 0;
    if (step > 0 && start < stop) count = (stop - start - 1) / step + 1;
    if (step < 0 && start > stop) count = (start - stop - 1) / (-step) + 1;
    if (count > max_range)
        throw ScriptError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).",
                          TemplateError::Kind::Limit);
    std::vector<Value> items;
    items.reserve(static_cast<std::size_t>(count));
    for (std::int64_t k = 0; k < count; ++k) items.push_back(Value::integer(start + k * step));
    return Value::sequence(std::move(items));
}

// dict(*args, **kwargs) into `out`, as Python builds a dict.
void fill_dict(DictObject& out, CallArgs& args, const char* function) {
    if (args.positional.size() > 1)
        fail(std::string(function) + " expected at most 1 argument, got " + std::to_string(args.positional.size()));
    if (!args.positional.empty()) {
        const Value& source = args.positional[0];
        if (source.is_dict()) {
            for (const auto& [k, v] : source.dict().entries) out.set(k, v);
        } else {
            auto pairs = iterate(source);
            for (const auto& pair : pairs->items) {
                auto kv = iterate(pair);
                if (kv->items.size() != 2)
                    fail("dictionary update sequence element has length " + std::to_string(kv->items.size()) +
                         "; 2 is required");
                out.set(kv->items[0], kv->items[1]);
            }
        }
    }
    for (auto& [k, v] : args.named) out.set(k, v);
}

Value g_dict(Interpreter&, CallArgs& args) {
    auto d = std::make_shared<DictObject>();
    fill_dict(*d, args, "dict");
    return Value::dict(std::move(d));
}

Value g_namespace(Interpreter& interp, CallArgs& args) {
    auto ns = std::make_shared<NamespaceObject>();
    fill_dict(ns->attributes, args, "Namespace");
    interp.track_namespace(ns);
    return Value::namespace_object(std::move(ns));
}

struct Joiner : CallableObject {
    explicit Joiner(std::string s) : sep(std::move(s)) {}
    std::string sep;
    bool used = false;
    Value call(Interpreter&, CallArgs& args) override {
        ArgBinder("joiner", args, {});
        if (!used) {
            used = true;
            return Value::string("");
        }
        return Value::string(sep);
    }
    std::string repr() const override { return "<jinja2.utils.Joiner object>"; }
};

Value g_joiner(Interpreter&, CallArgs& args) {
    ArgBinder a("Joiner", args, {"sep"});
    std::string sep = a.get(0) ? to_str(*a.get(0)) : ", ";
    return Value::callable(std::make_shared<Joiner>(std::move(sep)));
}

Value g_raise_exception(Interpreter&, CallArgs& args) {
    ArgBinder a("raise_exception", args, {"message"}, 1);
    throw ScriptError(to_str(*a.get(0)), TemplateError::Kind::Raised);
}

Value g_strftime_now(Interpreter& interp, CallArgs& args) {
    ArgBinder a("strftime_now", args, {"format"}, 1);
    const std::string& format = expect_string(*a.get(0), "strftime() argument 1");
    int microseconds = 0;
    std::tm tm = interp.now(&microseconds);
    return Value::string(python_strftime(format, tm, microseconds));
}

const std::unordered_map<std::string_view, Value>& global_table() {
    static const std::unordered_map<std::string_view, Value> table = [] {
        std::unordered_map<std::string_view, Value> t;
        auto add = [&](std::string_view name, GlobalFn fn) {
            t.emplace(name, Value::callable(std::make_shared<BuiltinFunction>(std::string(name), fn)));
        };
        add("range", g_range);
        add("dict", g_dict);
        add("namespace", g_namespace);
        add("joiner", g_joiner);
        add("raise_exception", g_raise_exception);
        add("strftime_now", g_strftime_now);
        return t;
    }();
    return table;
}

}  // namespace

const Value* find_global(std::string_view name) {
    const auto& table = global_table();
    auto it = table.find(name);
    return it == table.end() ? nullptr : &it->second;
}

}  // namespace ascent::templates::jinja
