#pragma once
// Values as a Jinja2 template under Python sees them: JSON-like data plus Undefined,
// callables, namespace and loop objects. Containers are shared and never modified
// after creation (transformers renders in an immutable sandbox), so copying a Value
// is cheap and aliasing is harmless; only namespace and loop objects change in place.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat_templates/jinja/error.h"

namespace ascent::templates::jinja {

// Thrown by operations that know what went wrong but not where; the interpreter
// adds the template position and turns it into a TemplateError.
class ScriptError : public std::runtime_error {
public:
    explicit ScriptError(std::string message, TemplateError::Kind kind = TemplateError::Kind::Render)
        : std::runtime_error(std::move(message)), kind_(kind) {}
    TemplateError::Kind kind() const { return kind_; }

private:
    TemplateError::Kind kind_;
};

[[noreturn]] void fail(std::string message);

enum class Kind : std::uint8_t { Undefined, None, Bool, Int, Float, String, Sequence, Dict, Callable, Namespace, Loop };

// Which Python object a sequence stands for. It decides printing, len(), truth and JSON:
// filters such as select/map return generators (always true, no len), dict.items() a view.
enum class SeqKind : std::uint8_t { List, Tuple, Generator, Reversed, DictItems, DictKeys, DictValues };

struct Object {
    virtual ~Object() = default;
};

class Value;
struct SequenceObject;
struct DictObject;
struct CallableObject;
struct NamespaceObject;
struct LoopObject;

class Value {
public:
    Value() noexcept : kind_(Kind::Undefined) {}

    // `message` is what an operation on the undefined value reports, as Jinja2's
    // UndefinedError does; `security` marks a blocked attribute (SecurityError).
    static Value undefined(std::string message, bool security = false);
    static Value none();
    static Value boolean(bool b);
    static Value integer(std::int64_t i);
    static Value floating(double f);
    // `safe` marks a markupsafe.Markup string (made by the `safe` filter).
    static Value string(std::string s, bool safe = false);
    static Value sequence(std::vector<Value> items, SeqKind kind = SeqKind::List);
    static Value dict(std::shared_ptr<DictObject> d);
    static Value callable(std::shared_ptr<CallableObject> c);
    static Value namespace_object(std::shared_ptr<NamespaceObject> n);
    static Value loop(std::shared_ptr<LoopObject> l);

    Kind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == Kind::Undefined; }
    bool is_none() const { return kind_ == Kind::None; }
    bool is_bool() const { return kind_ == Kind::Bool; }
    bool is_int() const { return kind_ == Kind::Int; }
    bool is_float() const { return kind_ == Kind::Float; }
    // Python numbers: bool is an int subclass.
    bool is_number() const { return kind_ == Kind::Bool || kind_ == Kind::Int || kind_ == Kind::Float; }
    bool is_integral() const { return kind_ == Kind::Bool || kind_ == Kind::Int; }
    bool is_string() const { return kind_ == Kind::String; }
    bool is_sequence() const { return kind_ == Kind::Sequence; }
    bool is_dict() const { return kind_ == Kind::Dict; }
    bool is_callable() const { return kind_ == Kind::Callable; }
    bool is_safe() const { return safe_; }

    bool as_bool() const { return b_; }
    std::int64_t as_int() const { return kind_ == Kind::Bool ? (b_ ? 1 : 0) : i_; }
    double as_float() const { return kind_ == Kind::Float ? f_ : static_cast<double>(as_int()); }
    const std::string& str() const;
    const SequenceObject& seq() const;
    const DictObject& dict() const;
    const CallableObject& callable() const;
    NamespaceObject& ns() const;
    LoopObject& loop() const;
    std::shared_ptr<const SequenceObject> seq_ptr() const;
    std::shared_ptr<CallableObject> callable_ptr() const;
    std::shared_ptr<NamespaceObject> ns_ptr() const;
    const std::string& undefined_message() const;
    bool undefined_is_security() const;
    // Identity, for the `sameas` test and object equality.
    const void* identity() const { return object_.get(); }

    // Python truth value.
    bool truthy() const;

private:
    Kind kind_;
    bool safe_ = false;
    union {
        bool b_;
        std::int64_t i_;
        double f_ = 0.0;
    };
    std::shared_ptr<Object> object_;
};

struct StringObject : Object {
    explicit StringObject(std::string t) : text(std::move(t)) {}
    std::string text;
};

struct UndefinedInfo : Object {
    UndefinedInfo(std::string m, bool s) : message(std::move(m)), security(s) {}
    std::string message;
    bool security;
};

struct SequenceObject : Object {
    SequenceObject(std::vector<Value> i, SeqKind k) : items(std::move(i)), kind(k) {}
    std::vector<Value> items;
    SeqKind kind;
};

// A Python dict: insertion order, keys compared with Python equality.
struct DictObject : Object {
    std::vector<std::pair<Value, Value>> entries;

    const Value* find(const Value& key) const;
    const Value* find(std::string_view key) const;
    // Replaces the value of an existing key in place, else appends.
    void set(Value key, Value value);
    void set(std::string_view key, Value value);
};

struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> named;
};

class Interpreter;

struct CallableObject : Object {
    virtual Value call(Interpreter& interp, CallArgs& args) = 0;
    virtual std::string repr() const = 0;
};

struct NamespaceObject : Object {
    DictObject attributes;
};

// The `loop` variable of a for loop (jinja2.runtime.LoopContext). The interpreter
// advances index0 in place.
struct LoopObject : Object {
    std::shared_ptr<const SequenceObject> items;  // what is iterated, after the loop filter
    std::size_t index0 = 0;
    int depth0 = 0;
    std::vector<Value> last_changed;  // arguments of the last loop.changed() call
    bool changed_called = false;
    std::shared_ptr<CallableObject> recurse;  // set for `recursive` loops: loop(children)

    std::size_t length() const { return items->items.size(); }
};

// Python's equality (==): numbers across int/float/bool, containers deeply.
bool equals(const Value& a, const Value& b);
// Python's `<`; throws a TypeError-like ScriptError for unorderable operands.
bool less(const Value& a, const Value& b);
// Concatenation for messages (one allocation, and no GCC 12 -Wrestrict false alarms).
std::string str_cat(std::initializer_list<std::string_view> parts);
// Python's dicts and lists cannot be dict keys or set members.
bool unhashable(const Value& v);
// Python type name, as in error messages: "str", "NoneType", "dict", ...
std::string type_name(const Value& v);
// jinja2.utils.object_type_repr: "dict object", "None", ...
std::string object_type_repr(const Value& v);
// Raises the error an operation on an undefined value reports.
[[noreturn]] void fail_undefined(const Value& v);
// len(), or an error for objects without one.
std::size_t python_len(const Value& v);

}  // namespace ascent::templates::jinja
