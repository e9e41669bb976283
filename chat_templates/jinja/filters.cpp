// Jinja2's builtin filters (jinja2/filters.py), with transformers' tojson.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <unordered_map>

#include "chat_templates/jinja/builtins.h"
#include "chat_templates/jinja/interpreter.h"
#include "chat_templates/jinja/operators.h"
#include "chat_templates/jinja/pyformat.h"
#include "chat_templates/jinja/pystring.h"
#include "chat_templates/jinja/unicode.h"

namespace ascent::templates::jinja {

namespace {

Value generator(std::vector<Value> items) { return Value::sequence(std::move(items), SeqKind::Generator); }

// markupsafe.soft_str: strings stay as they are (Markup stays Markup), the rest is str().
Value soft_str(const Value& v) { return v.is_string() ? v : Value::string(to_str(v)); }

Value lowercase_if_string(const Value& v) { return v.is_string() ? Value::string(to_lower(v.str())) : v; }

// jinja2.filters.make_attrgetter: "a.b.0" walks items (then attributes) step by step.
class AttrGetter {
public:
    AttrGetter(Interpreter& interp, const Value* attribute, const Value* fallback = nullptr, bool lower = false)
        : interp_(interp), fallback_(fallback), lower_(lower) {
        if (!attribute || attribute->is_none()) return;
        if (attribute->is_integral()) {
            parts_.push_back(*attribute);
            return;
        }
        for (const auto& part : py_split(expect_string(*attribute, "attribute"), std::string_view("."), -1)) {
            bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
            parts_.push_back(digits ? Value::integer(std::stoll(part)) : Value::string(part));
        }
    }

