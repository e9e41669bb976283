#include "chat_templates/jinja/parser.h"

#include <algorithm>
#include <initializer_list>

#include "chat_templates/jinja/ast_checks.h"
#include "chat_templates/jinja/builtins.h"
#include "chat_templates/jinja/lexer.h"
#include "chat_templates/jinja/unicode.h"

namespace ascent::templates::jinja {

namespace {

// Nesting limits keep the recursive parser and interpreter far from the stack's end
// on hostile input; real templates nest a few levels.
constexpr int max_statement_nesting = 128;
constexpr int max_expression_height = 256;

int height_of(const Expr* e) { return e ? e->height : 0; }
int height_of(const Arguments& a) {
    int h = std::max(height_of(a.star.get()), height_of(a.star_star.get()));
    for (const auto& p : a.positional) h = std::max(h, height_of(p.get()));
    for (const auto& [name, p] : a.named) h = std::max(h, height_of(p.get()));
    return h;
}

// Height of the expression tree under e, from its direct children.
int child_height(const Expr& e) {
    switch (e.kind) {
    case ExprKind::Const:
    case ExprKind::Name:
    case ExprKind::BlockInput: return 0;
    case ExprKind::Getattr: return height_of(static_cast<const GetattrExpr&>(e).object.get());
    case ExprKind::Getitem: {
        const auto& g = static_cast<const GetitemExpr&>(e);
        return std::max(height_of(g.object.get()), height_of(g.index.get()));
    }
    case ExprKind::Slice: {
        const auto& s = static_cast<const SliceExpr&>(e);
        return std::max({height_of(s.start.get()), height_of(s.stop.get()), height_of(s.step.get())});
    }
    case ExprKind::Call: {
        const auto& c = static_cast<const CallExpr&>(e);
        return std::max(height_of(c.callee.get()), height_of(c.args));
    }
    case ExprKind::Filter: {
        const auto& f = static_cast<const FilterExpr&>(e);
        return std::max(height_of(f.operand.get()), height_of(f.args));
    }
    case ExprKind::Test: {
        const auto& t = static_cast<const TestExpr&>(e);
        return std::max(height_of(t.operand.get()), height_of(t.args));
    }
    case ExprKind::Neg:
    case ExprKind::Pos:
    case ExprKind::Not: return height_of(static_cast<const UnaryExpr&>(e).operand.get());
    case ExprKind::Binary:
    case ExprKind::And:
    case ExprKind::Or: {
        const auto& b = static_cast<const BinaryExpr&>(e);
        return std::max(height_of(b.left.get()), height_of(b.right.get()));
    }
    case ExprKind::Concat: {
        int h = 0;
        for (const auto& p : static_cast<const ConcatExpr&>(e).parts) h = std::max(h, height_of(p.get()));
        return h;
    }
    case ExprKind::Compare: {
        const auto& c = static_cast<const CompareExpr&>(e);
        int h = height_of(c.first.get());
        for (const auto& [op, p] : c.rest) h = std::max(h, height_of(p.get()));
        return h;
    }
    case ExprKind::CondExpr: {
        const auto& c = static_cast<const CondExpr&>(e);
        return std::max({height_of(c.test.get()), height_of(c.then.get()), height_of(c.otherwise.get())});
    }
    case ExprKind::List:
    case ExprKind::Tuple: {
        int h = 0;
        for (const auto& p : static_cast<const ListExpr&>(e).items) h = std::max(h, height_of(p.get()));
        return h;
    }
    case ExprKind::Dict: {
        int h = 0;
        for (const auto& [k, v] : static_cast<const DictExpr&>(e).items)
            h = std::max({h, height_of(k.get()), height_of(v.get())});
        return h;
    }
    }
    return 0;
}

bool is_reserved_constant(std::string_view n) {
    return n == "true" || n == "false" || n == "True" || n == "False" || n == "none" || n == "None";
}

class Parser {
public:
    Parser(std::vector<Token> tokens, const std::string& name) : tokens_(std::move(tokens)), name_(name) {}

    Program parse() {
        Program program;
        program.body = subparse({});
        return program;
    }

private:
    std::vector<Token> tokens_;
    std::size_t i_ = 0;
    const std::string& name_;
    std::vector<std::vector<std::string>> end_token_stack_;
    std::vector<std::string> tag_stack_;
    int statement_depth_ = 0;
    int loop_depth_ = 0;

