#pragma once
// Walks the AST and produces the output text. Holds the variable scopes, the
// output buffer and the safety counters of one render.
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat_templates/jinja/ast.h"
#include "chat_templates/jinja/template.h"
#include "chat_templates/jinja/value.h"

namespace ascent::templates::jinja {

// Variables of one frame. Jinja2 gives for-loop iterations, macros and block
// statements their own frame; `if` does not.
struct Scope {
    explicit Scope(std::shared_ptr<Scope> p) : parent(std::move(p)) {}
    std::vector<std::pair<std::string, Value>> vars;
    std::shared_ptr<Scope> parent;

    Value* find_local(std::string_view name);
    void set(std::string_view name, Value value);
};

// JSON from the caller to template values (key order kept).
Value from_json(const nlohmann::ordered_json& j);

class Interpreter {
public:
    Interpreter(const Program& program, const std::string& template_name, const RenderOptions& options);
    ~Interpreter();
    Interpreter(const Interpreter&) = delete;
    Interpreter& operator=(const Interpreter&) = delete;

    std::string render(const nlohmann::ordered_json& context);

    // Services for builtins.
    Value call(const Value& callee, CallArgs& args);
    Value getattr(const Value& object, std::string_view name);
    Value getitem(const Value& object, const Value& key);
    Value call_filter(std::string_view name, const Value& operand, CallArgs& args);
    bool call_test(std::string_view name, const Value& operand, CallArgs& args);
    // Time for strftime_now: the fixed clock in UTC, else local time now.
    std::tm now(int* microseconds) const;
    // Fails when a string or list about to be built would pass the output limit.
    void check_size(std::size_t bytes) const;
    const RenderLimits& limits() const { return options_.limits; }
    // Namespaces made by namespace(); cleared after the render to break reference cycles.
    void track_namespace(std::shared_ptr<NamespaceObject> ns);

    // Used by macro, caller and recursive-loop objects.
    Value invoke_macro(const MacroDef& def, const std::shared_ptr<Scope>& closure, CallArgs& args);
    Value recurse_loop(const ForStmt& stmt, const std::shared_ptr<Scope>& closure, const Value& iterable, int depth0);

private:
    enum class Flow { Normal, Break, Continue };

    const Program& program_;
    const std::string& name_;
    const RenderOptions& options_;
    std::string out_;
    std::shared_ptr<Scope> scope_;
    Value block_input_;
    SourcePos pos_;  // of the operation being evaluated, for error messages
    std::uint64_t iterations_ = 0;
    int call_depth_ = 0;
    int native_depth_ = 0;
    // Frames captured by macros and namespaces made during the render: the only places
    // reference cycles can form. Weak, so that they do not keep anything alive themselves.
    std::vector<std::weak_ptr<Scope>> captured_scopes_;
    std::vector<std::weak_ptr<NamespaceObject>> namespaces_;

    Flow exec_body(const Body& body);
    Flow exec(const Stmt& stmt);
    Flow exec_for(const ForStmt& stmt);
    void render_loop(const ForStmt& stmt, const Value& iterable, int depth0);
    void exec_set_block(const SetBlockStmt& stmt);
    void exec_call_block(const CallBlockStmt& stmt);
    void exec_filter_block(const FilterBlockStmt& stmt);
    void exec_with(const WithStmt& stmt);
    std::string capture(const Body& body);

    Value eval(const Expr& expr);
    Value eval_call(const CallExpr& expr, const Value* caller);
    Value eval_filter(const FilterExpr& expr);
    bool eval_test(const TestExpr& expr);
    Value eval_compare(const CompareExpr& expr);
    Value eval_getitem(const GetitemExpr& expr);
    void eval_args(const Arguments& args, CallArgs& out);

    Value lookup(std::string_view name);
    void assign(const Target& target, const Value& value);
    void check_output();

    friend class NativeDepthGuard;
};

// Counts nested eval/exec calls of one render, so that no template (however its macros,
// statements and expressions nest) can overflow the native stack.
class NativeDepthGuard {
public:
    static constexpr int max_depth = 1500;

    explicit NativeDepthGuard(Interpreter& interp) : interp_(interp) {
        if (++interp_.native_depth_ > max_depth) {
            --interp_.native_depth_;
            throw ScriptError("the template nests too deeply (more than " + std::to_string(max_depth) +
                                  " levels of statements, expressions and calls)",
                              TemplateError::Kind::Limit);
        }
    }
    ~NativeDepthGuard() { --interp_.native_depth_; }
    NativeDepthGuard(const NativeDepthGuard&) = delete;
    NativeDepthGuard& operator=(const NativeDepthGuard&) = delete;

private:
    Interpreter& interp_;
};

// The items a for loop or an unpacking visits: list items, dict keys, characters...
std::shared_ptr<const SequenceObject> iterate(const Value& v);

}  // namespace ascent::templates::jinja
