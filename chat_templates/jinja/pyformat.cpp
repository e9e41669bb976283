#include "chat_templates/jinja/pyformat.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat_templates/jinja/unicode.h"

namespace ascent::templates::jinja {

namespace {

// Containers can only become cyclic through namespace objects; Python would report
// a RecursionError there, and so do we instead of overflowing the stack.
constexpr int max_nesting = 200;

void check_nesting(int depth) {
    if (depth > max_nesting) fail("maximum recursion depth exceeded while converting a value to text");
}

void append_hex(std::string& out, std::uint32_t v, int digits) {
    static constexpr char hex[] = "0123456789abcdef";
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += hex[(v >> shift) & 0xF];
}

void append_repr_at(std::string& out, const Value& v, int depth);

void append_items_repr(std::string& out, const std::vector<Value>& items, int depth) {
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        append_repr_at(out, items[i], depth + 1);
    }
}

void append_dict_repr(std::string& out, const DictObject& d, int depth) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : d.entries) {
        if (!first) out += ", ";
        first = false;
        append_repr_at(out, k, depth + 1);
        out += ": ";
        append_repr_at(out, v, depth + 1);
    }
    out += '}';
}

void append_repr_at(std::string& out, const Value& v, int depth) {
    check_nesting(depth);
    switch (v.kind()) {
    case Kind::Undefined: out += "Undefined"; return;
    case Kind::String:
        if (v.is_safe()) {
            out += "Markup(";
            append_string_repr(out, v.str());
            out += ')';
        } else {
            append_string_repr(out, v.str());
        }
        return;
    case Kind::Sequence: {
        const auto& s = v.seq();
        switch (s.kind) {
        case SeqKind::List:
            out += '[';
            append_items_repr(out, s.items, depth);
            out += ']';
            return;
        case SeqKind::Tuple:
            out += '(';
            append_items_repr(out, s.items, depth);
            if (s.items.size() == 1) out += ',';
            out += ')';
            return;
        case SeqKind::DictItems:
        case SeqKind::DictKeys:
        case SeqKind::DictValues:
            out += type_name(v);
            out += "([";
            append_items_repr(out, s.items, depth);
            out += "])";
            return;
        case SeqKind::Generator: out += "<generator object>"; return;
        case SeqKind::Reversed: out += "<list_reverseiterator object>"; return;
        }
        return;
    }
    case Kind::Dict: append_dict_repr(out, v.dict(), depth); return;
    case Kind::Callable: out += v.callable().repr(); return;
    case Kind::Namespace:
        out += "<Namespace ";
        append_dict_repr(out, v.ns().attributes, depth);
        out += '>';
        return;
    case Kind::Loop:
        out += "<LoopContext " + std::to_string(v.loop().index0 + 1) + "/" + std::to_string(v.loop().length()) + ">";
        return;
    default: append_str(out, v); return;
    }
}

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            if (!ensure_ascii) {
                out += s[i++];
                continue;
            }
            std::uint32_t cp = decode_utf8(s, i);
            if (cp >= 0x10000) {  // JSON writes astral characters as surrogate pairs
                cp -= 0x10000;
                out += "\\u";
                append_hex(out, 0xD800 + (cp >> 10), 4);
                out += "\\u";
                append_hex(out, 0xDC00 + (cp & 0x3FF), 4);
            } else {
                out += "\\u";
                append_hex(out, cp, 4);
            }
            continue;
        }
        ++i;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20 || (ensure_ascii && c == 0x7F)) {
                out += "\\u";
                append_hex(out, c, 4);
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

std::string json_key(const Value& k) {
    switch (k.kind()) {
    case Kind::String: return k.str();
    case Kind::Bool: return k.as_bool() ? "true" : "false";
    case Kind::Int: return std::to_string(k.as_int());
    case Kind::Float: return float_repr(k.as_float());
    case Kind::None: return "null";
    default: fail("keys must be str, int, float, bool or None, not " + type_name(k));
    }
}

struct JsonWriter {
    const JsonOptions& options;
    std::string out;

    void newline(int level) {
        out += '\n';
        for (int i = 0; i < level; ++i) out += *options.indent;
    }

    void write(const Value& v, int level) {
        check_nesting(level);
        switch (v.kind()) {
        case Kind::None: out += "null"; return;
        case Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
        case Kind::Int: out += std::to_string(v.as_int()); return;
        case Kind::Float: {
            double f = v.as_float();
            if (std::isnan(f)) out += "NaN";
            else if (std::isinf(f)) out += f > 0 ? "Infinity" : "-Infinity";
            else out += float_repr(f);
            return;
        }
        case Kind::String: append_json_string(out, v.str(), options.ensure_ascii); return;
        case Kind::Sequence:
            if (v.seq().kind == SeqKind::List || v.seq().kind == SeqKind::Tuple) {
                write_array(v.seq().items, level);
                return;
            }
            break;
        case Kind::Dict: write_object(v.dict(), level); return;
        default: break;
        }
        fail("Object of type " + type_name(v) + " is not JSON serializable");
    }

    void write_array(const std::vector<Value>& items, int level) {
        if (items.empty()) {
            out += "[]";
            return;
        }
        out += '[';
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (i) out += options.item_separator;
            if (options.indent) newline(level + 1);
            write(items[i], level + 1);
        }
        if (options.indent) newline(level);
        out += ']';
    }

    void write_object(const DictObject& d, int level) {
        if (d.entries.empty()) {
            out += "{}";
            return;
        }
        std::vector<const std::pair<Value, Value>*> entries;
        entries.reserve(d.entries.size());
        for (const auto& e : d.entries) entries.push_back(&e);
        if (options.sort_keys)
            std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return less(a->first, b->first); });
        out += '{';
        bool first = true;
        for (const auto* e : entries) {
            if (!first) out += options.item_separator;
            first = false;
            if (options.indent) newline(level + 1);
            append_json_string(out, json_key(e->first), options.ensure_ascii);
            out += options.key_separator;
            write(e->second, level + 1);
        }
        if (options.indent) newline(level);
        out += '}';
    }
};

}  // namespace