    const Token& cur() const { return tokens_[i_]; }
    const Token& look() const { return tokens_[std::min(i_ + 1, tokens_.size() - 1)]; }
    const Token& next() {
        const Token& t = tokens_[i_];
        if (i_ + 1 < tokens_.size()) ++i_;
        return t;
    }

    bool is_op(Op op) const { return cur().type == TokenType::Operator && cur().op == op; }
    bool is_name(std::string_view n) const { return cur().type == TokenType::Name && cur().text == n; }
    bool skip_op(Op op) {
        if (!is_op(op)) return false;
        next();
        return true;
    }
    bool skip_name(std::string_view n) {
        if (!is_name(n)) return false;
        next();
        return true;
    }

    [[noreturn]] void error(const std::string& message, SourcePos pos) const {
        throw TemplateError(TemplateError::Kind::Syntax, message, name_, pos);
    }
    [[noreturn]] void error(const std::string& message) const { error(message, cur().pos); }

    static std::string describe(const Token& t) {
        switch (t.type) {
        case TokenType::Data: return "template data / text";
        case TokenType::VariableBegin: return "begin of print statement";
        case TokenType::VariableEnd: return "end of print statement";
        case TokenType::BlockBegin: return "begin of statement block";
        case TokenType::BlockEnd: return "end of statement block";
        case TokenType::Name: return t.text;
        case TokenType::String: return "string";
        case TokenType::Integer: return "integer";
        case TokenType::Float: return "float";
        case TokenType::Operator: return op_spelling(t.op);
        case TokenType::Eof: return "end of template";
        }
        return "token";
    }

    void expect_op(Op op) {
        if (is_op(op)) {
            next();
            return;
        }
        if (cur().type == TokenType::Eof) error(std::string("unexpected end of template, expected '") + op_spelling(op) + "'");
        error(std::string("expected token '") + op_spelling(op) + "', got '" + describe(cur()) + "'");
    }

    void expect_type(TokenType type, const char* what) {
        if (cur().type == type) {
            next();
            return;
        }
        if (cur().type == TokenType::Eof) error(std::string("unexpected end of template, expected ") + what);
        error(std::string("expected ") + what + ", got '" + describe(cur()) + "'");
    }

    std::string expect_name() {
        if (cur().type != TokenType::Name) {
            if (cur().type == TokenType::Eof) error("unexpected end of template, expected a name");
            error("expected a name, got '" + describe(cur()) + "'");
        }
        return next().text;
    }

    void expect_keyword(std::string_view kw) {
        if (is_name(kw)) {
            next();
            return;
        }
        error("expected '" + std::string(kw) + "', got '" + describe(cur()) + "'");
    }

    // ----- statements -----

    static std::string join_quoted(const std::vector<std::string>& names) {
        std::string out;
        for (std::size_t k = 0; k < names.size(); ++k) {
            if (k) out += " or ";
            out += "'" + names[k] + "'";
        }
        return out;
    }

    // Jinja2's message for a tag that does not belong here, or for a missing end tag.
    [[noreturn]] void fail_unknown_tag(const std::string* tag, SourcePos pos) {
        std::string message = tag ? "encountered unknown tag '" + *tag + "'." : "unexpected end of template.";
        if (!end_token_stack_.empty()) {
            bool expected_elsewhere = false;
            if (tag)
                for (const auto& ends : end_token_stack_)
                    if (std::find(ends.begin(), ends.end(), *tag) != ends.end()) expected_elsewhere = true;
            if (expected_elsewhere)
                message += " You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for " +
                           join_quoted(end_token_stack_.back()) + ".";
            else
                message += " Jinja was looking for the following tags: " + join_quoted(end_token_stack_.back()) + ".";
        }
        if (!tag_stack_.empty()) message += " The innermost block that needs to be closed is '" + tag_stack_.back() + "'.";
        error(message, pos);
    }

