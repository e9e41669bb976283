// Generated expectations: each string is what Python jinja2 3.1.6 renders for the template,
// set up as transformers sets it up (trim_blocks, lstrip_blocks, loopcontrols, its tojson,
// strftime_now fixed at 2025-01-15 12:00:00). They pin the semantics the reference renders
// do not reach on their own.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "chat_templates/jinja/template.h"

namespace {

using ascent::templates::RenderOptions;
using ascent::templates::Template;
using json = nlohmann::ordered_json;

std::string render(const std::string& source, const std::string& context_json = "{}") {
    RenderOptions options;
    options.now = std::chrono::sys_days{std::chrono::year{2025} / 1 / 15} + std::chrono::hours{12};
    return Template::parse(source, "test.jinja").render(json::parse(context_json), options);
}

TEST(JinjaSemantics, WhitespaceControlWithTrimAndLstripBlocks) {
    // lstrip_blocks removes the indentation before a tag, trim_blocks the newline after it
    EXPECT_EQ(render(R"J(a
  {% if true %}
  b
  {% endif %}
c
)J"),
              R"J(a
  b
c)J");
    // '-' strips all whitespace on its side, newlines included
    EXPECT_EQ(render(R"J(a
  {%- if true %}
  b
  {% endif -%}
c)J"),
              R"J(a  b
c)J");
    // '+' turns lstrip_blocks / trim_blocks off for one tag
    EXPECT_EQ(render(R"J(a
  {%+ if true %}
  b
  {% endif +%}
c)J"),
              R"J(a
    b

c)J");
    // tags not alone on their line keep the spaces around them
    EXPECT_EQ(render(R"J(x {% if true %} y {% endif %} z)J"),
              R"J(x  y  z)J");
    // lstrip_blocks does not touch {{ }}, and trim_blocks only follows block tags
    EXPECT_EQ(render(R"J(  {{ 'v' }}
  {% if true %}w{% endif %})J"),
              R"J(  v
w)J");
    // comments take part in both options
    EXPECT_EQ(render(R"J(  {# comment #}
x
  {#- c -#}  
 y)J"),
              R"J(xy)J");
    // raw: content kept verbatim, trim_blocks applies after endraw only
    EXPECT_EQ(render(R"J({% raw %}
  {{ x }}
  {% endraw %}
after)J"),
              R"J(
  {{ x }}
after)J");
    // CRLF is read as LF
    EXPECT_EQ(render("line1\r\nline2\r\n{% if true %}\r\nx\r\n{% endif %}\r\n"),
              R"J(line1
line2
x
)J");
    // exactly one trailing newline of the source is dropped
    EXPECT_EQ(render(R"J({{ 'a' }}
{{ 'b' }}

)J"),
              R"J(a
b
)J");
    EXPECT_EQ(render(R"J({% for i in [1, 2] %}
  {{ i }}
{% endfor %}
)J"),
              R"J(  1
  2
)J");
    EXPECT_EQ(render(R"J({%- for m in messages %}
    {{- '<' + m.role + '>' + m.content }}
{%- endfor %}
)J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J(<system>Be brief.<user>Hi<assistant>Hello!<user>Bye)J");
    EXPECT_EQ(render(R"J({{- 'a' -}}
  
 {{- 'b' }}  
)J"),
              R"J(ab  )J");
    EXPECT_EQ(render(R"J(		{% if true %}	
	b{% endif %})J"),
              R"J(	
	b)J");
}

TEST(JinjaSemantics, LoopVariable) {
    EXPECT_EQ(render(R"J({% for x in [3, 1, 2] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %})J"),
              R"J(1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;)J");
    // previtem/nextitem are undefined at the ends
    EXPECT_EQ(render(R"J({% for x in [3, 1, 2] %}[{{ loop.previtem }}|{{ loop.nextitem }}|{{ loop.cycle('a', 'b') }}]{% endfor %})J"),
              R"J([|1|a][3|2|b][1||a])J");
    // the loop filter runs before loop.* counts
    EXPECT_EQ(render(R"J({% for x in [3, 1, 2] if x > 1 %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% else %}none{% endfor %})J"),
              R"J(3:1/2 2:2/2 )J");
    EXPECT_EQ(render(R"J({% for x in [] %}x{% else %}empty{% endfor %})J"),
              R"J(empty)J");
    EXPECT_EQ(render(R"J({% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %})J"),
              R"J(13)J");
    // dict order is insertion order
    EXPECT_EQ(render(R"J({% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}={{ v }};{% endfor %})J"),
              R"J(b=1;a=2;)J");
    // strings iterate by character
    EXPECT_EQ(render(R"J({% for c in 'héllo' %}{{ c }}.{% endfor %})J"),
              R"J(h.é.l.l.o.)J");
    // each iteration starts a fresh scope; nothing leaks out
    EXPECT_EQ(render(R"J({% set y = 5 %}{% for i in [1, 2] %}{{ y }}{% set y = i %}{{ y }}{% endfor %}{{ y }})J"),
              R"J(51525)J");
    EXPECT_EQ(render(R"J({% for m in messages|reverse %}{% if loop.first %}{{ m.content }}{% endif %}{% endfor %}|{% for m in messages[::-1] %}{{ loop.index0 }}{% endfor %})J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J(Bye|0123)J");
    EXPECT_EQ(render(R"J({% for x in [1, 1, 2] %}{{ loop.changed(x) }}{% endfor %})J"),
              R"J(TrueFalseTrue)J");
    EXPECT_EQ(render(R"J({% for item in [1, [2, [3]], 4] recursive %}{% if item is iterable %}({{ loop(item) }}){% else %}{{ item }}@{{ loop.depth }}{% endif %}{% endfor %})J"),
              R"J(1@1(2@2(3@3))4@1)J");
}

TEST(JinjaSemantics, Namespace) {
    EXPECT_EQ(render(R"J({% set ns = namespace(found=false, n=0) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.found = true %}{% set ns.n = ns.n + 1 %}{% endif %}{% endfor %}{{ ns.found }} {{ ns.n }})J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J(True 2)J");
    EXPECT_EQ(render(R"J({% set ns = namespace(last=-1) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.last = loop.index0 %}{% endif %}{% endfor %}{{ ns.last }})J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J(3)J");
    EXPECT_EQ(render(R"J({% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns.c is defined }}{{ ns }})J"),
              R"J(12False<Namespace {'a': 1, 'b': 2}>)J");
    // if blocks do not open a scope
    EXPECT_EQ(render(R"J({% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }})J"),
              R"J(2)J");
}

TEST(JinjaSemantics, Macros) {
    // defaults may use earlier parameters; missing ones are undefined
    EXPECT_EQ(render(R"J({% macro m(a, b=2, c=a) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, 3) }}|{{ m(1, c=5) }}|{{ m() }})J"),
              R"J(121|131|125|2)J");
    EXPECT_EQ(render(R"J({% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }})J"),
              R"J(1(2, 3){'x': 4})J");
    EXPECT_EQ(render(R"J({% macro w(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call w('b') %}inner{% endcall %})J"),
              R"J(<b>inner</b>)J");
    EXPECT_EQ(render(R"J({% macro w() %}{{ caller(21) }}{% endmacro %}{% call(v) w() %}[{{ v * 2 }}]{% endcall %})J"),
              R"J([42])J");
    // names resolve when the macro runs
    EXPECT_EQ(render(R"J({% macro m() %}{{ x }}{% endmacro %}{{ m() }}|{% set x = 1 %}{{ m() }}|{% set x = 2 %}{{ m() }})J"),
              R"J(|1|2)J");
    EXPECT_EQ(render(R"J({% macro r(n) %}{{ n }}{% if n > 0 %}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(4) }})J"),
              R"J(43210)J");
}

TEST(JinjaSemantics, Slicing) {
    EXPECT_EQ(render(R"J({{ [1, 2, 3][1:] }}{{ [1, 2, 3][:-1] }}{{ [1, 2, 3][::2] }}{{ [1, 2, 3][::-1] }}{{ [1, 2, 3][5:] }}{{ (1, 2, 3)[1:] }})J"),
              R"J([2, 3][1, 2][1, 3][3, 2, 1][](2, 3))J");
    EXPECT_EQ(render(R"J({{ 'abcdef'[1:4] }}|{{ 'abcdef'[-2:] }}|{{ 'abcdef'[::-2] }}|{{ 'héllo wörld'[::-1] }}|{{ 'héllo'[1] }}|{{ 'héllo'[-1] }})J"),
              R"J(bcd|ef|fdb|dlröw olléh|é|o)J");
    EXPECT_EQ(render(R"J({{ messages[1:]|length }} {{ messages[-1].content }} {{ messages[0]['role'] }} {{ messages.0.role }})J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J(3 Bye system system)J");
    // an index out of range is undefined, not an error
    EXPECT_EQ(render(R"J([{{ [1, 2][5] }}]{{ [1, 2][5] is defined }})J"),
              R"J([]False)J");
}

TEST(JinjaSemantics, PythonReprs) {
    // list items print with repr(); quotes chosen as Python does
    EXPECT_EQ(render(R"J({{ ['a', "it's", 'say "hi"', none, true, false] }})J"),
              R"J(['a', "it's", 'say "hi"', None, True, False])J");
    EXPECT_EQ(render(R"J({{ {'k': 'v', 'n': none, 'l': [1, 2.0]} }}|{{ (1,) }}|{{ () }}|{{ (1, 'a') }})J"),
              R"J({'k': 'v', 'n': None, 'l': [1, 2.0]}|(1,)|()|(1, 'a'))J");
    EXPECT_EQ(render(R"J({{ none }}|{{ true }}|{{ 1.0 }}|{{ 1e20 }}|{{ 1.5e-5 }}|{{ 0.1 + 0.2 }}|{{ 10 / 4 }}|{{ 10 / 5 }}|{{ -0.0 }}|{{ 1e16 }}|{{ 123456789.0 }})J"),
              R"J(None|True|1.0|1e+20|1.5e-05|0.30000000000000004|2.5|2.0|-0.0|1e+16|123456789.0)J");
    EXPECT_EQ(render(R"J({{ ['tab\there', 'new\nline', 'back\\slash', 'é', '\u00a0', '\x01'] }})J"),
              R"J(['tab\there', 'new\nline', 'back\\slash', 'é', '\xa0', '\x01'])J");
    EXPECT_EQ(render(R"J({{ {'a': 1}.items() }}|{{ {'a': 1}.keys() }}|{{ {'a': 1}.values() }})J"),
              R"J(dict_items([('a', 1)])|dict_keys(['a'])|dict_values([1]))J");
    EXPECT_EQ(render(R"J({{ messages[0] }})J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J({'role': 'system', 'content': 'Be brief.'})J");
}

TEST(JinjaSemantics, Tojson) {
    // json.dumps(ensure_ascii=False): ', ' and ': ', key order kept, non-ASCII as is
    EXPECT_EQ(render(R"J({{ tools|tojson }})J", R"J({"tools": [{"type": "function", "function": {"name": "get_weather", "description": "Météo à Paris — “quoted”", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 3}}, "required": ["city"]}}}], "x": {"z": 1, "a": [1.0, 2.5, 1e+20, null, true, "q\"\\\n\t\u0001"]}})J"),
              R"J([{"type": "function", "function": {"name": "get_weather", "description": "Météo à Paris — “quoted”", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 3}}, "required": ["city"]}}}])J");
    // with indent the item separator is ','
    EXPECT_EQ(render(R"J({{ tools[0]|tojson(indent=2) }})J", R"J({"tools": [{"type": "function", "function": {"name": "get_weather", "description": "Météo à Paris — “quoted”", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 3}}, "required": ["city"]}}}], "x": {"z": 1, "a": [1.0, 2.5, 1e+20, null, true, "q\"\\\n\t\u0001"]}})J"),
              R"J({
  "type": "function",
  "function": {
    "name": "get_weather",
    "description": "Météo à Paris — “quoted”",
    "parameters": {
      "type": "object",
      "properties": {
        "city": {
          "type": "string"
        },
        "days": {
          "type": "integer",
          "default": 3
        }
      },
      "required": [
        "city"
      ]
    }
  }
})J");
    EXPECT_EQ(render(R"J({{ x|tojson }}|{{ x|tojson(sort_keys=true) }}|{{ x|tojson(separators=(',', ':')) }})J", R"J({"tools": [{"type": "function", "function": {"name": "get_weather", "description": "Météo à Paris — “quoted”", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 3}}, "required": ["city"]}}}], "x": {"z": 1, "a": [1.0, 2.5, 1e+20, null, true, "q\"\\\n\t\u0001"]}})J"),
              R"J({"z": 1, "a": [1.0, 2.5, 1e+20, null, true, "q\"\\\n\t\u0001"]}|{"a": [1.0, 2.5, 1e+20, null, true, "q\"\\\n\t\u0001"], "z": 1}|{"z":1,"a":[1.0,2.5,1e+20,null,true,"q\"\\\n\t\u0001"]})J");
    EXPECT_EQ(render(R"J({{ x|tojson(indent=4) }}|{{ {}|tojson(indent=2) }}|{{ []|tojson(indent=2) }}|{{ 'é'|tojson(ensure_ascii=true) }}|{{ '😀'|tojson(ensure_ascii=true) }})J", R"J({"tools": [{"type": "function", "function": {"name": "get_weather", "description": "Météo à Paris — “quoted”", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 3}}, "required": ["city"]}}}], "x": {"z": 1, "a": [1.0, 2.5, 1e+20, null, true, "q\"\\\n\t\u0001"]}})J"),
              R"J({
    "z": 1,
    "a": [
        1.0,
        2.5,
        1e+20,
        null,
        true,
        "q\"\\\n\t\u0001"
    ]
}|{}|[]|"\u00e9"|"\ud83d\ude00")J");
    // no HTML escaping, unlike Jinja2's own tojson
    EXPECT_EQ(render(R"J({{ (1, 2)|tojson }}|{{ 'a<b>&'|tojson }}|{{ 3|tojson }}|{{ none|tojson }}|{{ 1.0|tojson }}|{{ {1: 2, true: 3, none: 4}|tojson }})J"),
              R"J([1, 2]|"a<b>&"|3|null|1.0|{"1": 3, "null": 4})J");
}

