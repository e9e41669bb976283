// Every way a template can fail: syntax errors with line:column, raise_exception,
// Python errors while rendering, and the safety limits that stop runaway templates.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "chat_templates/jinja/template.h"

namespace {

using ascent::templates::RenderOptions;
using ascent::templates::Template;
using ascent::templates::TemplateError;
using json = nlohmann::ordered_json;
using Kind = TemplateError::Kind;

// Renders and returns the error it must raise.
TemplateError render_error(const std::string& source, const json& context = json::object(),
                           const RenderOptions& options = {}) {
    try {
        Template::parse(source, "t.jinja").render(context, options);
    } catch (const TemplateError& e) {
        return e;
    }
    ADD_FAILURE() << "no error for: " << source;
    return TemplateError(Kind::Render, "");
}

TEST(JinjaSyntaxErrors, NameLineAndColumn) {
    TemplateError e = render_error("line one\n{% if x %}\n  {{ 1 + }}\n{% endif %}");
    EXPECT_EQ(e.kind(), Kind::Syntax);
    EXPECT_EQ(e.position().line, 3u);
    EXPECT_EQ(e.position().column, 10u);  // at the "}}" where an operand was expected
    EXPECT_EQ(std::string(e.what()), "t.jinja:3:10: unexpected 'end of print statement'");
}

TEST(JinjaSyntaxErrors, ColumnsCountCharactersNotBytes) {
    TemplateError e = render_error("héllo wörld {{ x ! y }}");
    EXPECT_EQ(e.position().line, 1u);
    EXPECT_EQ(e.position().column, 18u);
    EXPECT_EQ(e.message(), "unexpected character '!'");
}

TEST(JinjaSyntaxErrors, UnclosedBlockNamesTheMissingTag) {
    TemplateError e = render_error("{% for m in messages %}\n{{ m }}\n");
    EXPECT_EQ(e.kind(), Kind::Syntax);
    EXPECT_NE(e.message().find("'endfor'"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("innermost block that needs to be closed is 'for'"), std::string::npos);
}

TEST(JinjaSyntaxErrors, MismatchedEndTag) {
    TemplateError e = render_error("{% if a %}\n{% endfor %}");
    EXPECT_EQ(e.kind(), Kind::Syntax);
    EXPECT_EQ(e.position().line, 2u);
    EXPECT_NE(e.message().find("unknown tag 'endfor'"), std::string::npos) << e.message();
}

TEST(JinjaSyntaxErrors, UnknownFilterIsACompileErrorOutsideConditions) {
    TemplateError e = render_error("{{ x | nosuch }}");
    EXPECT_EQ(e.kind(), Kind::Syntax);
    EXPECT_EQ(e.message(), "no filter named 'nosuch'");
    EXPECT_EQ(e.position().column, 8u);
    // Inside an if, Jinja2 only fails when the filter is really used.
    EXPECT_EQ(Template::parse("{% if false %}{{ x | nosuch }}{% endif %}ok", "t").render(json::object()), "ok");
    TemplateError late = render_error("{% if true %}{{ 'x' | from_json }}{% endif %}");
    EXPECT_EQ(late.kind(), Kind::Render);
    EXPECT_EQ(late.message(), "No filter named 'from_json' found.");
}

TEST(JinjaSyntaxErrors, MoreMalformedTemplates) {
    for (const char* source : {"{{ x", "{{ (1 }}", "{% set %}", "{# never closed", "{% raw %}never closed", "{{ 'open }}",
                               "{% macro m(a=1, b) %}{% endmacro %}", "{% break %}", "{% do x %}", "{{ a is b is c }}",
                               "{% for 1 in x %}{% endfor %}", "{{ f(a=1, 2) }}", "{% call x %}{% endcall %}"}) {
        EXPECT_EQ(render_error(source).kind(), Kind::Syntax) << source;
    }
}

TEST(JinjaSyntaxErrors, InvalidUtf8Source) {
    EXPECT_EQ(render_error("caf\xc3").kind(), Kind::Syntax);
}

TEST(JinjaRaiseException, SurfacesTheMessage) {
    std::string source = "{% for m in messages %}\n"
                         "{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}\n"
                         "{% endfor %}";
    json context = {{"messages", json::array({{{"role", "system"}, {"content", "x"}}})}};
    TemplateError e = render_error(source, context);
    EXPECT_EQ(e.kind(), Kind::Raised);
    EXPECT_EQ(e.message(), "System role not supported");
    EXPECT_EQ(e.position().line, 2u);
    EXPECT_EQ(std::string(e.what()), "t.jinja:2:31: System role not supported");
}

TEST(JinjaRenderErrors, AttributeOfUndefined) {
    TemplateError e = render_error("{{ foo.bar }}");
    EXPECT_EQ(e.kind(), Kind::Render);
    EXPECT_EQ(e.message(), "'foo' is undefined");

    json context = {{"messages", json::array({{{"role", "user"}}})}};
    e = render_error("{{ messages[0].content.strip() }}", context);
    EXPECT_EQ(e.message(), "'dict object' has no attribute 'content'");

    e = render_error("{{ none.a.b }}");
    EXPECT_EQ(e.message(), "'None' has no attribute 'a'");
}

TEST(JinjaRenderErrors, PythonTypeErrors) {
    EXPECT_EQ(render_error("{{ 'a' + 1 }}").message(), "can only concatenate str (not \"int\") to str");
    EXPECT_EQ(render_error("{{ 1 + 'a' }}").message(), "unsupported operand type(s) for +: 'int' and 'str'");
    EXPECT_EQ(render_error("{{ 1 // 0 }}").message(), "integer division or modulo by zero");
    EXPECT_EQ(render_error("{{ 1 < 'a' }}").message(), "'<' not supported between instances of 'int' and 'str'");
    EXPECT_EQ(render_error("{% for x in none %}{% endfor %}").message(), "'NoneType' object is not iterable");
    EXPECT_EQ(render_error("{{ x|tojson }}").message(), "Object of type Undefined is not JSON serializable");
    EXPECT_EQ(render_error("{{ [1]|select|length }}").message(), "object of type 'generator' has no len()");
    EXPECT_EQ(render_error("{% set x = 1 %}{% set x.a = 2 %}").message(),
              "cannot assign attribute on non-namespace object");
    EXPECT_EQ(render_error("{% set a, b = [1] %}").message(), "not enough values to unpack (expected 2, got 1)");
    EXPECT_EQ(render_error("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}").message(),
              "macro 'm' takes not more than 1 argument(s)");
    // A slice is Python's own subscript in compiled Jinja2: no undefined fallback.
    EXPECT_EQ(render_error("{{ n[1:] }}", {{"n", 5}}).message(), "'int' object is not subscriptable");
    EXPECT_EQ(render_error("{{ d[1:] }}", {{"d", json::object()}}).message(), "unhashable type: 'slice'");
    EXPECT_EQ(render_error("{{ [{'a': 1}]|unique|list }}").message(), "unhashable type: 'dict'");
    EXPECT_EQ(render_error("{{ [1]|indent }}").message(), "'list' object has no attribute 'splitlines'");
    EXPECT_EQ(render_error("{{ 'ab' % 2 }}").message(), "not all arguments converted during string formatting");
    EXPECT_EQ(render_error("{{ missing|int }}").message(), "'missing' is undefined");
}

TEST(JinjaRenderErrors, ImmutableSandboxBlocksMutation) {
    // transformers renders in an ImmutableSandboxedEnvironment: list.append is refused.
    TemplateError e = render_error("{% set ns = namespace(ids=[]) %}{% set _ = ns.ids.append(1) %}");
    EXPECT_EQ(e.kind(), Kind::Render);
    EXPECT_EQ(e.message(), "access to attribute 'append' of 'list' object is unsafe.");
    EXPECT_EQ(render_error("{% set d = {} %}{{ d.update({'a': 1}) }}").message(),
              "access to attribute 'update' of 'dict' object is unsafe.");
}

TEST(JinjaRenderErrors, ContextMustBeAnObject) {
    EXPECT_THROW(Template::parse("x", "t").render(json::array()), TemplateError);
}

TEST(JinjaLimits, RunawayRecursionIsStopped) {
    TemplateError e = render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
    EXPECT_EQ(e.kind(), Kind::Limit);
    EXPECT_NE(e.message().find("macro 'f'"), std::string::npos) << e.message();

    RenderOptions shallow;
    shallow.limits.max_call_depth = 3;
    std::string countdown = "{% macro f(n) %}{{ n }}{% if n %}{{ f(n - 1) }}{% endif %}{% endmacro %}";
    EXPECT_EQ(Template::parse(countdown + "{{ f(2) }}", "t").render(json::object(), shallow), "210");
    EXPECT_EQ(render_error(countdown + "{{ f(3) }}", json::object(), shallow).kind(), Kind::Limit);
}

TEST(JinjaLimits, RecursiveLoopDepthIsBounded) {
    // A recursive loop that feeds itself the same list never bottoms out.
    TemplateError e = render_error("{% for x in [[1]] recursive %}{{ loop([[1]]) }}{% endfor %}");
    EXPECT_EQ(e.kind(), Kind::Limit);
}

TEST(JinjaLimits, EndlessLoopsAreStopped) {
    auto start = std::chrono::steady_clock::now();
    TemplateError e = render_error(
        "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
        "{% endfor %}{% endfor %}{% endfor %}");
    EXPECT_EQ(e.kind(), Kind::Limit);
    EXPECT_NE(e.message().find("loop iterations"), std::string::npos) << e.message();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));