    Body subparse(const std::vector<std::string>& end_tokens) {
        Body body;
        bool pushed = !end_tokens.empty();
        if (pushed) end_token_stack_.push_back(end_tokens);
        while (cur().type != TokenType::Eof) {
            const Token& t = cur();
            if (t.type == TokenType::Data) {
                body.push_back(std::make_unique<TextStmt>(t.pos, t.text));
                next();
            } else if (t.type == TokenType::VariableBegin) {
                next();
                SourcePos pos = cur().pos;
                auto expr = parse_tuple(false, true, {}, false);
                body.push_back(std::make_unique<OutputStmt>(pos, std::move(expr)));
                expect_type(TokenType::VariableEnd, "end of print statement '}}'");
            } else if (t.type == TokenType::BlockBegin) {
                next();
                if (cur().type == TokenType::Name &&
                    std::find(end_tokens.begin(), end_tokens.end(), cur().text) != end_tokens.end()) {
                    if (pushed) end_token_stack_.pop_back();
                    return body;
                }
                parse_statement(body);
                expect_type(TokenType::BlockEnd, "end of statement block '%}'");
            } else {
                error("unexpected '" + describe(t) + "'");
            }
        }
        if (pushed) end_token_stack_.pop_back();
        return body;
    }

    Body parse_statements(const std::vector<std::string>& end_tokens, bool drop_needle) {
        skip_op(Op::Colon);
        expect_type(TokenType::BlockEnd, "end of statement block '%}'");
        Body body = subparse(end_tokens);
        if (cur().type == TokenType::Eof) {
            end_token_stack_.push_back(end_tokens);
            fail_unknown_tag(nullptr, cur().pos);
        }
        if (drop_needle) next();
        return body;
    }

    void parse_statement(Body& body) {
        const Token& t = cur();
        if (t.type != TokenType::Name) error("tag name expected");
        if (++statement_depth_ > max_statement_nesting) error("statements are nested too deeply");
        std::string tag = t.text;
        SourcePos pos = t.pos;
        tag_stack_.push_back(tag);
        if (tag == "if") body.push_back(parse_if());
        else if (tag == "for") body.push_back(parse_for());
        else if (tag == "set") body.push_back(parse_set());
        else if (tag == "macro") body.push_back(parse_macro());
        else if (tag == "call") body.push_back(parse_call_block());
        else if (tag == "filter") body.push_back(parse_filter_block());
        else if (tag == "with") body.push_back(parse_with());
        else if (tag == "print") parse_print(body);
        else if (tag == "generation") body.push_back(parse_scope("endgeneration"));
        else if (tag == "break" || tag == "continue") body.push_back(parse_loop_control(tag == "break"));
        else if (tag == "block" || tag == "extends" || tag == "include" || tag == "import" || tag == "from" ||
                 tag == "autoescape")
            error("the '" + tag + "' tag needs template loading or autoescaping, which chat templates do not have", pos);
        else {
            tag_stack_.pop_back();
            fail_unknown_tag(&tag, pos);
        }
        tag_stack_.pop_back();
        --statement_depth_;
    }

    StmtPtr parse_if() {
        auto node = std::make_unique<IfStmt>(next().pos);
        for (;;) {
            auto test = parse_tuple(false, false, {}, false);
            auto body = parse_statements({"elif", "else", "endif"}, false);
            node->branches.emplace_back(std::move(test), std::move(body));
            const Token& end = next();
            if (end.text == "elif") continue;
            if (end.text == "else") node->otherwise = parse_statements({"endif"}, true);
            break;
        }
        return node;
    }

    StmtPtr parse_for() {
        auto node = std::make_unique<ForStmt>(next().pos);
        node->target = parse_assign_target(true, false, {"in"});
        expect_keyword("in");
        node->iterable = parse_tuple(false, false, {"recursive"}, false);
        if (skip_name("if")) node->filter = parse_expression(true);
        node->recursive = skip_name("recursive");
        ++loop_depth_;
        node->body = parse_statements({"endfor", "else"}, false);
        --loop_depth_;
        if (next().text == "else") node->otherwise = parse_statements({"endfor"}, true);
        return node;
    }

