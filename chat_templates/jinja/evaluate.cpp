// Expression evaluation: names, attribute and item lookup with Jinja2's sandbox
// rules, calls, filters, tests, comparisons and slicing.
#include "chat_templates/jinja/builtins.h"
#include "chat_templates/jinja/interpreter.h"
#include "chat_templates/jinja/operators.h"
#include "chat_templates/jinja/pyformat.h"
#include "chat_templates/jinja/unicode.h"

namespace ascent::templates::jinja {

Value Interpreter::lookup(std::string_view name) {
    for (Scope* s = scope_.get(); s; s = s->parent.get())
        if (Value* v = s->find_local(name)) return *v;
    if (const Value* g = find_global(name)) return *g;
    return Value::undefined(str_cat({"'", name, "' is undefined"}));
}

Value Interpreter::eval(const Expr& expr) {
    NativeDepthGuard guard(*this);
    switch (expr.kind) {
    case ExprKind::Const: return static_cast<const ConstExpr&>(expr).value;
    case ExprKind::Name: return lookup(static_cast<const NameExpr&>(expr).name);
    case ExprKind::Getattr: {
        const auto& g = static_cast<const GetattrExpr&>(expr);
        Value obj = eval(*g.object);
        pos_ = g.pos;
        return getattr(obj, g.attr);
    }
    case ExprKind::Getitem: return eval_getitem(static_cast<const GetitemExpr&>(expr));
    case ExprKind::Slice: {
        pos_ = expr.pos;
        fail("a slice is only valid inside []");
    }
    case ExprKind::Call: return eval_call(static_cast<const CallExpr&>(expr), nullptr);
    case ExprKind::Filter: return eval_filter(static_cast<const FilterExpr&>(expr));
    case ExprKind::Test: return Value::boolean(eval_test(static_cast<const TestExpr&>(expr)));
    case ExprKind::Neg:
    case ExprKind::Pos: {
        Value v = eval(*static_cast<const UnaryExpr&>(expr).operand);
        pos_ = expr.pos;
        return expr.kind == ExprKind::Neg ? unary_minus(v) : unary_plus(v);
    }
    case ExprKind::Not: return Value::boolean(!eval(*static_cast<const UnaryExpr&>(expr).operand).truthy());
    case ExprKind::Binary: {
        const auto& b = static_cast<const BinaryExpr&>(expr);
        Value left = eval(*b.left);
        Value right = eval(*b.right);
        pos_ = b.pos;
        return binary_op(*this, b.op, left, right);
    }
    case ExprKind::And: {
        const auto& b = static_cast<const BinaryExpr&>(expr);
        Value left = eval(*b.left);
        if (!left.truthy()) return left;
        return eval(*b.right);
    }
    case ExprKind::Or: {
        const auto& b = static_cast<const BinaryExpr&>(expr);
        Value left = eval(*b.left);
        if (left.truthy()) return left;
        return eval(*b.right);
    }
    case ExprKind::Concat: {
        std::string text;
        for (const auto& part : static_cast<const ConcatExpr&>(expr).parts) {
            append_str(text, eval(*part));
            check_size(text.size());
        }
        return Value::string(std::move(text));
    }
    case ExprKind::Compare: return eval_compare(static_cast<const CompareExpr&>(expr));
    case ExprKind::CondExpr: {
        const auto& c = static_cast<const CondExpr&>(expr);
        if (eval(*c.test).truthy()) return eval(*c.then);
        if (c.otherwise) return eval(*c.otherwise);
        return Value::undefined("the inline if-expression on line " + std::to_string(c.pos.line) +
                                " evaluated to false and no else section was defined.");
    }
    case ExprKind::List:
    case ExprKind::Tuple: {
        const auto& l = static_cast<const ListExpr&>(expr);
        std::vector<Value> items;
        items.reserve(l.items.size());
        for (const auto& item : l.items) items.push_back(eval(*item));
        return Value::sequence(std::move(items), expr.kind == ExprKind::List ? SeqKind::List : SeqKind::Tuple);
    }
    case ExprKind::Dict: {
        auto d = std::make_shared<DictObject>();
        for (const auto& [k, v] : static_cast<const DictExpr&>(expr).items) {
            Value key = eval(*k);
            Value value = eval(*v);
            if (unhashable(key)) {
                pos_ = k->pos;
                fail("unhashable type: '" + type_name(key) + "'");
            }
            d->set(std::move(key), std::move(value));
        }
        return Value::dict(std::move(d));
    }
    case ExprKind::BlockInput: return block_input_;
    }
    return Value();
}

void Interpreter::eval_args(const Arguments& args, CallArgs& out) {
    out.positional.reserve(args.positional.size());
    for (const auto& p : args.positional) out.positional.push_back(eval(*p));
    for (const auto& [name, p] : args.named) out.named.emplace_back(name, eval(*p));
    if (args.star) {
        Value extra = eval(*args.star);
        pos_ = args.star->pos;
        auto extra_items = iterate(extra);
        for (const auto& v : extra_items->items) out.positional.push_back(v);
    }
    if (args.star_star) {
        Value extra = eval(*args.star_star);
        pos_ = args.star_star->pos;
        if (!extra.is_dict()) fail("argument after ** must be a mapping, not " + type_name(extra));
        for (const auto& [k, v] : extra.dict().entries) {
            if (!k.is_string()) fail("keywords must be strings");
            out.named.emplace_back(k.str(), v);
        }
    }
}

Value Interpreter::eval_call(const CallExpr& expr, const Value* caller) {
    CallArgs args;
    Value callee;
    if (expr.callee->kind == ExprKind::Getattr) {
        // obj.method(...) without building a bound-method object first.
        const auto& g = static_cast<const GetattrExpr&>(*expr.callee);
        Value obj = eval(*g.object);
        MethodKind kind = obj.is_undefined() ? MethodKind::None : method_kind(obj, g.attr);
        if (kind == MethodKind::Safe && !caller) {
            eval_args(expr.args, args);
            pos_ = expr.pos;
            return call_method(*this, obj, g.attr, args);
        }
        pos_ = g.pos;
        callee = getattr(obj, g.attr);
    } else {
        callee = eval(*expr.callee);
    }
    eval_args(expr.args, args);
    if (caller) args.named.emplace_back("caller", *caller);
    pos_ = expr.pos;
    return call(callee, args);
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
    switch (callee.kind()) {
    case Kind::Callable: {
        auto fn = callee.callable_ptr();  // keeps the callable alive while it runs
        return fn->call(*this, args);
    }
    case Kind::Undefined: fail_undefined(callee);
    case Kind::Loop:
        if (!callee.loop().recurse) fail("The loop must have the 'recursive' marker to be called recursively.");
        return callee.loop().recurse->call(*this, args);
    default: fail("'" + type_name(callee) + "' object is not callable");
    }
}

Value Interpreter::eval_filter(const FilterExpr& expr) {
    Value operand = eval(*expr.operand);
    CallArgs args;
    eval_args(expr.args, args);
    pos_ = expr.pos;
    if (!expr.fn) fail("No filter named '" + expr.name + "' found.");
    return expr.fn(*this, operand, args);
}

bool Interpreter::eval_test(const TestExpr& expr) {
    Value operand = eval(*expr.operand);
    CallArgs args;
    eval_args(expr.args, args);
    pos_ = expr.pos;
    if (!expr.fn) fail("No test named '" + expr.name + "' found.");
    return expr.fn(*this, operand, args);
}

Value Interpreter::call_filter(std::string_view name, const Value& operand, CallArgs& args) {
    FilterFn fn = find_filter(name);
    if (!fn) fail("No filter named '" + std::string(name) + "' found.");
    return fn(*this, operand, args);
}

bool Interpreter::call_test(std::string_view name, const Value& operand, CallArgs& args) {
    TestFn fn = find_test(name);
    if (!fn) fail("No test named '" + std::string(name) + "' found.");
    return fn(*this, operand, args);
}

static bool compare(CompareOp op, const Value& a, const Value& b) {
    switch (op) {
    case CompareOp::Eq: return equals(a, b);
    case CompareOp::Ne: return !equals(a, b);
    case CompareOp::Lt: return less(a, b);
    case CompareOp::Le: return less(a, b) || equals(a, b);
    case CompareOp::Gt: return less(b, a);
    case CompareOp::Ge: return less(b, a) || equals(a, b);
    case CompareOp::In: return contains(b, a);
    case CompareOp::NotIn: return !contains(b, a);
    }
    return false;
}

Value Interpreter::eval_compare(const CompareExpr& expr) {
    Value left = eval(*expr.first);
    for (const auto& [op, operand] : expr.rest) {
        Value right = eval(*operand);
        pos_ = expr.pos;
        if (!compare(op, left, right)) return Value::boolean(false);
        left = std::move(right);
    }
    return Value::boolean(true);
}

namespace {

std::string element_message(const Value& obj, const Value& key) {
    std::string r;
    append_repr(r, key);
    return object_type_repr(obj) + " has no element " + r;
}

// Python's slice.indices() followed by the walk over them.
std::vector<std::size_t> slice_positions(std::size_t length, const Value& start_v, const Value& stop_v,
                                         const Value& step_v) {
    auto len = static_cast<std::int64_t>(length);
    std::int64_t step = step_v.is_none() ? 1 : step_v.as_int();
    if (step == 0) fail("slice step cannot be zero");
    std::int64_t lower = step < 0 ? -1 : 0;
    std::int64_t upper = step < 0 ? len - 1 : len;
    auto adjust = [&](const Value& v, std::int64_t fallback) {
        if (v.is_none()) return fallback;
        std::int64_t i = v.as_int();
        if (i < 0) {
            i += len;
            if (i < lower) i = lower;
        } else if (i > upper) {
            i = upper;
        }
        return i;
    };
    std::int64_t start = adjust(start_v, step < 0 ? upper : lower);
    std::int64_t stop = adjust(stop_v, step < 0 ? lower : upper);
    std::vector<std::size_t> out;
    if (step > 0)
        for (std::int64_t i = start; i < stop; i += step) out.push_back(static_cast<std::size_t>(i));
    else
        for (std::int64_t i = start; i > stop; i += step) out.push_back(static_cast<std::size_t>(i));
    return out;
}

}  // namespace

Value Interpreter::eval_getitem(const GetitemExpr& expr) {
    Value obj = eval(*expr.object);
    if (expr.index->kind != ExprKind::Slice) {
        Value key = eval(*expr.index);
        pos_ = expr.pos;
        return getitem(obj, key);
    }
    const auto& s = static_cast<const SliceExpr&>(*expr.index);
    Value parts[3];
    const ExprPtr* exprs[3] = {&s.start, &s.stop, &s.step};
    for (int k = 0; k < 3; ++k) parts[k] = *exprs[k] ? eval(**exprs[k]) : Value::none();
    pos_ = expr.pos;
    // Jinja2 compiles a slice to Python's own subscript, without the undefined-on-failure
    // lookup of plain subscripts, so slicing the wrong type is an error.
    if (obj.is_undefined()) fail_undefined(obj);
    bool sliceable = obj.is_string() || (obj.is_sequence() && (obj.seq().kind == SeqKind::List ||
                                                              obj.seq().kind == SeqKind::Tuple));
    if (obj.is_dict()) fail("unhashable type: 'slice'");
    if (!sliceable) fail("'" + type_name(obj) + "' object is not subscriptable");
    for (const auto& p : parts)
        if (!p.is_none() && !p.is_integral()) fail("slice indices must be integers or None or have an __index__ method");
    if (obj.is_sequence() && (obj.seq().kind == SeqKind::List || obj.seq().kind == SeqKind::Tuple)) {
        const auto& items = obj.seq().items;
        std::vector<Value> out;
        for (std::size_t i : slice_positions(items.size(), parts[0], parts[1], parts[2])) out.push_back(items[i]);
        return Value::sequence(std::move(out), obj.seq().kind);
    }
    if (obj.is_string()) {
        const std::string& text = obj.str();
        std::string out;
        if (is_ascii(text)) {
            for (std::size_t i : slice_positions(text.size(), parts[0], parts[1], parts[2])) out += text[i];
        } else {
            auto offsets = code_point_offsets(text);
            for (std::size_t i : slice_positions(offsets.size() - 1, parts[0], parts[1], parts[2]))
                out.append(text, offsets[i], offsets[i + 1] - offsets[i]);
        }
        return Value::string(std::move(out), obj.is_safe());
    }
    fail("'" + type_name(obj) + "' object is not subscriptable");
}

Value Interpreter::getattr(const Value& obj, std::string_view name) {
    switch (obj.kind()) {
    case Kind::Undefined: fail_undefined(obj);
    case Kind::Namespace:
        if (const Value* v = obj.ns().attributes.find(name)) return *v;
        break;
    case Kind::Loop: {
        Value v = loop_attribute(obj, name);
        if (!v.is_undefined()) return v;
        break;
    }
    default: {
        // Attributes (methods) come before keys: `message.items` is dict.items.
        MethodKind kind = method_kind(obj, name);
        if (kind == MethodKind::Safe) return bound_method(obj, name);
        if (kind == MethodKind::Unsafe) return unsafe_attribute(obj, name);
        if (obj.is_dict())
            if (const Value* v = obj.dict().find(name)) return *v;
        break;
    }
    }
    return Value::undefined(str_cat({"'", object_type_repr(obj), "' has no attribute '", name, "'"}));
}

Value Interpreter::getitem(const Value& obj, const Value& key) {
    switch (obj.kind()) {
    case Kind::Undefined: fail_undefined(obj);
    case Kind::Dict:
        if (!unhashable(key))
            if (const Value* v = obj.dict().find(key)) return *v;
        break;
    case Kind::Sequence: {
        const auto& s = obj.seq();
        if (key.is_integral() && (s.kind == SeqKind::List || s.kind == SeqKind::Tuple)) {
            auto n = static_cast<std::int64_t>(s.items.size());
            std::int64_t i = key.as_int();
            if (i < 0) i += n;
            if (i >= 0 && i < n) return s.items[static_cast<std::size_t>(i)];
            return Value::undefined(element_message(obj, key));
        }
        break;
    }
    case Kind::String:
        if (key.is_integral()) {
            const std::string& text = obj.str();
            std::int64_t i = key.as_int();
            if (is_ascii(text)) {
                auto n = static_cast<std::int64_t>(text.size());
                if (i < 0) i += n;
                if (i >= 0 && i < n) return Value::string(std::string(1, text[static_cast<std::size_t>(i)]), obj.is_safe());
            } else {
                auto offsets = code_point_offsets(text);
                auto n = static_cast<std::int64_t>(offsets.size() - 1);
                if (i < 0) i += n;
                if (i >= 0 && i < n) {
                    auto k = static_cast<std::size_t>(i);
                    return Value::string(text.substr(offsets[k], offsets[k + 1] - offsets[k]), obj.is_safe());
                }
            }
            return Value::undefined(element_message(obj, key));
        }
        break;
    default: break;
    }
    if (key.is_string()) {
        // Jinja2 falls back to the attribute for a string subscript: loop['index'], x['items'].
        if (obj.kind() == Kind::Namespace || obj.kind() == Kind::Loop) return getattr(obj, key.str());
        MethodKind kind = method_kind(obj, key.str());
        if (kind == MethodKind::Safe) return bound_method(obj, key.str());
        if (kind == MethodKind::Unsafe) return unsafe_attribute(obj, key.str());
        return Value::undefined(str_cat({"'", object_type_repr(obj), "' has no attribute '", key.str(), "'"}));
    }
    return Value::undefined(element_message(obj, key));
}

}  // namespace ascent::templates::jinja