    Value operator()(Value item) const {
        for (const auto& part : parts_) {
            item = interp_.getitem(item, part);
            if (fallback_ && !fallback_->is_none() && item.is_undefined()) item = *fallback_;
        }
        return lower_ ? lowercase_if_string(item) : item;
    }

private:
    Interpreter& interp_;
    const Value* fallback_;
    bool lower_;
    std::vector<Value> parts_;
};

bool truthy_arg(const Value* v) { return v && v->truthy(); }

Value f_abs(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("abs", args, {});
    if (v.is_float()) return Value::floating(std::fabs(v.as_float()));
    if (v.is_integral()) {
        if (v.as_int() == INT64_MIN) fail("integer overflow in abs()");
        return Value::integer(std::llabs(v.as_int()));
    }
    if (v.is_undefined()) fail_undefined(v);
    fail("bad operand type for abs(): '" + type_name(v) + "'");
}

Value f_attr(Interpreter& interp, const Value& v, CallArgs& args) {
    ArgBinder a("do_attr", args, {"name"}, 1);
    const std::string& name = expect_string(*a.get(0), "attribute name");
    // Only real attributes: methods, namespace and loop attributes; not dict keys.
    if (v.kind() == Kind::Namespace || v.kind() == Kind::Loop) return interp.getattr(v, name);
    if (v.is_undefined()) fail_undefined(v);
    if (method_kind(v, name) != MethodKind::None) return interp.getattr(v, name);
    return Value::undefined("'" + object_type_repr(v) + "' has no attribute '" + name + "'");
}

Value f_batch(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder a("do_batch", args, {"linecount", "fill_with"}, 1);
    std::int64_t count = expect_int(*a.get(0), "linecount");
    if (count <= 0) fail("batch size must be positive");
    std::vector<Value> batches, current;
    auto seq = iterate(v);
    for (const auto& item : seq->items) {
        if (static_cast<std::int64_t>(current.size()) == count) {
            batches.push_back(Value::sequence(std::move(current)));
            current.clear();
        }
        current.push_back(item);
    }
    if (!current.empty()) {
        if (a.get(1) && !a.get(1)->is_none())
            while (static_cast<std::int64_t>(current.size()) < count) current.push_back(*a.get(1));
        batches.push_back(Value::sequence(std::move(current)));
    }
    return generator(std::move(batches));
}

Value f_capitalize(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_capitalize", args, {});
    Value s = soft_str(v);
    return Value::string(py_capitalize(s.str()), s.is_safe());
}

Value f_center(Interpreter& interp, const Value& v, CallArgs& args) {
    ArgBinder a("do_center", args, {"width"});
    std::int64_t width = a.get(0) ? expect_int(*a.get(0), "width") : 80;
    interp.check_size(static_cast<std::size_t>(std::max<std::int64_t>(width, 0)));
    Value s = soft_str(v);
    return Value::string(py_pad(s.str(), width, " ", '^'), s.is_safe());
}

Value f_length(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("length", args, {});
    return Value::integer(static_cast<std::int64_t>(python_len(v)));
}

Value f_default(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder a("do_default", args, {"default_value", "boolean"});
    if (v.is_undefined() || (truthy_arg(a.get(1)) && !v.truthy())) return a.get_or(0, Value::string(""));
    return v;
}

Value f_dictsort(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder a("do_dictsort", args, {"case_sensitive", "by", "reverse"});
    if (!v.is_dict()) fail("'" + type_name(v) + "' object has no attribute 'items'");
    bool case_sensitive = truthy_arg(a.get(0));
    std::string by = a.get(1) ? expect_string(*a.get(1), "by") : "key";
    if (by != "key" && by != "value") fail("You can only sort by either \"key\" or \"value\"");
    bool reverse = truthy_arg(a.get(2));
    std::vector<std::pair<Value, Value>> entries = v.dict().entries;
    auto key_of = [&](const std::pair<Value, Value>& e) {
        const Value& k = by == "key" ? e.first : e.second;
        return case_sensitive ? k : lowercase_if_string(k);
    };
    std::vector<Value> keys;
    keys.reserve(entries.size());
    for (const auto& e : entries) keys.push_back(key_of(e));
    std::vector<std::size_t> order(entries.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
        return reverse ? less(keys[y], keys[x]) : less(keys[x], keys[y]);
    });
    std::vector<Value> out;
    out.reserve(order.size());
    for (std::size_t i : order) out.push_back(Value::sequence({entries[i].first, entries[i].second}, SeqKind::Tuple));
    return Value::sequence(std::move(out));
}

Value f_escape(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("escape", args, {});
    if (v.is_string() && v.is_safe()) return v;
    return Value::string(html_escape(to_str(v)), true);
}

Value f_forceescape(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_forceescape", args, {});
    return Value::string(html_escape(to_str(v)), true);
}

Value f_first(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_first", args, {});
    auto items = iterate(v);
    if (items->items.empty()) return Value::undefined("No first item, sequence was empty.");
    return items->items.front();
}

Value f_last(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_last", args, {});
    if (v.is_sequence() && (v.seq().kind == SeqKind::Generator || v.seq().kind == SeqKind::Reversed))
        fail("'" + type_name(v) + "' object is not reversible");
    auto items = iterate(v);
    if (items->items.empty()) return Value::undefined("No last item, sequence was empty.");
    return items->items.back();
}

// Python's float() of a string: surrounding whitespace, underscores between digits, inf/nan.
std::optional<double> parse_float(std::string_view text) {
    std::string s(strip(text, std::nullopt, StripSide::Both));
    std::string lower = to_lower(s);
    std::string_view body = lower;
    double sign = 1.0;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
        if (body[0] == '-') sign = -1.0;
        body.remove_prefix(1);
    }
    if (body == "inf" || body == "infinity") return sign * HUGE_VAL;
    if (body == "nan") return std::nan("");
    std::string cleaned;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '_') {
            bool ok = i > 0 && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
                      std::isdigit(static_cast<unsigned char>(s[i + 1]));
            if (!ok) return std::nullopt;
            continue;
        }
        cleaned += s[i];
    }
    if (cleaned.empty() || cleaned.find_first_of("xXpP") != std::string::npos) return std::nullopt;
    char* end = nullptr;
    double value = std::strtod(cleaned.c_str(), &end);
    if (end != cleaned.c_str() + cleaned.size()) return std::nullopt;
    return value;
}