    RenderOptions few;
    few.limits.max_loop_iterations = 10;
    EXPECT_EQ(Template::parse("{% for i in range(10) %}{{ i }}{% endfor %}", "t").render(json::object(), few),
              "0123456789");
    EXPECT_EQ(render_error("{% for i in range(11) %}{% endfor %}", json::object(), few).kind(), Kind::Limit);
}

TEST(JinjaLimits, SandboxRangeLimit) {
    TemplateError e = render_error("{{ range(100001)|length }}");
    EXPECT_EQ(e.message(), "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
}

TEST(JinjaLimits, OutputSizeIsBounded) {
    RenderOptions small;
    small.limits.max_output_bytes = 1000;
    EXPECT_EQ(render_error("{% for i in range(2000) %}x{% endfor %}", json::object(), small).kind(), Kind::Limit);
    // Values are bounded too, before they are built.
    EXPECT_EQ(render_error("{% set s = 'x' * 1000000000000 %}").kind(), Kind::Limit);
    EXPECT_EQ(render_error("{% set s = [0] * 1000000000000 %}").kind(), Kind::Limit);
    EXPECT_EQ(render_error("{% set ns = namespace(s='xx') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}"
                           "{% endfor %}")
                  .kind(),
              Kind::Limit);
}

TEST(JinjaLimits, DeepNestingIsRejected) {
    std::string parens = std::string(2000, '(') + "1" + std::string(2000, ')');
    EXPECT_EQ(render_error("{{ " + parens + " }}").kind(), Kind::Syntax);
    std::string chain = "{{ 1";
    for (int i = 0; i < 5000; ++i) chain += " + 1";
    EXPECT_EQ(render_error(chain + " }}").kind(), Kind::Syntax);
    std::string ifs;
    for (int i = 0; i < 500; ++i) ifs += "{% if true %}";
    for (int i = 0; i < 500; ++i) ifs += "{% endif %}";
    EXPECT_EQ(render_error(ifs).kind(), Kind::Syntax);
}

TEST(JinjaLimits, ReferenceCyclesAreReleased) {
    // A namespace holding itself and a macro stored in its defining frame form cycles;
    // the sanitizer build's leak checker verifies the renderer breaks them.
    std::string source =
        "{% set ns = namespace() %}{% set ns.me = ns %}{% macro m() %}{{ m }}{% endmacro %}"
        "{% for i in [1, 2] %}{% macro inner() %}{{ i }}{% endmacro %}{% set ns.f = inner %}{% endfor %}{{ ns.f() }}";
    EXPECT_EQ(Template::parse(source, "t").render(json::object()), "2");
}

}  // namespace