std::string float_repr(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0.0) return std::signbit(v) ? "-0.0" : "0.0";
    char buf[64];
    auto result = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<std::size_t>(result.ptr - buf));
    std::string out;
    if (sci.front() == '-') {
        out += '-';
        sci.remove_prefix(1);
    }
    std::size_t e_pos = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e_pos))
        if (c != '.') digits += c;
    int exponent = std::stoi(std::string(sci.substr(e_pos + 1)));
    auto n = static_cast<int>(digits.size());
    if (exponent < -4 || exponent >= 16) {
        out += digits[0];
        if (n > 1) {
            out += '.';
            out.append(digits, 1);
        }
        out += exponent < 0 ? "e-" : "e+";
        int a = std::abs(exponent);
        if (a < 10) out += '0';
        out += std::to_string(a);
    } else if (exponent >= 0) {
        if (n <= exponent + 1) {
            out += digits;
            out.append(static_cast<std::size_t>(exponent + 1 - n), '0');
            out += ".0";
        } else {
            out.append(digits, 0, static_cast<std::size_t>(exponent + 1));
            out += '.';
            out.append(digits, static_cast<std::size_t>(exponent + 1));
        }
    } else {
        out += "0.";
        out.append(static_cast<std::size_t>(-exponent - 1), '0');
        out += digits;
    }
    return out;
}

void append_str(std::string& out, const Value& v) {
    switch (v.kind()) {
    case Kind::Undefined: return;
    case Kind::None: out += "None"; return;
    case Kind::Bool: out += v.as_bool() ? "True" : "False"; return;
    case Kind::Int: out += std::to_string(v.as_int()); return;
    case Kind::Float: out += float_repr(v.as_float()); return;
    case Kind::String: out += v.str(); return;
    default: append_repr_at(out, v, 0); return;
    }
}

std::string to_str(const Value& v) {
    if (v.is_string()) return v.str();
    std::string out;
    append_str(out, v);
    return out;
}

void append_repr(std::string& out, const Value& v) { append_repr_at(out, v, 0); }

void append_string_repr(std::string& out, std::string_view s) {
    bool has_single = s.find('\'') != std::string_view::npos;
    bool has_double = s.find('"') != std::string_view::npos;
    char quote = has_single && !has_double ? '"' : '\'';
    out += quote;
    for (std::size_t i = 0; i < s.size();) {
        std::uint32_t cp = decode_utf8(s, i);
        if (cp == static_cast<std::uint32_t>(quote) || cp == '\\') {
            out += '\\';
            out += static_cast<char>(cp);
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp == '\t') {
            out += "\\t";
        } else if (!is_printable(cp)) {
            if (cp < 0x100) {
                out += "\\x";
                append_hex(out, cp, 2);
            } else if (cp < 0x10000) {
                out += "\\u";
                append_hex(out, cp, 4);
            } else {
                out += "\\U";
                append_hex(out, cp, 8);
            }
        } else {
            append_utf8(out, cp);
        }
    }
    out += quote;
}

std::string to_json(const Value& v, const JsonOptions& options) {
    JsonWriter writer{options, {}};
    writer.write(v, 0);
    return std::move(writer.out);
}

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

}  // namespace ascent::templates::jinja
