#include "chat_templates/jinja/interpreter.h"

#include <chrono>

#include "chat_templates/jinja/builtins.h"
#include "chat_templates/jinja/operators.h"
#include "chat_templates/jinja/pyformat.h"
#include "chat_templates/jinja/unicode.h"

namespace ascent::templates::jinja {

namespace {

struct MacroObject : CallableObject {
    MacroObject(const MacroDef* d, std::shared_ptr<Scope> c) : def(d), closure(std::move(c)) {}
    const MacroDef* def;
    std::shared_ptr<Scope> closure;  // the frame it was defined in; names resolve there at call time

    Value call(Interpreter& interp, CallArgs& args) override { return interp.invoke_macro(*def, closure, args); }
    std::string repr() const override { return "<Macro '" + def->name + "'>"; }
};

struct LoopRecursion : CallableObject {
    LoopRecursion(const ForStmt* s, std::shared_ptr<Scope> c, int d) : stmt(s), closure(std::move(c)), depth0(d) {}
    const ForStmt* stmt;
    std::shared_ptr<Scope> closure;
    int depth0;

    Value call(Interpreter& interp, CallArgs& args) override {
        if (args.positional.size() != 1 || !args.named.empty()) fail("loop() takes exactly one argument");
        return interp.recurse_loop(*stmt, closure, args.positional[0], depth0 + 1);
    }
    std::string repr() const override { return "<bound method LoopContext.__call__>"; }
};

std::shared_ptr<const SequenceObject> empty_sequence() {
    static const auto empty = std::make_shared<const SequenceObject>(std::vector<Value>{}, SeqKind::List);
    return empty;
}

}  // namespace

Value* Scope::find_local(std::string_view name) {
    for (auto& [k, v] : vars)
        if (k == name) return &v;
    return nullptr;
}

void Scope::set(std::string_view name, Value value) {
    if (Value* v = find_local(name)) {
        *v = std::move(value);
        return;
    }
    vars.emplace_back(std::string(name), std::move(value));
}

Value from_json(const nlohmann::ordered_json& j) {
    switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::integer(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
        auto u = j.get<std::uint64_t>();
        if (u <= static_cast<std::uint64_t>(INT64_MAX)) return Value::integer(static_cast<std::int64_t>(u));
        return Value::floating(static_cast<double>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value::floating(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
        std::vector<Value> items;
        items.reserve(j.size());
        for (const auto& e : j) items.push_back(from_json(e));
        return Value::sequence(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
        auto d = std::make_shared<DictObject>();
        d->entries.reserve(j.size());
        for (auto it = j.begin(); it != j.end(); ++it) d->set(it.key(), from_json(it.value()));
        return Value::dict(std::move(d));
    }
    default: return Value::undefined("unsupported JSON value");
    }
}

std::shared_ptr<const SequenceObject> iterate(const Value& v) {
    switch (v.kind()) {
    case Kind::Undefined: return empty_sequence();
    case Kind::Sequence: return v.seq_ptr();
    case Kind::Dict: {
        std::vector<Value> keys;
        keys.reserve(v.dict().entries.size());
        for (const auto& [k, val] : v.dict().entries) keys.push_back(k);
        return std::make_shared<const SequenceObject>(std::move(keys), SeqKind::List);
    }
    case Kind::String: {
        std::vector<Value> chars;
        const std::string& s = v.str();
        for (std::size_t i = 0; i < s.size();) {
            std::size_t start = i;
            decode_utf8(s, i);
            chars.push_back(Value::string(s.substr(start, i - start)));  // str.__iter__: Markup gives plain str
        }
        return std::make_shared<const SequenceObject>(std::move(chars), SeqKind::List);
    }
    default: fail("'" + type_name(v) + "' object is not iterable");
    }
}

Interpreter::Interpreter(const Program& program, const std::string& template_name, const RenderOptions& options)
    : program_(program), name_(template_name), options_(options) {}

Interpreter::~Interpreter() {
    // Macros keep the frame they were defined in alive and namespaces can hold
    // themselves; clearing both breaks every reference cycle a render can make.
    for (auto& weak : captured_scopes_) {
        if (auto scope = weak.lock()) {
            scope->vars.clear();
            scope->parent.reset();
        }
    }
    for (auto& weak : namespaces_)
        if (auto ns = weak.lock()) ns->attributes.entries.clear();
}

std::string Interpreter::render(const nlohmann::ordered_json& context) {
    if (!context.is_object())
        throw TemplateError(TemplateError::Kind::Render, "the template context must be a JSON object", name_, {});
    auto globals = std::make_shared<Scope>(nullptr);
    for (auto it = context.begin(); it != context.end(); ++it) globals->set(it.key(), from_json(it.value()));
    scope_ = std::make_shared<Scope>(globals);
    try {
        exec_body(program_.body);
    } catch (const ScriptError& e) {
        throw TemplateError(e.kind(), e.what(), name_, pos_);
    }
    return std::move(out_);
}

void Interpreter::check_output() {
    if (out_.size() > options_.limits.max_output_bytes)
        throw ScriptError("the rendered text exceeds the output limit of " +
                              std::to_string(options_.limits.max_output_bytes) + " bytes",
                          TemplateError::Kind::Limit);
}

void Interpreter::check_size(std::size_t bytes) const {
    if (bytes > options_.limits.max_output_bytes)
        throw ScriptError("a value built by the template exceeds the output limit of " +
                              std::to_string(options_.limits.max_output_bytes) + " bytes",
                          TemplateError::Kind::Limit);
}

std::tm Interpreter::now(int* microseconds) const {
    auto t = options_.now ? *options_.now : std::chrono::system_clock::now();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
    if (us < 0) us += 1000000;
    if (microseconds) *microseconds = static_cast<int>(us);
    std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    if (std::chrono::system_clock::from_time_t(seconds) > t) --seconds;  // to_time_t may round up
    std::tm tm{};
    if (options_.now) gmtime_r(&seconds, &tm);
    else localtime_r(&seconds, &tm);
    return tm;
}

void Interpreter::track_namespace(std::shared_ptr<NamespaceObject> ns) { namespaces_.push_back(std::move(ns)); }

// ----- statements -----

Interpreter::Flow Interpreter::exec_body(const Body& body) {
    for (const auto& stmt : body) {
        Flow flow = exec(*stmt);
        if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
}

Interpreter::Flow Interpreter::exec(const Stmt& stmt) {
    NativeDepthGuard guard(*this);
    pos_ = stmt.pos;
    switch (stmt.kind) {
    case StmtKind::Text:
        out_ += static_cast<const TextStmt&>(stmt).text;
        check_output();
        return Flow::Normal;
    case StmtKind::Output: {
        Value v = eval(*static_cast<const OutputStmt&>(stmt).expr);
        append_str(out_, v);
        check_output();
        return Flow::Normal;
    }
    case StmtKind::If: {
        const auto& s = static_cast<const IfStmt&>(stmt);
        for (const auto& [test, body] : s.branches)
            if (eval(*test).truthy()) return exec_body(body);
        return exec_body(s.otherwise);
    }
    case StmtKind::For: return exec_for(static_cast<const ForStmt&>(stmt));
    case StmtKind::Set: {
        const auto& s = static_cast<const SetStmt&>(stmt);
        Value v = eval(*s.value);
        assign(s.target, v);
        return Flow::Normal;
    }
    case StmtKind::SetBlock: exec_set_block(static_cast<const SetBlockStmt&>(stmt)); return Flow::Normal;
    case StmtKind::Macro: {
        const auto& def = *static_cast<const MacroStmt&>(stmt).def;
        captured_scopes_.push_back(scope_);
        scope_->set(def.name, Value::callable(std::make_shared<MacroObject>(&def, scope_)));
        return Flow::Normal;
    }
    case StmtKind::CallBlock: exec_call_block(static_cast<const CallBlockStmt&>(stmt)); return Flow::Normal;
    case StmtKind::FilterBlock: exec_filter_block(static_cast<const FilterBlockStmt&>(stmt)); return Flow::Normal;
    case StmtKind::With: exec_with(static_cast<const WithStmt&>(stmt)); return Flow::Normal;
    case StmtKind::Scope: {
        auto parent = scope_;
        scope_ = std::make_shared<Scope>(parent);
        exec_body(static_cast<const ScopeStmt&>(stmt).body);
        scope_ = parent;
        return Flow::Normal;
    }
    case StmtKind::Break: return Flow::Break;
    case StmtKind::Continue: return Flow::Continue;
    }
    return Flow::Normal;
}

Interpreter::Flow Interpreter::exec_for(const ForStmt& stmt) {
    Value iterable = eval(*stmt.iterable);
    pos_ = stmt.pos;
    render_loop(stmt, iterable, 0);
    return Flow::Normal;
}

void Interpreter::render_loop(const ForStmt& stmt, const Value& iterable, int depth0) {
    auto items = iterate(iterable);
    auto parent = scope_;
    if (stmt.filter) {
        // `for x in xs if cond`: the condition sees the loop target, and loop.* counts
        // only the items that pass.
        std::vector<Value> kept;
        auto probe = std::make_shared<Scope>(parent);
        for (const auto& item : items->items) {
            probe->vars.clear();
            scope_ = probe;
            assign(stmt.target, item);
            if (eval(*stmt.filter).truthy()) kept.push_back(item);
        }
        scope_ = parent;
        items = std::make_shared<const SequenceObject>(std::move(kept), SeqKind::List);
    }
    auto loop = std::make_shared<LoopObject>();
    loop->items = items;
    loop->depth0 = depth0;
    if (stmt.recursive) {
        captured_scopes_.push_back(parent);
        loop->recurse = std::make_shared<LoopRecursion>(&stmt, parent, depth0);
    }
    Value loop_value = Value::loop(loop);
    const auto& vec = items->items;
    std::shared_ptr<Scope> frame;
    for (std::size_t i = 0; i < vec.size(); ++i) {
        if (++iterations_ > options_.limits.max_loop_iterations) {
            pos_ = stmt.pos;
            throw ScriptError("the template ran more than " + std::to_string(options_.limits.max_loop_iterations) +
                                  " loop iterations",
                              TemplateError::Kind::Limit);
        }
        // Each iteration starts from a fresh frame, as in Jinja2; reuse the old one
        // unless a macro defined in it still refers to it.
        if (frame && frame.use_count() == 1) frame->vars.clear();
        else frame = std::make_shared<Scope>(parent);
        scope_ = frame;
        loop->index0 = i;
        assign(stmt.target, vec[i]);
        frame->set("loop", loop_value);
        Flow flow = exec_body(stmt.body);
        scope_ = parent;
        if (flow == Flow::Break) break;
    }
    if (vec.empty() && !stmt.otherwise.empty()) {
        scope_ = std::make_shared<Scope>(parent);
        exec_body(stmt.otherwise);
        scope_ = parent;
    }
}

Value Interpreter::recurse_loop(const ForStmt& stmt, const std::shared_ptr<Scope>& closure, const Value& iterable,
                                int depth0) {
    if (call_depth_ >= options_.limits.max_call_depth)
        throw ScriptError("recursive loop nested more than " + std::to_string(options_.limits.max_call_depth) +
                              " levels deep",
                          TemplateError::Kind::Limit);
    ++call_depth_;
    auto saved = scope_;
    scope_ = closure;
    std::size_t mark = out_.size();
    render_loop(stmt, iterable, depth0);
    std::string text = out_.substr(mark);
    out_.resize(mark);
    scope_ = saved;
    --call_depth_;
    return Value::string(std::move(text));
}

std::string Interpreter::capture(const Body& body) {
    std::size_t mark = out_.size();
    exec_body(body);
    std::string text = out_.substr(mark);
    out_.resize(mark);
    return text;
}

void Interpreter::exec_set_block(const SetBlockStmt& stmt) {
    auto parent = scope_;
    scope_ = std::make_shared<Scope>(parent);
    Value v = Value::string(capture(stmt.body));
    scope_ = parent;
    if (stmt.filter) {
        Value saved = block_input_;
        block_input_ = v;
        v = eval(*stmt.filter);
        block_input_ = saved;
    }
    assign(stmt.target, v);
}

void Interpreter::exec_call_block(const CallBlockStmt& stmt) {
    captured_scopes_.push_back(scope_);
    Value caller = Value::callable(std::make_shared<MacroObject>(stmt.caller.get(), scope_));
    Value result = eval_call(*stmt.call, &caller);
    append_str(out_, result);
    check_output();
}

void Interpreter::exec_filter_block(const FilterBlockStmt& stmt) {
    auto parent = scope_;
    scope_ = std::make_shared<Scope>(parent);
    Value text = Value::string(capture(stmt.body));
    scope_ = parent;
    Value saved = block_input_;
    block_input_ = text;
    Value result = eval(*stmt.filter);
    block_input_ = saved;
    append_str(out_, result);
    check_output();
}

void Interpreter::exec_with(const WithStmt& stmt) {
    std::vector<Value> values;
    for (const auto& v : stmt.values) values.push_back(eval(*v));
    auto parent = scope_;
    scope_ = std::make_shared<Scope>(parent);
    for (std::size_t i = 0; i < values.size(); ++i) assign(stmt.targets[i], values[i]);
    exec_body(stmt.body);
    scope_ = parent;
}

Value Interpreter::invoke_macro(const MacroDef& def, const std::shared_ptr<Scope>& closure, CallArgs& args) {
    if (call_depth_ >= options_.limits.max_call_depth)
        throw ScriptError("macro '" + def.name + "' called recursively more than " +
                              std::to_string(options_.limits.max_call_depth) + " levels deep",
                          TemplateError::Kind::Limit);
    auto frame = std::make_shared<Scope>(closure);
    auto saved = scope_;
    scope_ = frame;
    ++call_depth_;

    auto& positional = args.positional;
    auto& named = args.named;
    auto take_named = [&](std::string_view name, Value& out) {
        for (auto it = named.begin(); it != named.end(); ++it) {
            if (it->first == name) {
                out = std::move(it->second);
                named.erase(it);
                return true;
            }
        }
        return false;
    };
    // Python's rules as Jinja2's Macro.__call__ applies them: keyword arguments fill
    // only the parameters left after the positional ones; defaults are evaluated in
    // the macro's frame, so they can use earlier parameters.
    bool explicit_caller = false;
    for (std::size_t i = 0; i < def.params.size(); ++i) {
        const std::string& param = def.params[i];
        if (param == "caller") explicit_caller = true;
        Value v;
        bool given = false;
        if (i < positional.size()) {
            v = positional[i];
            given = true;
        } else {
            given = take_named(param, v);
        }
        if (!given) {
            if (def.defaults[i]) v = eval(*def.defaults[i]);
            else v = Value::undefined("parameter '" + param + "' was not provided");
        }
        frame->set(param, std::move(v));
    }
    if (def.catch_caller && !explicit_caller) {
        Value caller;
        if (!take_named("caller", caller)) caller = Value::undefined("No caller defined");
        frame->set("caller", std::move(caller));
    }
    if (def.catch_kwargs) {
        auto kwargs = std::make_shared<DictObject>();
        for (auto& [k, v] : named) kwargs->set(k, std::move(v));
        frame->set("kwargs", Value::dict(std::move(kwargs)));
    } else if (!named.empty()) {
        for (const auto& [k, v] : named)
            if (k == "caller")
                fail("macro '" + def.name +
                     "' was invoked with two values for the special caller argument. This is most likely a bug.");
        fail("macro '" + def.name + "' takes no keyword argument '" + named.front().first + "'");
    }
    if (def.catch_varargs) {
        std::vector<Value> rest;
        for (std::size_t i = def.params.size(); i < positional.size(); ++i) rest.push_back(positional[i]);
        frame->set("varargs", Value::sequence(std::move(rest), SeqKind::Tuple));
    } else if (positional.size() > def.params.size()) {
        fail("macro '" + def.name + "' takes not more than " + std::to_string(def.params.size()) + " argument(s)");
    }

    std::string text = capture(def.body);
    scope_ = saved;
    --call_depth_;
    return Value::string(std::move(text));
}

void Interpreter::assign(const Target& target, const Value& value) {
    switch (target.kind) {
    case Target::Kind::Name: scope_->set(target.name, value); return;
    case Target::Kind::NamespaceAttr: {
        Value ns = lookup(target.name);
        if (ns.kind() != Kind::Namespace) {
            pos_ = target.pos;
            fail("cannot assign attribute on non-namespace object");
        }
        ns.ns().attributes.set(target.attr, value);
        return;
    }
    case Target::Kind::Tuple: {
        pos_ = target.pos;
        if (!value.is_sequence() && !value.is_dict() && !value.is_string() && !value.is_undefined())
            fail("cannot unpack non-iterable " + type_name(value) + " object");
        auto items = iterate(value);
        std::size_t want = target.items.size(), got = items->items.size();
        if (got < want)
            fail("not enough values to unpack (expected " + std::to_string(want) + ", got " + std::to_string(got) + ")");
        if (got > want) fail("too many values to unpack (expected " + std::to_string(want) + ")");
        for (std::size_t i = 0; i < want; ++i) assign(target.items[i], items->items[i]);
        return;
    }
    }
}

}  // namespace ascent::templates::jinja
