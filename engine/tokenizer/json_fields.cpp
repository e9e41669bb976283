#include "engine/tokenizer/json_fields.h"

#include "engine/error.h"
#include "engine/tokenizer/utf8.h"

namespace ascent::tok {

std::string component_type(const json& j, const std::string& where) {
    if (!j.is_object()) input_error("{}: expected an object, got {}", where, j.type_name());
    auto it = j.find("type");
    if (it == j.end() || !it->is_string()) input_error("{}: missing \"type\"", where);
    return it->get<std::string>();
}

const json& required(const json& j, const char* key, const std::string& where) {
    if (!j.is_object()) input_error("{}: expected an object, got {}", where, j.type_name());
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) input_error("{}: missing \"{}\"", where, key);
    return *it;
}

std::string required_string(const json& j, const char* key, const std::string& where) {
    const json& v = required(j, key, where);
    if (!v.is_string()) input_error("{}: \"{}\" must be a string", where, key);
    return v.get<std::string>();
}

bool optional_bool(const json& j, const char* key, bool fallback, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) input_error("{}: \"{}\" must be true or false", where, key);
    return it->get<bool>();
}

int64_t optional_int(const json& j, const char* key, int64_t fallback, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) input_error("{}: \"{}\" must be an integer", where, key);
    return it->get<int64_t>();
}

std::optional<std::string> optional_string(const json& j, const char* key, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) input_error("{}: \"{}\" must be a string", where, key);
    return it->get<std::string>();
}

std::string single_char(const json& j, const char* key, const std::string& where) {
    std::string s = required_string(j, key, where);
    if (s.empty() || find_invalid_utf8(s) != std::string::npos || utf8_step(s, 0).len != s.size())
        input_error("{}: \"{}\" must be a single character, got \"{}\"", where, key, s);
    return s;
}

}  // namespace ascent::tok
