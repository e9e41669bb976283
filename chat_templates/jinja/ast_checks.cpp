#include "chat_templates/jinja/ast_checks.h"

namespace ascent::templates::jinja {

namespace {

// Jinja2 rejects an unknown filter or test when compiling, except inside an `if`
// statement or a conditional expression, where it only fails if evaluated (templates
// use that to probe for optional filters). This walks the tree with that rule.
class NameChecker {
public:
    explicit NameChecker(const std::string& name) : name_(name) {}

    void body(const Body& b, bool soft) {
        for (const auto& s : b) stmt(*s, soft);
    }

private:
    const std::string& name_;

    [[noreturn]] void error(const std::string& message, SourcePos pos) const {
        throw TemplateError(TemplateError::Kind::Syntax, message, name_, pos);
    }

    void args(const Arguments& a, bool soft) {
        for (const auto& p : a.positional) expr(p.get(), soft);
        for (const auto& [n, p] : a.named) expr(p.get(), soft);
        expr(a.star.get(), soft);
        expr(a.star_star.get(), soft);
    }

    void expr(const Expr* e, bool soft) {
        if (!e) return;
        switch (e->kind) {
        case ExprKind::Filter: {
            const auto& f = static_cast<const FilterExpr&>(*e);
            if (!f.fn && !soft) error("no filter named '" + f.name + "'", f.pos);
            expr(f.operand.get(), soft);
            args(f.args, soft);
            return;
        }
        case ExprKind::Test: {
            const auto& t = static_cast<const TestExpr&>(*e);
            if (!t.fn && !soft) error("no test named '" + t.name + "'", t.pos);
            expr(t.operand.get(), soft);
            args(t.args, soft);
            return;
        }
        case ExprKind::CondExpr: {
            const auto& c = static_cast<const CondExpr&>(*e);
            expr(c.test.get(), true);
            expr(c.then.get(), true);
            expr(c.otherwise.get(), true);
            return;
        }
        case ExprKind::Getattr: expr(static_cast<const GetattrExpr&>(*e).object.get(), soft); return;
        case ExprKind::Getitem: {
            const auto& g = static_cast<const GetitemExpr&>(*e);
            expr(g.object.get(), soft);
            expr(g.index.get(), soft);
            return;
        }
        case ExprKind::Slice: {
            const auto& s = static_cast<const SliceExpr&>(*e);
            expr(s.start.get(), soft);
            expr(s.stop.get(), soft);
            expr(s.step.get(), soft);
            return;
        }
        case ExprKind::Call: {
            const auto& c = static_cast<const CallExpr&>(*e);
            expr(c.callee.get(), soft);
            args(c.args, soft);
            return;
        }
        case ExprKind::Neg:
        case ExprKind::Pos:
        case ExprKind::Not: expr(static_cast<const UnaryExpr&>(*e).operand.get(), soft); return;
        case ExprKind::Binary:
        case ExprKind::And:
        case ExprKind::Or: {
            const auto& b = static_cast<const BinaryExpr&>(*e);
            expr(b.left.get(), soft);
            expr(b.right.get(), soft);
            return;
        }
        case ExprKind::Concat:
            for (const auto& p : static_cast<const ConcatExpr&>(*e).parts) expr(p.get(), soft);
            return;
        case ExprKind::Compare: {
            const auto& c = static_cast<const CompareExpr&>(*e);
            expr(c.first.get(), soft);
            for (const auto& [op, p] : c.rest) expr(p.get(), soft);
            return;
        }
        case ExprKind::List:
        case ExprKind::Tuple:
            for (const auto& p : static_cast<const ListExpr&>(*e).items) expr(p.get(), soft);
            return;
        case ExprKind::Dict:
            for (const auto& [k, v] : static_cast<const DictExpr&>(*e).items) {
                expr(k.get(), soft);
                expr(v.get(), soft);
            }
            return;
        default: return;
        }
    }

    void macro(const MacroDef& def) {
        for (const auto& d : def.defaults) expr(d.get(), false);
        body(def.body, false);
    }

    void stmt(const Stmt& s, bool soft) {
        switch (s.kind) {
        case StmtKind::Output: expr(static_cast<const OutputStmt&>(s).expr.get(), soft); return;
        case StmtKind::If: {
            const auto& i = static_cast<const IfStmt&>(s);
            for (const auto& [test, b] : i.branches) {
                expr(test.get(), true);
                body(b, true);
            }
            body(i.otherwise, true);
            return;
        }
        case StmtKind::For: {
            const auto& f = static_cast<const ForStmt&>(s);
            expr(f.iterable.get(), soft);
            expr(f.filter.get(), false);
            body(f.body, false);
            body(f.otherwise, soft);
            return;
        }
        case StmtKind::Set: expr(static_cast<const SetStmt&>(s).value.get(), soft); return;
        case StmtKind::SetBlock: {
            const auto& b = static_cast<const SetBlockStmt&>(s);
            expr(b.filter.get(), false);
            body(b.body, false);
            return;
        }
        case StmtKind::Macro: macro(*static_cast<const MacroStmt&>(s).def); return;
        case StmtKind::CallBlock: {
            const auto& c = static_cast<const CallBlockStmt&>(s);
            expr(c.call.get(), soft);
            macro(*c.caller);
            return;
        }
        case StmtKind::FilterBlock: {
            const auto& f = static_cast<const FilterBlockStmt&>(s);
            expr(f.filter.get(), false);
            body(f.body, false);
            return;
        }
        case StmtKind::With: {
            const auto& w = static_cast<const WithStmt&>(s);
            for (const auto& v : w.values) expr(v.get(), soft);
            body(w.body, false);
            return;
        }
        case StmtKind::Scope: body(static_cast<const ScopeStmt&>(s).body, false); return;
        default: return;
        }
    }
};

// Whether a macro body mentions varargs / kwargs / caller (including nested macros, as
// Jinja2's undeclared-name visitor does).
class SpecialNameFinder {
public:
    explicit SpecialNameFinder(MacroDef& def) : def_(def) {}

