#pragma once
// The parsed form of a template: expressions and statements as Jinja2's parser
// builds them (jinja2.nodes), with filters and tests already looked up.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat_templates/jinja/error.h"
#include "chat_templates/jinja/value.h"

namespace ascent::templates::jinja {

using FilterFn = Value (*)(Interpreter& interp, const Value& operand, CallArgs& args);
using TestFn = bool (*)(Interpreter& interp, const Value& operand, CallArgs& args);

enum class ExprKind : std::uint8_t {
    Const, Name, Getattr, Getitem, Slice, Call, Filter, Test,
    Neg, Pos, Not, Binary, And, Or, Concat, Compare, CondExpr, List, Tuple, Dict,
    BlockInput,  // the rendered body a {% filter %} or {% set x | f %} block feeds its filters
};

enum class BinaryOp : std::uint8_t { Add, Sub, Mul, Div, FloorDiv, Mod, Pow };
enum class CompareOp : std::uint8_t { Eq, Ne, Lt, Le, Gt, Ge, In, NotIn };

struct Expr {
    Expr(ExprKind k, SourcePos p) : kind(k), pos(p) {}
    virtual ~Expr() = default;
    ExprKind kind;
    std::uint16_t height = 1;  // of the tree below; bounded so evaluation cannot exhaust the stack
    SourcePos pos;
};
using ExprPtr = std::unique_ptr<Expr>;

struct ConstExpr : Expr {
    ConstExpr(SourcePos p, Value v) : Expr(ExprKind::Const, p), value(std::move(v)) {}
    Value value;
};

struct NameExpr : Expr {
    NameExpr(SourcePos p, std::string n) : Expr(ExprKind::Name, p), name(std::move(n)) {}
    std::string name;
};

struct GetattrExpr : Expr {
    GetattrExpr(SourcePos p, ExprPtr o, std::string a) : Expr(ExprKind::Getattr, p), object(std::move(o)), attr(std::move(a)) {}
    ExprPtr object;
    std::string attr;
};

struct GetitemExpr : Expr {
    GetitemExpr(SourcePos p, ExprPtr o, ExprPtr i) : Expr(ExprKind::Getitem, p), object(std::move(o)), index(std::move(i)) {}
    ExprPtr object;
    ExprPtr index;
};

struct SliceExpr : Expr {
    explicit SliceExpr(SourcePos p) : Expr(ExprKind::Slice, p) {}
    ExprPtr start, stop, step;  // null = omitted
};

struct Arguments {
    std::vector<ExprPtr> positional;
    std::vector<std::pair<std::string, ExprPtr>> named;
    ExprPtr star;       // *args
    ExprPtr star_star;  // **kwargs
};

struct CallExpr : Expr {
    CallExpr(SourcePos p, ExprPtr c) : Expr(ExprKind::Call, p), callee(std::move(c)) {}
    ExprPtr callee;
    Arguments args;
};

struct FilterExpr : Expr {
    FilterExpr(SourcePos p, ExprPtr o, std::string n) : Expr(ExprKind::Filter, p), operand(std::move(o)), name(std::move(n)) {}
    ExprPtr operand;
    std::string name;
    FilterFn fn = nullptr;  // null: unknown filter inside an if, an error only if evaluated (as in Jinja2)
    Arguments args;
};

struct TestExpr : Expr {
    TestExpr(SourcePos p, ExprPtr o, std::string n) : Expr(ExprKind::Test, p), operand(std::move(o)), name(std::move(n)) {}
    ExprPtr operand;
    std::string name;
    TestFn fn = nullptr;
    Arguments args;
};

struct UnaryExpr : Expr {
    UnaryExpr(ExprKind k, SourcePos p, ExprPtr o) : Expr(k, p), operand(std::move(o)) {}
    ExprPtr operand;
};

struct BinaryExpr : Expr {
    BinaryExpr(ExprKind k, SourcePos p, BinaryOp o, ExprPtr l, ExprPtr r)
        : Expr(k, p), op(o), left(std::move(l)), right(std::move(r)) {}
    BinaryOp op;  // for ExprKind::Binary
    ExprPtr left, right;
};

struct ConcatExpr : Expr {
    explicit ConcatExpr(SourcePos p) : Expr(ExprKind::Concat, p) {}
    std::vector<ExprPtr> parts;
};

struct CompareExpr : Expr {
    CompareExpr(SourcePos p, ExprPtr f) : Expr(ExprKind::Compare, p), first(std::move(f)) {}
    ExprPtr first;
    std::vector<std::pair<CompareOp, ExprPtr>> rest;
};

struct CondExpr : Expr {
    explicit CondExpr(SourcePos p) : Expr(ExprKind::CondExpr, p) {}
    ExprPtr test, then, otherwise;  // otherwise may be null
};

struct ListExpr : Expr {
    ListExpr(ExprKind k, SourcePos p) : Expr(k, p) {}  // List or Tuple
    std::vector<ExprPtr> items;
};

struct DictExpr : Expr {
    explicit DictExpr(SourcePos p) : Expr(ExprKind::Dict, p) {}
    std::vector<std::pair<ExprPtr, ExprPtr>> items;
};

// Where `set`, `for` and `with` store values: a name, a (nested) tuple of names, or ns.attr.
struct Target {
    enum class Kind : std::uint8_t { Name, Tuple, NamespaceAttr } kind = Kind::Name;
    SourcePos pos;
    std::string name;  // the variable (the namespace's variable for NamespaceAttr)
    std::string attr;
    std::vector<Target> items;
};

enum class StmtKind : std::uint8_t {
    Text, Output, If, For, Set, SetBlock, Macro, CallBlock, FilterBlock, With, Scope, Break, Continue,
};

struct Stmt {
    Stmt(StmtKind k, SourcePos p) : kind(k), pos(p) {}
    virtual ~Stmt() = default;
    StmtKind kind;
    SourcePos pos;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct TextStmt : Stmt {
    TextStmt(SourcePos p, std::string t) : Stmt(StmtKind::Text, p), text(std::move(t)) {}
    std::string text;
};

struct OutputStmt : Stmt {
    OutputStmt(SourcePos p, ExprPtr e) : Stmt(StmtKind::Output, p), expr(std::move(e)) {}
    ExprPtr expr;
};

struct IfStmt : Stmt {
    explicit IfStmt(SourcePos p) : Stmt(StmtKind::If, p) {}
    std::vector<std::pair<ExprPtr, Body>> branches;  // if, elif...
    Body otherwise;
};

struct ForStmt : Stmt {
    explicit ForStmt(SourcePos p) : Stmt(StmtKind::For, p) {}
    Target target;
    ExprPtr iterable;
    ExprPtr filter;  // `for x in xs if cond`
    Body body;
    Body otherwise;
    bool recursive = false;
};

struct SetStmt : Stmt {
    explicit SetStmt(SourcePos p) : Stmt(StmtKind::Set, p) {}
    Target target;
    ExprPtr value;
};

struct SetBlockStmt : Stmt {
    explicit SetBlockStmt(SourcePos p) : Stmt(StmtKind::SetBlock, p) {}
    Target target;
    ExprPtr filter;  // chain ending in a BlockInput, or null
    Body body;
};

struct MacroDef {
    std::string name;
    SourcePos pos;
    std::vector<std::string> params;
    std::vector<ExprPtr> defaults;  // one per parameter, null = required
    Body body;
    // Jinja2 decides at compile time whether a macro takes extra arguments: only if
    // its body mentions `varargs` / `kwargs` / `caller`.
    bool catch_varargs = false;
    bool catch_kwargs = false;
    bool catch_caller = false;
};

struct MacroStmt : Stmt {
    explicit MacroStmt(SourcePos p) : Stmt(StmtKind::Macro, p) {}
    std::shared_ptr<MacroDef> def;
};

struct CallBlockStmt : Stmt {
    explicit CallBlockStmt(SourcePos p) : Stmt(StmtKind::CallBlock, p) {}
    std::shared_ptr<MacroDef> caller;  // the block body, callable as caller(...)
    std::unique_ptr<CallExpr> call;
};

struct FilterBlockStmt : Stmt {
    explicit FilterBlockStmt(SourcePos p) : Stmt(StmtKind::FilterBlock, p) {}
    ExprPtr filter;  // chain ending in a BlockInput
    Body body;
};

struct WithStmt : Stmt {
    explicit WithStmt(SourcePos p) : Stmt(StmtKind::With, p) {}
    std::vector<Target> targets;
    std::vector<ExprPtr> values;
    Body body;
};

// A body with its own variable scope ({% generation %}, transformers' extension).
struct ScopeStmt : Stmt {
    explicit ScopeStmt(SourcePos p) : Stmt(StmtKind::Scope, p) {}
    Body body;
};

struct LoopControlStmt : Stmt {
    LoopControlStmt(StmtKind k, SourcePos p) : Stmt(k, p) {}
};

struct Program {
    Body body;
};

}  // namespace ascent::templates::jinja
