#pragma once
// How Python turns values into text: str() for template output, repr() inside
// containers, and json.dumps() for the `tojson` filter as transformers sets it up.
#include <optional>
#include <string>
#include <string_view>

#include "chat_templates/jinja/value.h"

namespace ascent::templates::jinja {

// float.__repr__: shortest round-trip digits, "1.0", "1e-05", "1e+16", "inf", "nan".
std::string float_repr(double v);

// str(v), appended to out. Undefined prints as nothing, None as "None".
void append_str(std::string& out, const Value& v);
std::string to_str(const Value& v);

// repr(v), appended to out: ['a', "it's"], {'k': None}, (1,).
void append_repr(std::string& out, const Value& v);
void append_string_repr(std::string& out, std::string_view s);

struct JsonOptions {
    std::optional<std::string> indent;  // unit of indentation; nullopt keeps everything on one line
    std::string item_separator = ", ";
    std::string key_separator = ": ";
    bool sort_keys = false;
    bool ensure_ascii = false;
};

// json.dumps(v, ...); fails like Python for values JSON cannot hold (Undefined, generators...).
std::string to_json(const Value& v, const JsonOptions& options);

// markupsafe.escape on text: & < > " ' become entities.
std::string html_escape(std::string_view s);

}  // namespace ascent::templates::jinja
