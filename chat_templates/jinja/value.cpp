#include "chat_templates/jinja/value.h"

#include "chat_templates/jinja/unicode.h"

namespace ascent::templates::jinja {

void fail(std::string message) { throw ScriptError(std::move(message)); }

Value Value::undefined(std::string message, bool security) {
    Value v;
    v.object_ = std::make_shared<UndefinedInfo>(std::move(message), security);
    return v;
}

Value Value::none() {
    Value v;
    v.kind_ = Kind::None;
    return v;
}

Value Value::boolean(bool b) {
    Value v;
    v.kind_ = Kind::Bool;
    v.b_ = b;
    return v;
}

Value Value::integer(std::int64_t i) {
    Value v;
    v.kind_ = Kind::Int;
    v.i_ = i;
    return v;
}

Value Value::floating(double f) {
    Value v;
    v.kind_ = Kind::Float;
    v.f_ = f;
    return v;
}

Value Value::string(std::string s, bool safe) {
    Value v;
    v.kind_ = Kind::String;
    v.safe_ = safe;
    v.object_ = std::make_shared<StringObject>(std::move(s));
    return v;
}

Value Value::sequence(std::vector<Value> items, SeqKind kind) {
    Value v;
    v.kind_ = Kind::Sequence;
    v.object_ = std::make_shared<SequenceObject>(std::move(items), kind);
    return v;
}

Value Value::dict(std::shared_ptr<DictObject> d) {
    Value v;
    v.kind_ = Kind::Dict;
    v.object_ = std::move(d);
    return v;
}

Value Value::callable(std::shared_ptr<CallableObject> c) {
    Value v;
    v.kind_ = Kind::Callable;
    v.object_ = std::move(c);
    return v;
}

Value Value::namespace_object(std::shared_ptr<NamespaceObject> n) {
    Value v;
    v.kind_ = Kind::Namespace;
    v.object_ = std::move(n);
    return v;
}

Value Value::loop(std::shared_ptr<LoopObject> l) {
    Value v;
    v.kind_ = Kind::Loop;
    v.object_ = std::move(l);
    return v;
}

const std::string& Value::str() const { return static_cast<const StringObject&>(*object_).text; }
const SequenceObject& Value::seq() const { return static_cast<const SequenceObject&>(*object_); }
const DictObject& Value::dict() const { return static_cast<const DictObject&>(*object_); }
const CallableObject& Value::callable() const { return static_cast<const CallableObject&>(*object_); }
NamespaceObject& Value::ns() const { return static_cast<NamespaceObject&>(*object_); }
LoopObject& Value::loop() const { return static_cast<LoopObject&>(*object_); }
std::shared_ptr<const SequenceObject> Value::seq_ptr() const {
    return std::static_pointer_cast<const SequenceObject>(object_);
}
std::shared_ptr<CallableObject> Value::callable_ptr() const {
    return std::static_pointer_cast<CallableObject>(object_);
}
std::shared_ptr<NamespaceObject> Value::ns_ptr() const { return std::static_pointer_cast<NamespaceObject>(object_); }

const std::string& Value::undefined_message() const {
    static const std::string generic = "value is undefined";
    if (!object_) return generic;
    return static_cast<const UndefinedInfo&>(*object_).message;
}

bool Value::undefined_is_security() const {
    return object_ && static_cast<const UndefinedInfo&>(*object_).security;
}

bool Value::truthy() const {
    switch (kind_) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return b_;
    case Kind::Int: return i_ != 0;
    case Kind::Float: return f_ != 0.0;
    case Kind::String: return !str().empty();
    case Kind::Sequence: {
        const auto& s = seq();
        if (s.kind == SeqKind::Generator || s.kind == SeqKind::Reversed) return true;
        return !s.items.empty();
    }
    case Kind::Dict: return !dict().entries.empty();
    case Kind::Loop: return loop().length() > 0;
    case Kind::Callable:
    case Kind::Namespace: return true;
    }
    return false;
}

const Value* DictObject::find(const Value& key) const {
    if (key.is_string()) return find(std::string_view(key.str()));
    for (const auto& [k, v] : entries)
        if (equals(k, key)) return &v;
    return nullptr;
}

const Value* DictObject::find(std::string_view key) const {
    for (const auto& [k, v] : entries)
        if (k.is_string() && k.str() == key) return &v;
    return nullptr;
}