    void body(const Body& b) {
        for (const auto& s : b) stmt(*s);
    }

private:
    MacroDef& def_;

    void name(const std::string& n) {
        if (n == "varargs") def_.catch_varargs = true;
        else if (n == "kwargs") def_.catch_kwargs = true;
        else if (n == "caller") def_.catch_caller = true;
    }

    void args(const Arguments& a) {
        for (const auto& p : a.positional) expr(p.get());
        for (const auto& [n, p] : a.named) expr(p.get());
        expr(a.star.get());
        expr(a.star_star.get());
    }

    void expr(const Expr* e) {
        if (!e) return;
        switch (e->kind) {
        case ExprKind::Name: name(static_cast<const NameExpr&>(*e).name); return;
        case ExprKind::Getattr: expr(static_cast<const GetattrExpr&>(*e).object.get()); return;
        case ExprKind::Getitem:
            expr(static_cast<const GetitemExpr&>(*e).object.get());
            expr(static_cast<const GetitemExpr&>(*e).index.get());
            return;
        case ExprKind::Slice: {
            const auto& s = static_cast<const SliceExpr&>(*e);
            expr(s.start.get());
            expr(s.stop.get());
            expr(s.step.get());
            return;
        }
        case ExprKind::Call:
            expr(static_cast<const CallExpr&>(*e).callee.get());
            args(static_cast<const CallExpr&>(*e).args);
            return;
        case ExprKind::Filter:
            expr(static_cast<const FilterExpr&>(*e).operand.get());
            args(static_cast<const FilterExpr&>(*e).args);
            return;
        case ExprKind::Test:
            expr(static_cast<const TestExpr&>(*e).operand.get());
            args(static_cast<const TestExpr&>(*e).args);
            return;
        case ExprKind::Neg:
        case ExprKind::Pos:
        case ExprKind::Not: expr(static_cast<const UnaryExpr&>(*e).operand.get()); return;
        case ExprKind::Binary:
        case ExprKind::And:
        case ExprKind::Or:
            expr(static_cast<const BinaryExpr&>(*e).left.get());
            expr(static_cast<const BinaryExpr&>(*e).right.get());
            return;
        case ExprKind::Concat:
            for (const auto& p : static_cast<const ConcatExpr&>(*e).parts) expr(p.get());
            return;
        case ExprKind::Compare:
            expr(static_cast<const CompareExpr&>(*e).first.get());
            for (const auto& [op, p] : static_cast<const CompareExpr&>(*e).rest) expr(p.get());
            return;
        case ExprKind::CondExpr: {
            const auto& c = static_cast<const CondExpr&>(*e);
            expr(c.test.get());
            expr(c.then.get());
            expr(c.otherwise.get());
            return;
        }
        case ExprKind::List:
        case ExprKind::Tuple:
            for (const auto& p : static_cast<const ListExpr&>(*e).items) expr(p.get());
            return;
        case ExprKind::Dict:
            for (const auto& [k, v] : static_cast<const DictExpr&>(*e).items) {
                expr(k.get());
                expr(v.get());
            }
            return;
        default: return;
        }
    }

    void stmt(const Stmt& s) {
        switch (s.kind) {
        case StmtKind::Output: expr(static_cast<const OutputStmt&>(s).expr.get()); return;
        case StmtKind::If:
            for (const auto& [test, b] : static_cast<const IfStmt&>(s).branches) {
                expr(test.get());
                body(b);
            }
            body(static_cast<const IfStmt&>(s).otherwise);
            return;
        case StmtKind::For: {
            const auto& f = static_cast<const ForStmt&>(s);
            expr(f.iterable.get());
            expr(f.filter.get());
            body(f.body);
            body(f.otherwise);
            return;
        }
        case StmtKind::Set: expr(static_cast<const SetStmt&>(s).value.get()); return;
        case StmtKind::SetBlock:
            expr(static_cast<const SetBlockStmt&>(s).filter.get());
            body(static_cast<const SetBlockStmt&>(s).body);
            return;
        case StmtKind::Macro: {
            const auto& m = *static_cast<const MacroStmt&>(s).def;
            for (const auto& d : m.defaults) expr(d.get());
            body(m.body);
            return;
        }
        case StmtKind::CallBlock: {
            const auto& c = static_cast<const CallBlockStmt&>(s);
            expr(c.call.get());
            body(c.caller->body);
            return;
        }
        case StmtKind::FilterBlock:
            expr(static_cast<const FilterBlockStmt&>(s).filter.get());
            body(static_cast<const FilterBlockStmt&>(s).body);
            return;
        case StmtKind::With:
            for (const auto& v : static_cast<const WithStmt&>(s).values) expr(v.get());
            body(static_cast<const WithStmt&>(s).body);
            return;
        case StmtKind::Scope: body(static_cast<const ScopeStmt&>(s).body); return;
        default: return;
        }
    }
};

}  // namespace

void check_filter_and_test_names(const Body& body, const std::string& template_name) {
    NameChecker(template_name).body(body, false);
}

void find_special_names(MacroDef& def) { SpecialNameFinder(def).body(def.body); }

}  // namespace ascent::templates::jinja