// Python's int(text, base).
std::optional<std::int64_t> parse_int(std::string_view text, int base) {
    std::string s(strip(text, std::nullopt, StripSide::Both));
    std::size_t i = 0;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    if (i + 1 < s.size() && s[i] == '0') {
        char p = static_cast<char>(s[i + 1] | 0x20);
        int prefixed = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
        if (prefixed && (base == prefixed || base == 0)) {
            base = prefixed;
            i += 2;
            if (i < s.size() && s[i] == '_') ++i;
        }
    }
    if (base == 0) base = 10;
    std::string digits;
    for (; i < s.size(); ++i) {
        if (s[i] == '_' && !digits.empty() && i + 1 < s.size() && s[i + 1] != '_') continue;
        digits += s[i];
    }
    if (digits.empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    long long value = std::strtoll(digits.c_str(), &end, base);
    if (end != digits.c_str() + digits.size() || errno == ERANGE || digits[0] == '-' || digits[0] == '+')
        return std::nullopt;
    return negative ? -value : value;
}

Value f_float(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder a("do_float", args, {"default"});
    Value fallback = a.get_or(0, Value::floating(0.0));
    if (v.is_undefined()) fail_undefined(v);  // float(Undefined) raises rather than falling back
    if (v.is_number()) return Value::floating(v.as_float());
    if (v.is_string()) {
        if (auto f = parse_float(v.str())) return Value::floating(*f);
    }
    return fallback;
}

Value f_int(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder a("do_int", args, {"default", "base"});
    Value fallback = a.get_or(0, Value::integer(0));
    int base = a.get(1) ? static_cast<int>(expect_int(*a.get(1), "base")) : 10;
    if (v.is_undefined()) fail_undefined(v);  // int(Undefined) raises rather than falling back
    if (v.is_integral()) return Value::integer(v.as_int());
    if (v.is_float()) {
        double f = v.as_float();
        if (std::isnan(f) || std::isinf(f) || std::fabs(f) >= 9.2e18) return fallback;
        return Value::integer(static_cast<std::int64_t>(std::trunc(f)));
    }
    if (v.is_string()) {
        if (auto i = parse_int(v.str(), base)) return Value::integer(*i);
        if (auto f = parse_float(v.str())) {
            if (std::isnan(*f) || std::isinf(*f) || std::fabs(*f) >= 9.2e18) return fallback;
            return Value::integer(static_cast<std::int64_t>(std::trunc(*f)));
        }
    }
    return fallback;
}

Value f_format(Interpreter& interp, const Value& v, CallArgs& args) {
    if (!args.positional.empty() && !args.named.empty())
        fail("can't handle positional and keyword arguments at the same time");
    Value format_args;
    if (!args.named.empty()) {
        auto d = std::make_shared<DictObject>();
        for (auto& [k, val] : args.named) d->set(k, val);
        format_args = Value::dict(std::move(d));
    } else {
        format_args = Value::sequence(args.positional, SeqKind::Tuple);
    }
    Value s = soft_str(v);
    std::string out = percent_format(s.str(), format_args, s.is_safe());
    interp.check_size(out.size());
    return Value::string(std::move(out), s.is_safe());
}

Value f_groupby(Interpreter& interp, const Value& v, CallArgs& args) {
    ArgBinder a("do_groupby", args, {"attribute", "default", "case_sensitive"}, 1);
    bool case_sensitive = truthy_arg(a.get(2));
    AttrGetter key(interp, a.get(0), a.get(1), !case_sensitive);
    AttrGetter original(interp, a.get(0), a.get(1));
    std::vector<Value> items = iterate(v)->items;
    std::vector<Value> keys;
    keys.reserve(items.size());
    for (const auto& item : items) keys.push_back(key(item));
    std::vector<std::size_t> order(items.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return less(keys[x], keys[y]); });
    std::vector<Value> groups;
    for (std::size_t k = 0; k < order.size();) {
        std::vector<Value> members;
        std::size_t first = order[k];
        while (k < order.size() && equals(keys[order[k]], keys[first])) members.push_back(items[order[k++]]);
        Value grouper = original(members.front());
        groups.push_back(Value::sequence({grouper, Value::sequence(std::move(members))}, SeqKind::Tuple));
    }
    return Value::sequence(std::move(groups));
}

