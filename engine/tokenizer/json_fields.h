#pragma once
// Typed access to tokenizer.json fields. Every failure names the file and the field, so that a
// broken or unexpected file is reported as the user's input, not as a crash.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ascent::tok {

using nlohmann::json;

// The "type" string of a component object.
std::string component_type(const json& j, const std::string& where);

// A field that must be present.
const json& required(const json& j, const char* key, const std::string& where);
std::string required_string(const json& j, const char* key, const std::string& where);

// Optional fields: missing or null gives the default.
bool optional_bool(const json& j, const char* key, bool fallback, const std::string& where);
int64_t optional_int(const json& j, const char* key, int64_t fallback, const std::string& where);
std::optional<std::string> optional_string(const json& j, const char* key, const std::string& where);

// A field holding exactly one character (Metaspace "replacement", Strip "content").
std::string single_char(const json& j, const char* key, const std::string& where);

}  // namespace ascent::tok