    StmtPtr parse_set() {
        SourcePos pos = next().pos;
        Target target = parse_assign_target(true, false, {}, true);
        if (skip_op(Op::Assign)) {
            auto node = std::make_unique<SetStmt>(pos);
            node->target = std::move(target);
            node->value = parse_tuple(false, true, {}, false);
            return node;
        }
        auto node = std::make_unique<SetBlockStmt>(pos);
        node->target = std::move(target);
        if (is_op(Op::Pipe)) node->filter = parse_filter(std::make_unique<Expr>(ExprKind::BlockInput, pos), false);
        node->body = parse_block_body({"endset"});
        return node;
    }

    // A body that runs in its own frame, where loop controls of an outer loop do not reach.
    Body parse_block_body(const std::vector<std::string>& end_tokens) {
        int saved_loops = loop_depth_;
        loop_depth_ = 0;
        Body body = parse_statements(end_tokens, true);
        loop_depth_ = saved_loops;
        return body;
    }

    void parse_signature(MacroDef& def) {
        expect_op(Op::LParen);
        bool seen_default = false;
        while (!is_op(Op::RParen)) {
            if (!def.params.empty()) expect_op(Op::Comma);
            std::string param = expect_name();
            if (is_reserved_constant(param)) error("can't assign to '" + param + "'");
            def.params.push_back(param);
            if (skip_op(Op::Assign)) {
                def.defaults.push_back(parse_expression(true));
                seen_default = true;
            } else {
                if (seen_default) error("non-default argument follows default argument");
                def.defaults.push_back(nullptr);
            }
        }
        expect_op(Op::RParen);
    }

    StmtPtr parse_macro() {
        auto node = std::make_unique<MacroStmt>(next().pos);
        node->def = std::make_shared<MacroDef>();
        node->def->pos = node->pos;
        node->def->name = expect_name();
        parse_signature(*node->def);
        node->def->body = parse_block_body({"endmacro"});
        find_special_names(*node->def);
        return node;
    }

    StmtPtr parse_call_block() {
        auto node = std::make_unique<CallBlockStmt>(next().pos);
        node->caller = std::make_shared<MacroDef>();
        node->caller->name = "caller";
        node->caller->pos = node->pos;
        if (is_op(Op::LParen)) parse_signature(*node->caller);
        auto call = parse_expression(true);
        if (call->kind != ExprKind::Call) error("expected call", node->pos);
        node->call.reset(static_cast<CallExpr*>(call.release()));
        node->caller->body = parse_block_body({"endcall"});
        find_special_names(*node->caller);
        return node;
    }

    StmtPtr parse_filter_block() {
        auto node = std::make_unique<FilterBlockStmt>(next().pos);
        node->filter = parse_filter(std::make_unique<Expr>(ExprKind::BlockInput, node->pos), true);
        node->body = parse_block_body({"endfilter"});
        return node;
    }

    StmtPtr parse_with() {
        auto node = std::make_unique<WithStmt>(next().pos);
        while (cur().type != TokenType::BlockEnd) {
            if (!node->targets.empty()) expect_op(Op::Comma);
            node->targets.push_back(parse_assign_target(true, false, {}));
            expect_op(Op::Assign);
            node->values.push_back(parse_expression(true));
        }
        node->body = parse_statements({"endwith"}, true);
        return node;
    }

    void parse_print(Body& body) {
        next();
        bool first = true;
        while (cur().type != TokenType::BlockEnd) {
            if (!first) expect_op(Op::Comma);
            first = false;
            SourcePos pos = cur().pos;
            body.push_back(std::make_unique<OutputStmt>(pos, parse_expression(true)));
        }
    }

    StmtPtr parse_scope(const char* end_tag) {
        auto node = std::make_unique<ScopeStmt>(next().pos);
        node->body = parse_block_body({end_tag});
        return node;
    }

    StmtPtr parse_loop_control(bool is_break) {
        SourcePos pos = next().pos;
        if (loop_depth_ == 0) error(std::string("'") + (is_break ? "break" : "continue") + "' outside of a loop", pos);
        return std::make_unique<LoopControlStmt>(is_break ? StmtKind::Break : StmtKind::Continue, pos);
    }

    // ----- assignment targets -----

    bool at_tuple_end(const std::vector<std::string>& extra) const {
        const Token& t = cur();
        if (t.type == TokenType::VariableEnd || t.type == TokenType::BlockEnd || t.type == TokenType::Eof) return true;
        if (t.type == TokenType::Operator && t.op == Op::RParen) return true;
        return t.type == TokenType::Name && std::find(extra.begin(), extra.end(), t.text) != extra.end();
    }