Value f_indent(Interpreter& interp, const Value& v, CallArgs& args) {
    ArgBinder a("do_indent", args, {"width", "first", "blank"});
    std::string indention;
    if (a.get(0) && a.get(0)->is_string()) indention = a.get(0)->str();
    else indention = std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, a.get(0) ? expect_int(*a.get(0), "width") : 4)), ' ');
    bool first = truthy_arg(a.get(1));
    bool blank = truthy_arg(a.get(2));
    // Jinja2 works on the value itself (s += "\n"; s.splitlines()), so only strings get through.
    if (v.is_undefined()) fail_undefined(v);
    if (v.is_sequence() && v.seq().kind == SeqKind::List) fail("'list' object has no attribute 'splitlines'");
    if (!v.is_string()) fail("unsupported operand type(s) for +=: '" + type_name(v) + "' and 'str'");
    const Value& s = v;
    // Jinja2 appends a newline first so that splitlines() keeps a trailing empty line.
    std::vector<std::string> lines = py_splitlines(s.str() + "\n", false);
    std::string out;
    if (blank) {
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (i) out += "\n" + indention;
            out += lines[i];
        }
    } else {
        out = lines.empty() ? "" : lines.front();
        for (std::size_t i = 1; i < lines.size(); ++i) {
            out += "\n";
            if (!lines[i].empty()) out += indention;
            out += lines[i];
        }
    }
    if (first) out = indention + out;
    interp.check_size(out.size());
    return Value::string(std::move(out), s.is_safe());
}

Value f_items(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_items", args, {});
    if (v.is_undefined()) return generator({});
    if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
    std::vector<Value> out;
    for (const auto& [k, val] : v.dict().entries) out.push_back(Value::sequence({k, val}, SeqKind::Tuple));
    return generator(std::move(out));
}

Value f_join(Interpreter& interp, const Value& v, CallArgs& args) {
    ArgBinder a("do_join", args, {"d", "attribute"});
    std::string sep = a.get(0) ? to_str(*a.get(0)) : "";
    std::unique_ptr<AttrGetter> getter;
    if (a.get(1) && !a.get(1)->is_none()) getter = std::make_unique<AttrGetter>(interp, a.get(1));
    std::string out;
    bool first = true;
    auto seq = iterate(v);
    for (const auto& item : seq->items) {
        if (!first) out += sep;
        first = false;
        append_str(out, getter ? (*getter)(item) : item);
        interp.check_size(out.size());
    }
    return Value::string(std::move(out));
}

Value f_list(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_list", args, {});
    return Value::sequence(iterate(v)->items);
}

Value f_lower(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_lower", args, {});
    Value s = soft_str(v);
    return Value::string(to_lower(s.str()), s.is_safe());
}

Value f_upper(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_upper", args, {});
    Value s = soft_str(v);
    return Value::string(to_upper(s.str()), s.is_safe());
}

Value f_map(Interpreter& interp, const Value& v, CallArgs& args) {
    if (!v.truthy()) return generator({});
    auto items = iterate(v);
    std::vector<Value> out;
    out.reserve(items->items.size());
    if (args.positional.empty()) {
        const Value* attribute = nullptr;
        const Value* fallback = nullptr;
        for (const auto& [k, val] : args.named) {
            if (k == "attribute") attribute = &val;
            else if (k == "default") fallback = &val;
            else fail("Unexpected keyword argument '" + k + "'");
        }
        if (!attribute) fail("map requires a filter argument");
        AttrGetter getter(interp, attribute, fallback);
        for (const auto& item : items->items) out.push_back(getter(item));
        return generator(std::move(out));
    }
    std::string name = expect_string(args.positional.front(), "filter name");
    for (const auto& item : items->items) {
        CallArgs rest;
        rest.positional.assign(args.positional.begin() + 1, args.positional.end());
        rest.named = args.named;
        out.push_back(interp.call_filter(name, item, rest));
    }
    return generator(std::move(out));
}