TEST(JinjaSemantics, Arithmetic) {
    EXPECT_EQ(render(R"J({{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 0.5 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }})J"),
              R"J(-4 2 -2 3.0 0.5 1024 0.5 1.4142135623730951 64 4)J");
    EXPECT_EQ(render(R"J({{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ true + 1 }} {{ 'ab' * 3 }} {{ 2 * [0] }} {{ [1] + [2] }} {{ 'a' ~ 1 ~ none ~ 2.0 }})J"),
              R"J(7 9 3.5 2.0 2 ababab [0, 0] [1, 2] a1None2.0)J");
    // and/or return an operand, like Python
    EXPECT_EQ(render(R"J({{ 1 and 'x' }}|{{ 0 and 'x' }}|{{ '' or 'y' }}|{{ none or 0 }}|{{ not 0 }}|{{ 'a' if false }}|{{ 'a' if 0 else 'b' }})J"),
              R"J(x|0|y|0|True||b)J");
    EXPECT_EQ(render(R"J({{ 1 == 1.0 }} {{ true == 1 }} {{ (1, 2) == [1, 2] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 'ell' in 'hello' }} {{ 2 not in [1, 2] }})J"),
              R"J(True True False True False True True True False)J");
}

TEST(JinjaSemantics, StringMethods) {
    EXPECT_EQ(render(R"J({{ '  a b  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\n\nhi\n'.lstrip('\n') }}|{{ '  hi  '.rstrip() }}|{{ '　hi '.strip() }})J"),
              R"J(a b|hi|hi
|  hi|hi)J");
    EXPECT_EQ(render(R"J({{ 'a,b,,c'.split(',') }}{{ '  a  b '.split() }}{{ 'a b c'.split(' ', 1) }}{{ 'a b c'.rsplit(' ', 1) }}{{ 'x</think>y</think>z'.split('</think>')[-1] }})J"),
              R"J(['a', 'b', '', 'c']['a', 'b']['a', 'b c']['a b', 'c']z)J");
    EXPECT_EQ(render(R"J({{ 'abc'.startswith('a') }}{{ 'abc'.startswith(('x', 'ab')) }}{{ 'abc'.endswith('bc') }}{{ 'aaa'.replace('a', 'b', 2) }}{{ 'abc'.replace('', '-') }})J"),
              R"J(TrueTrueTruebba-a-b-c-)J");
    EXPECT_EQ(render(R"J({{ 'hello world'.title() }}|{{ 'hello'.capitalize() }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'abcabc'.find('c') }}{{ 'abcabc'.rfind('c') }}{{ 'abcabc'.count('b') }}|{{ 'héé'.find('é') }})J"),
              R"J(Hello World|Hello|HIhi|252|1)J");
    EXPECT_EQ(render(R"J({{ '{} and {}'.format(1, 'b') }}|{{ '{0}{1}{0}'.format('x', 'y') }}|{{ '{name!r}'.format(name='q') }}|{{ '%s=%d' % ('a', 3) }}|{{ '%.2f%%' % 12.345 }})J"),
              R"J(1 and b|xyx|'q'|a=3|12.35%)J");
}