    Target parse_target_primary(bool with_namespace) {
        Target target;
        target.pos = cur().pos;
        if (cur().type == TokenType::Name) {
            std::string n = next().text;
            if (is_reserved_constant(n)) error("can't assign to 'const'", target.pos);
            if (with_namespace && is_op(Op::Dot)) {
                next();
                target.kind = Target::Kind::NamespaceAttr;
                target.name = n;
                target.attr = expect_name();
                return target;
            }
            target.name = n;
            return target;
        }
        if (skip_op(Op::LParen)) {
            target = parse_target_tuple({}, with_namespace, true);
            expect_op(Op::RParen);
            return target;
        }
        error("can't assign to '" + describe(cur()) + "'");
    }

    Target parse_target_tuple(const std::vector<std::string>& extra, bool with_namespace, bool explicit_parens) {
        Target tuple;
        tuple.kind = Target::Kind::Tuple;
        tuple.pos = cur().pos;
        bool is_tuple = false;
        for (;;) {
            if (!tuple.items.empty()) expect_op(Op::Comma);
            if (at_tuple_end(extra)) break;
            tuple.items.push_back(parse_target_primary(with_namespace));
            if (is_op(Op::Comma)) is_tuple = true;
            else break;
        }
        if (!is_tuple) {
            if (!tuple.items.empty()) return std::move(tuple.items.front());
            if (!explicit_parens) error("expected an assignment target, got '" + describe(cur()) + "'");
        }
        return tuple;
    }

    Target parse_assign_target(bool with_tuple, bool name_only, const std::vector<std::string>& extra,
                               bool with_namespace = false) {
        if (name_only) {
            Target t;
            t.pos = cur().pos;
            t.name = expect_name();
            return t;
        }
        if (with_tuple) return parse_target_tuple(extra, with_namespace, false);
        return parse_target_primary(with_namespace);
    }

    // ----- expressions -----

    template <typename T>
    ExprPtr finish(std::unique_ptr<T> node) {
        int h = child_height(*node) + 1;
        if (h > max_expression_height) error("expression is nested too deeply", node->pos);
        node->height = static_cast<std::uint16_t>(h);
        return node;
    }

    ExprPtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

    ExprPtr parse_condexpr() {
        SourcePos pos = cur().pos;
        ExprPtr expr1 = parse_or();
        while (skip_name("if")) {
            auto node = std::make_unique<CondExpr>(pos);
            node->then = std::move(expr1);
            node->test = parse_or();
            if (skip_name("else")) node->otherwise = parse_condexpr();
            expr1 = finish(std::move(node));
            pos = cur().pos;
        }
        return expr1;
    }

    ExprPtr parse_or() {
        ExprPtr left = parse_and();
        while (is_name("or")) {
            SourcePos pos = next().pos;
            left = finish(std::make_unique<BinaryExpr>(ExprKind::Or, pos, BinaryOp::Add, std::move(left), parse_and()));
        }
        return left;
    }

    ExprPtr parse_and() {
        ExprPtr left = parse_not();
        while (is_name("and")) {
            SourcePos pos = next().pos;
            left = finish(std::make_unique<BinaryExpr>(ExprKind::And, pos, BinaryOp::Add, std::move(left), parse_not()));
        }
        return left;
    }

    struct DepthGuard {
        int& depth;
        explicit DepthGuard(int& d) : depth(d) { ++depth; }
        ~DepthGuard() { --depth; }
    };
    int expression_depth_ = 0;

    void check_depth() {
        if (expression_depth_ > max_expression_height) error("expression is nested too deeply");
    }