Value min_or_max(Interpreter& interp, const Value& v, CallArgs& args, bool want_max) {
    ArgBinder a(want_max ? "do_max" : "do_min", args, {"case_sensitive", "attribute"});
    auto items = iterate(v);
    if (items->items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    AttrGetter key(interp, a.get(1), nullptr, !truthy_arg(a.get(0)));
    std::size_t best = 0;
    Value best_key = key(items->items[0]);
    for (std::size_t i = 1; i < items->items.size(); ++i) {
        Value k = key(items->items[i]);
        if (want_max ? less(best_key, k) : less(k, best_key)) {
            best = i;
            best_key = k;
        }
    }
    return items->items[best];
}

Value f_max(Interpreter& interp, const Value& v, CallArgs& args) { return min_or_max(interp, v, args, true); }
Value f_min(Interpreter& interp, const Value& v, CallArgs& args) { return min_or_max(interp, v, args, false); }

Value f_pprint(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_pprint", args, {});
    std::string out;
    append_repr(out, v);
    return Value::string(std::move(out));
}

Value select_or_reject(Interpreter& interp, const Value& v, CallArgs& args, bool select, bool by_attribute) {
    if (!v.truthy()) return generator({});
    std::size_t offset = 0;
    std::unique_ptr<AttrGetter> getter;
    if (by_attribute) {
        if (args.positional.empty()) fail("Missing parameter for attribute name");
        getter = std::make_unique<AttrGetter>(interp, &args.positional[0]);
        offset = 1;
    }
    std::string test;
    if (args.positional.size() > offset) test = expect_string(args.positional[offset], "test name");
    std::vector<Value> out;
    auto seq = iterate(v);
    for (const auto& item : seq->items) {
        Value subject = getter ? (*getter)(item) : item;
        bool ok;
        if (test.empty()) {
            ok = subject.truthy();
        } else {
            CallArgs rest;
            rest.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(offset + 1), args.positional.end());
            rest.named = args.named;
            ok = interp.call_test(test, subject, rest);
        }
        if (ok == select) out.push_back(item);
    }
    return generator(std::move(out));
}

Value f_select(Interpreter& i, const Value& v, CallArgs& a) { return select_or_reject(i, v, a, true, false); }
Value f_reject(Interpreter& i, const Value& v, CallArgs& a) { return select_or_reject(i, v, a, false, false); }
Value f_selectattr(Interpreter& i, const Value& v, CallArgs& a) { return select_or_reject(i, v, a, true, true); }
Value f_rejectattr(Interpreter& i, const Value& v, CallArgs& a) { return select_or_reject(i, v, a, false, true); }

Value f_replace(Interpreter& interp, const Value& v, CallArgs& args) {
    ArgBinder a("do_replace", args, {"old", "new", "count"}, 2);
    std::int64_t count = a.get(2) && !a.get(2)->is_none() ? expect_int(*a.get(2), "count") : -1;
    std::string out = py_replace(to_str(v), to_str(*a.get(0)), to_str(*a.get(1)), count);
    interp.check_size(out.size());
    return Value::string(std::move(out));
}

Value f_reverse(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_reverse", args, {});
    if (v.is_string()) {
        std::vector<std::uint32_t> cps = to_code_points(v.str());
        std::string out;
        for (auto it = cps.rbegin(); it != cps.rend(); ++it) append_utf8(out, *it);
        return Value::string(std::move(out), v.is_safe());
    }
    std::vector<Value> items = iterate(v)->items;
    std::reverse(items.begin(), items.end());
    bool reversible = v.is_undefined() || v.is_dict() ||
                      (v.is_sequence() && v.seq().kind != SeqKind::Generator && v.seq().kind != SeqKind::Reversed);
    // reversed() where Python allows it, else a reversed list, as Jinja2 falls back to.
    return Value::sequence(std::move(items), reversible ? SeqKind::Reversed : SeqKind::List);
}