TEST(JinjaSemantics, Filters) {
    EXPECT_EQ(render(R"J({{ undefined_var|default('d') }}|{{ none|default('d') }}|{{ ''|default('d') }}|{{ ''|default('d', true) }}|{{ 0|d('z', true) }})J"),
              R"J(d|None||d|z)J");
    EXPECT_EQ(render(R"J({{ messages|length }} {{ 'héllo'|length }} {{ {'a': 1}|count }} {{ messages|map(attribute='role')|join(', ') }})J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J(4 5 1 system, user, assistant, user)J");
    EXPECT_EQ(render(R"J({{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }}{{ messages|rejectattr('role', 'in', ['user', 'system'])|list|length }})J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J(['Hi', 'Bye']1)J");
    EXPECT_EQ(render(R"J({{ [3, 1, 2]|sort }}{{ ['b', 'A', 'c']|sort }}{{ [3, 1, 2]|sort(reverse=true) }}{{ messages|sort(attribute='content')|map(attribute='content')|first }})J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J([1, 2, 3]['A', 'b', 'c'][3, 2, 1]Be brief.)J");
    EXPECT_EQ(render(R"J({{ {'b': 1, 'A': 2, 'c': 0}|dictsort }}{{ {'b': 1, 'a': 2}|dictsort(by='value') }}{{ {'a': 1}|items|list }})J"),
              R"J([('A', 2), ('b', 1), ('c', 0)][('b', 1), ('a', 2)][('a', 1)])J");
    EXPECT_EQ(render(R"J({{ [1, 'a', 1, 'A']|unique|list }}{{ [1, 2, 3]|reverse|list }}{{ 'abc'|reverse }}{{ [1, 2, 3, 4, 5]|batch(2)|list }}{{ [1, 2, 3]|first }}{{ [1, 2, 3]|last }}{{ [3, 1]|min }}{{ [3, 1]|max }}{{ [1, 2]|sum }})J"),
              R"J([1, 'a'][3, 2, 1]cba[[1, 2], [3, 4], [5]]13133)J");
    EXPECT_EQ(render(R"J([{{ '  x  '|trim }}]{{ 'xxyxx'|trim('x') }}|{{ 'a\nb\n\nc'|indent(2) }}|{{ 'a\nb'|indent(2, first=true) }}|{{ 'hello world'|title }}|{{ 'HeLLo'|lower }}|{{ 'hi'|upper }}|{{ 'hi'|capitalize }})J"),
              R"J([x]y|a
  b

  c|  a
  b|Hello World|hello|HI|Hi)J");
    EXPECT_EQ(render(R"J({{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(-1) }} {{ 3.9|int }} {{ '0x1f'|int(base=16) }} {{ '2.5'|float }} {{ 2|float }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(method='ceil') }})J"),
              R"J(42 4 0 -1 3 31 2.5 2.0 2.0 4.0 2.67 3.0)J");
    EXPECT_EQ(render(R"J({{ 12|string ~ 'a' }}|{{ [1]|string }}|{{ none|string }}|{{ 'a%sb'|format(1) }}|{{ 'x'|replace('x', 'yy') }}|{{ ['a', 'b']|join }}|{{ 'hello world foo'|truncate(9, leeway=0) }}|{{ 'one two'|wordcount }})J"),
              R"J(12a|[1]|None|a1b|yy|ab|hello...|2)J");
    EXPECT_EQ(render(R"J({{ ['upper', 'x']|map('upper')|list }}|{{ [{'a': {'b': 1}}]|map(attribute='a.b')|list }}|{{ [{'x': 1}]|map(attribute='y', default='-')|list }}|{{ [0, 1, '', 'a']|select|list }}|{{ [1, 2, 3]|reject('odd')|list }})J"),
              R"J(['UPPER', 'X']|[1]|['-']|[1, 'a']|[2])J");
    EXPECT_EQ(render(R"J({% filter upper %}shout {{ 'this' }}{% endfilter %}|{% set block | trim %}   padded   {% endset %}[{{ block }}])J"),
              R"J(SHOUT THIS|[padded])J");
    // filters that do not coerce to str pass other values through
    EXPECT_EQ(render(R"J({{ (missing|truncate(5))|default('D') }}|{{ [1, 2]|truncate(5) }}|{{ '3' % [1] }})J"),
              R"J(D|[1, 2]|3)J");
}

TEST(JinjaSemantics, Tests) {
    EXPECT_EQ(render(R"J({{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is sequence }}{{ 'a' is sequence }}{{ {} is sequence }}{{ 1 is sequence }}{{ 1 is iterable }}{{ 'a' is iterable }})J"),
              R"J(FalseTrueTrueTrueTrueTrueTrueTrueFalseFalseTrue)J");
    EXPECT_EQ(render(R"J({{ 1 is number }}{{ true is number }}{{ true is integer }}{{ 1 is integer }}{{ 1.0 is float }}{{ true is boolean }}{{ 1 is true }}{{ true is true }}{{ false is false }})J"),
              R"J(TrueTrueFalseTrueTrueTrueFalseTrueTrue)J");
    EXPECT_EQ(render(R"J({{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 'ab' is lower }}{{ 'AB' is upper }}{{ 2 is in [1, 2] }}{{ 1 is eq 1 }}{{ 2 is gt 1 }}{{ 'upper' is filter }}{{ 'odd' is test }}{{ range is callable }})J"),
              R"J(TrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrue)J");
    EXPECT_EQ(render(R"J({{ messages[0].content is string }}{{ messages[0].tool_calls is defined }}{{ messages[0].tool_calls is not defined }}{{ messages is not none }})J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J(TrueFalseTrueTrue)J");
}

TEST(JinjaSemantics, UndefinedValues) {
    // undefined prints empty, is falsy, iterates as nothing
    EXPECT_EQ(render(R"J([{{ missing }}][{{ missing|length }}][{% for x in missing %}x{% endfor %}][{{ missing is defined }}][{% if not missing %}falsy{% endif %}][{{ missing ~ 'x' }}][{{ 'a' in missing }}])J"),
              R"J([][0][][False][falsy][x][False])J");
    // a missing key is undefined; dict.get gives None
    EXPECT_EQ(render(R"J([{{ messages[0].missing }}][{{ messages[0]['missing'] }}][{{ messages[0].get('missing') }}][{{ none.anything }}][{{ messages[9] }}])J", R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]})J"),
              R"J([][][None][][])J");
    // attribute lookup finds dict methods before keys; subscript finds keys first
    EXPECT_EQ(render(R"J({{ ({'items': 1}).items is callable }}{{ ({'items': 1})['items'] }})J"),
              R"J(True1)J");
    // filters like select return generators, which are always true
    EXPECT_EQ(render(R"J({% set g = [] | select %}{{ 'truthy' if g else 'falsy' }})J"),
              R"J(truthy)J");
}

TEST(JinjaSemantics, Markup) {
    // Markup + str escapes the str (functionary v3.1 relies on it); ~ does not
    EXPECT_EQ(render(R"J({{ ('<b>'|safe) + '<i>&"' }}|{{ '<i>' + ('<b>'|safe) }}|{{ ('<b>'|safe) ~ '<i>' }}|{{ '<x>'|e }}|{{ ('<b>'|safe) is escaped }})J"),
              R"J(<b>&lt;i&gt;&amp;&#34;|&lt;i&gt;<b>|<b><i>|&lt;x&gt;|True)J");
    // iterating Markup yields plain str, indexing and str methods keep Markup
    EXPECT_EQ(render(R"J({{ ('<b>'|safe)|list }}|{{ ('<b>'|safe)[0] + '&' }}|{{ ('a'|safe)|upper + '<' }})J"),
              R"J(['<', 'b', '>']|<&amp;|A&lt;)J");
}

TEST(JinjaSemantics, StrftimeNow) {
    EXPECT_EQ(render(R"J({{ strftime_now('%Y-%m-%d') }}|{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%A %B %-d, %H:%M:%S %p %j %y') }}|{{ strftime_now('%c') }}|{{ strftime_now('%x %X %%') }})J"),
              R"J(2025-01-15|15 Jan 2025|Wednesday January 15, 12:00:00 PM 015 25|Wed Jan 15 12:00:00 2025|01/15/25 12:00:00 %)J");
}

}  // namespace