    ExprPtr parse_not() {
        if (is_name("not")) {
            DepthGuard guard(expression_depth_);
            check_depth();
            SourcePos pos = next().pos;
            return finish(std::make_unique<UnaryExpr>(ExprKind::Not, pos, parse_not()));
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        SourcePos pos = cur().pos;
        ExprPtr expr = parse_math1();
        std::unique_ptr<CompareExpr> cmp;
        for (;;) {
            CompareOp op;
            if (is_op(Op::Eq)) op = CompareOp::Eq;
            else if (is_op(Op::Ne)) op = CompareOp::Ne;
            else if (is_op(Op::Lt)) op = CompareOp::Lt;
            else if (is_op(Op::Le)) op = CompareOp::Le;
            else if (is_op(Op::Gt)) op = CompareOp::Gt;
            else if (is_op(Op::Ge)) op = CompareOp::Ge;
            else if (is_name("in")) op = CompareOp::In;
            else if (is_name("not") && look().type == TokenType::Name && look().text == "in") {
                next();
                op = CompareOp::NotIn;
            } else break;
            next();
            if (!cmp) cmp = std::make_unique<CompareExpr>(pos, std::move(expr));
            cmp->rest.emplace_back(op, parse_math1());
        }
        if (!cmp) return expr;
        return finish(std::move(cmp));
    }

    ExprPtr binary(BinaryOp op, SourcePos pos, ExprPtr left, ExprPtr right) {
        return finish(std::make_unique<BinaryExpr>(ExprKind::Binary, pos, op, std::move(left), std::move(right)));
    }

    ExprPtr parse_math1() {
        ExprPtr left = parse_concat();
        while (is_op(Op::Add) || is_op(Op::Sub)) {
            const Token& t = next();
            BinaryOp op = t.op == Op::Add ? BinaryOp::Add : BinaryOp::Sub;
            left = binary(op, t.pos, std::move(left), parse_concat());
        }
        return left;
    }

    ExprPtr parse_concat() {
        SourcePos pos = cur().pos;
        ExprPtr first = parse_math2();
        if (!is_op(Op::Tilde)) return first;
        auto node = std::make_unique<ConcatExpr>(pos);
        node->parts.push_back(std::move(first));
        while (skip_op(Op::Tilde)) node->parts.push_back(parse_math2());
        return finish(std::move(node));
    }

    ExprPtr parse_math2() {
        ExprPtr left = parse_pow();
        while (is_op(Op::Mul) || is_op(Op::Div) || is_op(Op::FloorDiv) || is_op(Op::Mod)) {
            const Token& t = next();
            BinaryOp op = t.op == Op::Mul ? BinaryOp::Mul
                          : t.op == Op::Div ? BinaryOp::Div
                          : t.op == Op::FloorDiv ? BinaryOp::FloorDiv
                                                 : BinaryOp::Mod;
            left = binary(op, t.pos, std::move(left), parse_pow());
        }
        return left;
    }

    ExprPtr parse_pow() {
        ExprPtr left = parse_unary(true);
        while (is_op(Op::Pow)) {
            SourcePos pos = next().pos;
            left = binary(BinaryOp::Pow, pos, std::move(left), parse_unary(true));
        }
        return left;
    }

    ExprPtr parse_unary(bool with_filter) {
        DepthGuard guard(expression_depth_);
        check_depth();
        ExprPtr node;
        if (is_op(Op::Sub) || is_op(Op::Add)) {
            const Token& t = next();
            ExprKind kind = t.op == Op::Sub ? ExprKind::Neg : ExprKind::Pos;
            node = finish(std::make_unique<UnaryExpr>(kind, t.pos, parse_unary(false)));
        } else {
            node = parse_primary();
        }
        node = parse_postfix(std::move(node));
        if (with_filter) node = parse_filter_expr(std::move(node));
        return node;
    }

    ExprPtr parse_primary() {
        const Token& t = cur();
        switch (t.type) {
        case TokenType::Name: {
            next();
            if (t.text == "true" || t.text == "True") return std::make_unique<ConstExpr>(t.pos, Value::boolean(true));
            if (t.text == "false" || t.text == "False") return std::make_unique<ConstExpr>(t.pos, Value::boolean(false));
            if (t.text == "none" || t.text == "None") return std::make_unique<ConstExpr>(t.pos, Value::none());
            return std::make_unique<NameExpr>(t.pos, t.text);
        }
        case TokenType::String: {
            SourcePos pos = t.pos;
            std::string text;
            while (cur().type == TokenType::String) text += next().text;  // "a" "b" is "ab", as in Python
            return std::make_unique<ConstExpr>(pos, Value::string(std::move(text)));
        }
        case TokenType::Integer: next(); return std::make_unique<ConstExpr>(t.pos, Value::integer(t.integer));
        case TokenType::Float: next(); return std::make_unique<ConstExpr>(t.pos, Value::floating(t.floating));
        case TokenType::Operator:
            if (t.op == Op::LParen) {
                next();
                auto node = parse_tuple(false, true, {}, true);
                expect_op(Op::RParen);
                return node;
            }
            if (t.op == Op::LBracket) return parse_list();
            if (t.op == Op::LBrace) return parse_dict();
            break;
        case TokenType::Eof: error("unexpected end of template");
        default: break;
        }
        error("unexpected '" + describe(t) + "'");
    }

    ExprPtr parse_tuple(bool simplified, bool with_condexpr, const std::vector<std::string>& extra,
                        bool explicit_parentheses) {
        SourcePos pos = cur().pos;
        std::vector<ExprPtr> items;
        bool is_tuple = false;
        for (;;) {
            if (!items.empty()) expect_op(Op::Comma);
            if (at_tuple_end(extra)) break;
            items.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
            if (is_op(Op::Comma)) is_tuple = true;
            else break;
        }
        if (!is_tuple) {
            if (!items.empty()) return std::move(items.front());
            if (!explicit_parentheses) {
                if (cur().type == TokenType::Eof) error("unexpected end of template, expected an expression");
                error("expected an expression, got '" + describe(cur()) + "'");
            }
        }
        auto node = std::make_unique<ListExpr>(ExprKind::Tuple, pos);
        node->items = std::move(items);
        return finish(std::move(node));
    }

    ExprPtr parse_list() {
        auto node = std::make_unique<ListExpr>(ExprKind::List, next().pos);
        while (!is_op(Op::RBracket)) {
            if (!node->items.empty()) expect_op(Op::Comma);
            if (is_op(Op::RBracket)) break;
            node->items.push_back(parse_expression(true));
        }
        expect_op(Op::RBracket);
        return finish(std::move(node));
    }

    ExprPtr parse_dict() {
        auto node = std::make_unique<DictExpr>(next().pos);
        while (!is_op(Op::RBrace)) {
            if (!node->items.empty()) expect_op(Op::Comma);
            if (is_op(Op::RBrace)) break;
            auto key = parse_expression(true);
            expect_op(Op::Colon);
            auto value = parse_expression(true);
            node->items.emplace_back(std::move(key), std::move(value));
        }
        expect_op(Op::RBrace);
        return finish(std::move(node));
    }

    ExprPtr parse_postfix(ExprPtr node) {
        for (;;) {
            if (is_op(Op::Dot) || is_op(Op::LBracket)) node = parse_subscript(std::move(node));
            else if (is_op(Op::LParen)) node = parse_call(std::move(node));
            else return node;
        }
    }

    ExprPtr parse_filter_expr(ExprPtr node) {
        for (;;) {
            if (is_op(Op::Pipe)) node = parse_filter(std::move(node), false);
            else if (is_name("is")) node = parse_test(std::move(node));
            else if (is_op(Op::LParen)) node = parse_call(std::move(node));
            else return node;
        }
    }

    ExprPtr parse_subscript(ExprPtr node) {
        const Token& t = next();
        if (t.op == Op::Dot) {
            const Token& attr = next();
            if (attr.type == TokenType::Name)
                return finish(std::make_unique<GetattrExpr>(attr.pos, std::move(node), attr.text));
            if (attr.type != TokenType::Integer) error("expected name or number", attr.pos);
            auto index = std::make_unique<ConstExpr>(attr.pos, Value::integer(attr.integer));
            return finish(std::make_unique<GetitemExpr>(t.pos, std::move(node), std::move(index)));
        }
        std::vector<ExprPtr> args;
        while (!is_op(Op::RBracket)) {
            if (!args.empty()) expect_op(Op::Comma);
            args.push_back(parse_subscribed());
        }
        expect_op(Op::RBracket);
        ExprPtr index;
        if (args.size() == 1) {
            index = std::move(args.front());
        } else {
            auto tuple = std::make_unique<ListExpr>(ExprKind::Tuple, t.pos);
            tuple->items = std::move(args);
            index = finish(std::move(tuple));
        }
        return finish(std::make_unique<GetitemExpr>(t.pos, std::move(node), std::move(index)));
    }

    ExprPtr parse_subscribed() {
        SourcePos pos = cur().pos;
        ExprPtr start;
        if (!skip_op(Op::Colon)) {
            start = parse_expression(true);
            if (!is_op(Op::Colon)) return start;
            next();
        }
        auto slice = std::make_unique<SliceExpr>(pos);
        slice->start = std::move(start);
        if (!is_op(Op::Colon) && !is_op(Op::RBracket) && !is_op(Op::Comma)) slice->stop = parse_expression(true);
        if (skip_op(Op::Colon)) {
            if (!is_op(Op::RBracket) && !is_op(Op::Comma)) slice->step = parse_expression(true);
        }
        return finish(std::move(slice));
    }

    void parse_call_args(Arguments& args) {
        SourcePos pos = cur().pos;
        expect_op(Op::LParen);
        bool require_comma = false;
        auto ensure = [&](bool ok) {
            if (!ok) error("invalid syntax for function call expression", pos);
        };
        while (!is_op(Op::RParen)) {
            if (require_comma) {
                expect_op(Op::Comma);
                if (is_op(Op::RParen)) break;
            }
            if (is_op(Op::Mul)) {
                ensure(!args.star && !args.star_star);
                next();
                args.star = parse_expression(true);
            } else if (is_op(Op::Pow)) {
                ensure(!args.star_star);
                next();
                args.star_star = parse_expression(true);
            } else if (cur().type == TokenType::Name && look().type == TokenType::Operator && look().op == Op::Assign) {
                ensure(!args.star_star);
                std::string key = next().text;
                next();
                args.named.emplace_back(std::move(key), parse_expression(true));
            } else {
                ensure(!args.star && !args.star_star && args.named.empty());
                args.positional.push_back(parse_expression(true));
            }
            require_comma = true;
        }
        expect_op(Op::RParen);
    }

    ExprPtr parse_call(ExprPtr node) {
        SourcePos pos = node->pos;  // errors point at what is called, e.g. raise_exception
        auto call = std::make_unique<CallExpr>(pos, std::move(node));
        parse_call_args(call->args);
        return finish(std::move(call));
    }

    std::string parse_dotted_name() {
        std::string name = expect_name();
        while (skip_op(Op::Dot)) name += "." + expect_name();
        return name;
    }

    ExprPtr parse_filter(ExprPtr node, bool start_inline) {
        while (is_op(Op::Pipe) || start_inline) {
            if (!start_inline) next();
            start_inline = false;
            SourcePos pos = cur().pos;
            auto filter = std::make_unique<FilterExpr>(pos, std::move(node), parse_dotted_name());
            filter->fn = find_filter(filter->name);
            if (is_op(Op::LParen)) parse_call_args(filter->args);
            node = finish(std::move(filter));
        }
        return node;
    }

    ExprPtr parse_test(ExprPtr node) {
        SourcePos pos = next().pos;
        bool negated = skip_name("not");
        auto test = std::make_unique<TestExpr>(pos, std::move(node), parse_dotted_name());
        test->fn = find_test(test->name);
        const Token& t = cur();
        if (is_op(Op::LParen)) {
            parse_call_args(test->args);
        } else if ((t.type == TokenType::Name || t.type == TokenType::String || t.type == TokenType::Integer ||
                    t.type == TokenType::Float || is_op(Op::LBracket) || is_op(Op::LBrace)) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
            if (is_name("is")) error("you cannot chain multiple tests with is");
            test->args.positional.push_back(parse_postfix(parse_primary()));
        }
        ExprPtr result = finish(std::move(test));
        if (negated) result = finish(std::make_unique<UnaryExpr>(ExprKind::Not, pos, std::move(result)));
        return result;
    }
};

}  // namespace

Program parse_template(std::string_view source, const std::string& template_name) {
    if (!is_valid_utf8(source))
        throw TemplateError(TemplateError::Kind::Syntax, "template is not valid UTF-8", template_name, {});
    std::string normalized = normalize_newlines(source);
    Program program = Parser(tokenize(normalized, template_name), template_name).parse();
    check_filter_and_test_names(program.body, template_name);
    return program;
}

}  // namespace ascent::templates::jinja