// Python's round(x, n) for floats: the correctly rounded decimal, ties to even.
double round_half_even(double x, std::int64_t digits) {
    if (std::isnan(x) || std::isinf(x)) return x;
    if (digits > 300) return x;
    if (digits >= 0) {
        char buf[512];
        std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(digits), x);
        return std::strtod(buf, nullptr);
    }
    double scale = std::pow(10.0, static_cast<double>(-digits));
    double scaled = x / scale;
    double r = std::nearbyint(scaled);
    return r * scale;
}

Value f_round(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder a("do_round", args, {"precision", "method"});
    std::int64_t precision = a.get(0) ? expect_int(*a.get(0), "precision") : 0;
    std::string method = a.get(1) ? expect_string(*a.get(1), "method") : "common";
    if (method != "common" && method != "ceil" && method != "floor") fail("method must be common, ceil or floor");
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_number()) fail("type " + type_name(v) + " doesn't define __round__ method");
    if (method == "common") {
        if (v.is_integral()) return Value::integer(v.as_int());
        return Value::floating(round_half_even(v.as_float(), precision));
    }
    double scale = std::pow(10.0, static_cast<double>(precision));
    double x = v.as_float() * scale;
    return Value::floating((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Value f_safe(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_mark_safe", args, {});
    return Value::string(to_str(v), true);
}

Value f_slice(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder a("do_slice", args, {"slices", "fill_with"}, 1);
    std::int64_t slices = expect_int(*a.get(0), "slices");
    if (slices <= 0) fail("slices must be positive");
    auto sequence = iterate(v);
    const auto& seq = sequence->items;
    auto length = static_cast<std::int64_t>(seq.size());
    std::int64_t per = length / slices, extra = length % slices, offset = 0;
    std::vector<Value> out;
    for (std::int64_t n = 0; n < slices; ++n) {
        std::int64_t start = offset + n * per;
        if (n < extra) ++offset;
        std::int64_t end = offset + (n + 1) * per;
        std::vector<Value> part(seq.begin() + start, seq.begin() + end);
        if (a.get(1) && !a.get(1)->is_none() && n >= extra) part.push_back(*a.get(1));
        out.push_back(Value::sequence(std::move(part)));
    }
    return generator(std::move(out));
}

Value f_sort(Interpreter& interp, const Value& v, CallArgs& args) {
    ArgBinder a("do_sort", args, {"reverse", "case_sensitive", "attribute"});
    bool reverse = truthy_arg(a.get(0));
    bool case_sensitive = truthy_arg(a.get(1));
    std::vector<Value> items = iterate(v)->items;
    // Several attributes may be given as "a,b"; the key is then the list of them.
    std::vector<AttrGetter> getters;
    if (a.get(2) && a.get(2)->is_string()) {
        for (const auto& part : py_split(a.get(2)->str(), std::string_view(","), -1)) {
            Value attribute = Value::string(part);
            getters.emplace_back(interp, &attribute, nullptr, !case_sensitive);
        }
    } else {
        getters.emplace_back(interp, a.get(2), nullptr, !case_sensitive);
    }
    std::vector<Value> keys;
    keys.reserve(items.size());
    for (const auto& item : items) {
        std::vector<Value> parts;
        for (const auto& g : getters) parts.push_back(g(item));
        keys.push_back(Value::sequence(std::move(parts)));
    }
    std::vector<std::size_t> order(items.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
        return reverse ? less(keys[y], keys[x]) : less(keys[x], keys[y]);
    });
    std::vector<Value> out;
    out.reserve(items.size());
    for (std::size_t i : order) out.push_back(items[i]);
    return Value::sequence(std::move(out));
}

Value f_string(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("soft_str", args, {});
    return soft_str(v);
}

Value f_striptags(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_striptags", args, {});
    std::string s = to_str(v), text;
    for (std::size_t i = 0; i < s.size();) {
        if (s.compare(i, 4, "<!--") == 0) {
            std::size_t end = s.find("-->", i + 4);
            if (end == std::string::npos) break;
            i = end + 3;
        } else if (s[i] == '<') {
            std::size_t end = s.find('>', i + 1);
            if (end == std::string::npos) {
                text += s.substr(i);
                break;
            }
            i = end + 1;
        } else {
            text += s[i++];
        }
    }
    std::string out;
    for (const auto& word : py_split(text, std::nullopt, -1)) {
        if (!out.empty()) out += ' ';
        out += word;
    }
    static const std::pair<const char*, const char*> entities[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#34;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
    for (const auto& [entity, ch] : entities) out = py_replace(out, entity, ch, -1);
    return Value::string(std::move(out));
}

Value f_sum(Interpreter& interp, const Value& v, CallArgs& args) {
    ArgBinder a("do_sum", args, {"attribute", "start"});
    std::unique_ptr<AttrGetter> getter;
    if (a.get(0) && !a.get(0)->is_none()) getter = std::make_unique<AttrGetter>(interp, a.get(0));
    Value total = a.get_or(1, Value::integer(0));
    auto seq = iterate(v);
    for (const auto& item : seq->items) total = binary_op(interp, BinaryOp::Add, total, getter ? (*getter)(item) : item);
    return total;
}

Value f_title(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_title", args, {});
    Value s = soft_str(v);
    // Words start after "-", whitespace or an opening bracket; each is capitalized.
    auto is_boundary = [](std::uint32_t cp) {
        return is_space(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
    };
    std::string out;
    bool word_start = true;
    const std::string& text = s.str();
    for (std::size_t i = 0; i < text.size();) {
        std::uint32_t cp = decode_utf8(text, i);
        if (is_boundary(cp)) {
            append_utf8(out, cp);
            word_start = true;
            continue;
        }
        append_utf8(out, word_start ? to_upper_cp(cp) : to_lower_cp(cp));
        word_start = false;
    }
    return Value::string(std::move(out), s.is_safe());
}

Value f_tojson(Interpreter& interp, const Value& v, CallArgs& args) {
    // transformers replaces Jinja2's tojson with json.dumps(x, ensure_ascii=False, indent=..., separators=...,
    // sort_keys=...): no HTML escaping, insertion order kept.
    ArgBinder a("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
    JsonOptions options;
    options.ensure_ascii = truthy_arg(a.get(0));
    options.sort_keys = truthy_arg(a.get(3));
    if (const Value* indent = a.get(1); indent && !indent->is_none()) {
        if (indent->is_string()) options.indent = indent->str();
        else options.indent = std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, expect_int(*indent, "indent"))), ' ');
        options.item_separator = ",";
    }
    if (const Value* sep = a.get(2); sep && !sep->is_none()) {
        auto parts = iterate(*sep);
        if (parts->items.size() != 2) fail("separators must be a pair of strings");
        options.item_separator = expect_string(parts->items[0], "item separator");
        options.key_separator = expect_string(parts->items[1], "key separator");
    }
    std::string out = to_json(v, options);
    interp.check_size(out.size());
    return Value::string(std::move(out));
}

Value f_trim(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder a("do_trim", args, {"chars"});
    Value s = soft_str(v);
    std::optional<std::string_view> chars;
    if (a.get(0) && !a.get(0)->is_none()) chars = std::string_view(expect_string(*a.get(0), "strip arg"));
    return Value::string(std::string(strip(s.str(), chars, StripSide::Both)), s.is_safe());
}

Value f_truncate(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder a("do_truncate", args, {"length", "killwords", "end", "leeway"});
    std::int64_t length = a.get(0) ? expect_int(*a.get(0), "length") : 255;
    bool killwords = truthy_arg(a.get(1));
    std::string end = a.get(2) ? expect_string(*a.get(2), "end") : "...";
    std::int64_t leeway = a.get(3) && !a.get(3)->is_none() ? expect_int(*a.get(3), "leeway") : 5;
    auto end_len = static_cast<std::int64_t>(utf8_length(end));
    if (length < end_len) fail("expected length >= " + std::to_string(end_len) + ", got " + std::to_string(length));
    if (leeway < 0) fail("expected leeway >= 0, got " + std::to_string(leeway));
    if (!v.is_string()) {
        // Jinja2 applies len() and slicing to the value itself: short values pass through.
        if (static_cast<std::int64_t>(python_len(v)) <= length + leeway) return v;
        fail("'" + type_name(v) + "' object has no attribute 'rsplit'");
    }
    const std::string& s = v.str();
    auto offsets = code_point_offsets(s);
    auto n = static_cast<std::int64_t>(offsets.size() - 1);
    if (n <= length + leeway) return v;
    std::string head = s.substr(0, offsets[static_cast<std::size_t>(length - end_len)]);
    if (killwords) return Value::string(head + end, v.is_safe());
    std::size_t space = head.rfind(' ');
    if (space != std::string::npos) head.resize(space);
    return Value::string(head + end, v.is_safe());
}

Value f_unique(Interpreter& interp, const Value& v, CallArgs& args) {
    ArgBinder a("do_unique", args, {"case_sensitive", "attribute"});
    AttrGetter key(interp, a.get(1), nullptr, !truthy_arg(a.get(0)));
    std::vector<Value> seen, out;
    auto seq = iterate(v);
    for (const auto& item : seq->items) {
        Value k = key(item);
        if (unhashable(k)) fail("unhashable type: '" + type_name(k) + "'");  // Jinja2 keeps a set of keys
        if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) continue;
        seen.push_back(k);
        out.push_back(item);
    }
    return generator(std::move(out));
}