void DictObject::set(Value key, Value value) {
    for (auto& [k, v] : entries) {
        if (equals(k, key)) {
            v = std::move(value);
            return;
        }
    }
    entries.emplace_back(std::move(key), std::move(value));
}

void DictObject::set(std::string_view key, Value value) {
    for (auto& [k, v] : entries) {
        if (k.is_string() && k.str() == key) {
            v = std::move(value);
            return;
        }
    }
    entries.emplace_back(Value::string(std::string(key)), std::move(value));
}

static bool sequences_equal(const SequenceObject& a, const SequenceObject& b) {
    if (a.items.size() != b.items.size()) return false;
    for (std::size_t i = 0; i < a.items.size(); ++i)
        if (!equals(a.items[i], b.items[i])) return false;
    return true;
}

bool equals(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
        return a.as_int() == b.as_int();
    }
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.str() == b.str();
    case Kind::Sequence: {
        const auto& sa = a.seq();
        const auto& sb = b.seq();
        if (a.identity() == b.identity()) return true;
        bool by_value = sa.kind == SeqKind::List || sa.kind == SeqKind::Tuple;
        return by_value && sa.kind == sb.kind && sequences_equal(sa, sb);
    }
    case Kind::Dict: {
        const auto& da = a.dict();
        const auto& db = b.dict();
        if (da.entries.size() != db.entries.size()) return false;
        for (const auto& [k, v] : da.entries) {
            const Value* other = db.find(k);
            if (!other || !equals(v, *other)) return false;
        }
        return true;
    }
    default: return a.identity() == b.identity();
    }
}

bool less(const Value& a, const Value& b) {
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_float() < b.as_float();
        return a.as_int() < b.as_int();
    }
    if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 keeps code point order
    if (a.is_sequence() && b.is_sequence() && a.seq().kind == b.seq().kind &&
        (a.seq().kind == SeqKind::List || a.seq().kind == SeqKind::Tuple)) {
        const auto& x = a.seq().items;
        const auto& y = b.seq().items;
        for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
            if (!equals(x[i], y[i])) return less(x[i], y[i]);
        return x.size() < y.size();
    }
    fail("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

std::string str_cat(std::initializer_list<std::string_view> parts) {
    std::size_t size = 0;
    for (auto p : parts) size += p.size();
    std::string out;
    out.reserve(size);
    for (auto p : parts) out += p;
    return out;
}

bool unhashable(const Value& v) { return v.is_dict() || (v.is_sequence() && v.seq().kind == SeqKind::List); }

std::string type_name(const Value& v) {
    switch (v.kind()) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return v.is_safe() ? "Markup" : "str";
    case Kind::Sequence:
        switch (v.seq().kind) {
        case SeqKind::List: return "list";
        case SeqKind::Tuple: return "tuple";
        case SeqKind::Generator: return "generator";
        case SeqKind::Reversed: return "list_reverseiterator";
        case SeqKind::DictItems: return "dict_items";
        case SeqKind::DictKeys: return "dict_keys";
        case SeqKind::DictValues: return "dict_values";
        }
        return "list";
    case Kind::Dict: return "dict";
    case Kind::Callable: return "function";
    case Kind::Namespace: return "Namespace";
    case Kind::Loop: return "LoopContext";
    }
    return "object";
}

std::string object_type_repr(const Value& v) {
    switch (v.kind()) {
    case Kind::None: return "None";
    case Kind::Undefined: return "jinja2.runtime.Undefined object";
    case Kind::Namespace: return "jinja2.utils.Namespace object";
    case Kind::Loop: return "jinja2.runtime.LoopContext object";
    case Kind::String:
        if (v.is_safe()) return "markupsafe.Markup object";
        return "str object";
    default: return type_name(v) + " object";
    }
}

void fail_undefined(const Value& v) {
    throw ScriptError(v.undefined_message(), TemplateError::Kind::Render);
}

std::size_t python_len(const Value& v) {
    switch (v.kind()) {
    case Kind::Undefined: return 0;
    case Kind::String: return utf8_length(v.str());
    case Kind::Sequence:
        if (v.seq().kind == SeqKind::Generator || v.seq().kind == SeqKind::Reversed) break;
        return v.seq().items.size();
    case Kind::Dict: return v.dict().entries.size();
    case Kind::Loop: return v.loop().length();
    default: break;
    }
    fail("object of type '" + type_name(v) + "' has no len()");
}

}  // namespace ascent::templates::jinja