Value f_wordcount(Interpreter&, const Value& v, CallArgs& args) {
    ArgBinder("do_wordcount", args, {});
    std::string s = to_str(v);
    std::int64_t words = 0;
    bool in_word = false;
    for (std::size_t i = 0; i < s.size();) {
        std::uint32_t cp = decode_utf8(s, i);
        bool word_char = is_alpha(cp) || is_digit(cp) || cp == '_';
        if (word_char && !in_word) ++words;
        in_word = word_char;
    }
    return Value::integer(words);
}

Value f_unsupported(Interpreter&, const Value&, CallArgs&) {
    fail("this Jinja2 filter (random, urlize, urlencode, wordwrap, xmlattr or filesizeformat) is not supported "
         "in chat templates");
}

const std::unordered_map<std::string_view, FilterFn>& filter_table() {
    static const std::unordered_map<std::string_view, FilterFn> table = {
        {"abs", f_abs},         {"attr", f_attr},           {"batch", f_batch},       {"capitalize", f_capitalize},
        {"center", f_center},   {"count", f_length},        {"d", f_default},         {"default", f_default},
        {"dictsort", f_dictsort}, {"e", f_escape},          {"escape", f_escape},     {"filesizeformat", f_unsupported},
        {"first", f_first},     {"float", f_float},         {"forceescape", f_forceescape}, {"format", f_format},
        {"groupby", f_groupby}, {"indent", f_indent},       {"int", f_int},           {"join", f_join},
        {"last", f_last},       {"length", f_length},       {"list", f_list},         {"lower", f_lower},
        {"items", f_items},     {"map", f_map},             {"min", f_min},           {"max", f_max},
        {"pprint", f_pprint},   {"random", f_unsupported},  {"reject", f_reject},     {"rejectattr", f_rejectattr},
        {"replace", f_replace}, {"reverse", f_reverse},     {"round", f_round},       {"safe", f_safe},
        {"select", f_select},   {"selectattr", f_selectattr}, {"slice", f_slice},     {"sort", f_sort},
        {"string", f_string},   {"striptags", f_striptags}, {"sum", f_sum},           {"title", f_title},
        {"trim", f_trim},       {"truncate", f_truncate},   {"unique", f_unique},     {"upper", f_upper},
        {"urlencode", f_unsupported}, {"urlize", f_unsupported}, {"wordcount", f_wordcount},
        {"wordwrap", f_unsupported}, {"xmlattr", f_unsupported}, {"tojson", f_tojson},
    };
    return table;
}

}  // namespace

FilterFn find_filter(std::string_view name) {
    const auto& table = filter_table();
    auto it = table.find(name);
    return it == table.end() ? nullptr : it->second;
}

}  // namespace ascent::templates::jinja
