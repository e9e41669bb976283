#include "ui/conversation.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/error.h"

namespace ascent::ui {

namespace {

constexpr const char* kFormat = "ascent-conversation";

// 0.8f as 0.8 in the file, not 0.800000011920929: the shortest text that reads back the same float.
double tidy(float v) {
    const auto text = fmt::format("{}", v);
    double d = v;
    std::from_chars(text.data(), text.data() + text.size(), d);
    return d;
}

template <typename T>
void read_number(const nlohmann::json& s, const char* key, T& out, const std::string& origin) {
    if (!s.contains(key) || s[key].is_null()) return;
    if (!s[key].is_number()) input_error("{}: settings.{} must be a number, got {}", origin, key, s[key].dump());
    out = s[key].get<T>();
}

}  // namespace

nlohmann::ordered_json conversation_messages(const Conversation& c) {
    auto messages = nlohmann::ordered_json::array();
    if (!c.system.empty()) messages.push_back({{"role", "system"}, {"content", c.system}});
    for (const auto& m : c.messages) {
        nlohmann::ordered_json j{{"role", m.role}, {"content", m.content}};
        if (!m.reasoning.empty()) j["reasoning_content"] = m.reasoning;
        messages.push_back(std::move(j));
    }
    return messages;
}

nlohmann::ordered_json conversation_to_json(const Conversation& c, const std::string& model_name) {
    nlohmann::ordered_json settings{{"temperature", tidy(c.settings.temperature)}, {"top_p", tidy(c.settings.top_p)},
                                    {"top_k", c.settings.top_k}, {"min_p", tidy(c.settings.min_p)},
                                    {"repeat_penalty", tidy(c.settings.repeat_penalty)},
                                    {"max_tokens", c.settings.max_tokens}};
    settings["seed"] = c.settings.seed ? nlohmann::ordered_json(*c.settings.seed) : nlohmann::ordered_json();
    return {{"format", kFormat}, {"version", 1}, {"model", model_name}, {"settings", settings},
            {"messages", conversation_messages(c)}};
}

Conversation conversation_from_json(const nlohmann::json& j, const std::string& origin) {
    if (!j.is_object()) input_error("{}: expected a JSON object with \"messages\", got {}", origin, j.type_name());
    if (j.contains("format") && j["format"] != kFormat)
        input_error("{}: \"format\" is {}, expected \"{}\"", origin, j["format"].dump(), kFormat);
    if (!j.contains("messages") || !j["messages"].is_array())
        input_error("{}: \"messages\" must be an array of {{\"role\", \"content\"}} objects", origin);
    Conversation c;
    size_t i = 0;
    for (const auto& m : j["messages"]) {
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
            input_error("{}: messages[{}] needs a string \"role\"", origin, i);
        const auto role = m["role"].get<std::string>();
        if (role != "system" && role != "user" && role != "assistant")
            input_error("{}: messages[{}].role is \"{}\"; expected system, user or assistant", origin, i, role);
        if (!m.contains("content") || !m["content"].is_string())
            input_error("{}: messages[{}] needs a string \"content\"", origin, i);
        const auto content = m["content"].get<std::string>();
        if (role == "system") {
            if (i != 0) input_error("{}: messages[{}] is a system message; only the first may be", origin, i);
            c.system = content;
        } else {
            Message msg{role, content, {}};
            if (m.contains("reasoning_content") && m["reasoning_content"].is_string())
                msg.reasoning = m["reasoning_content"].get<std::string>();
            c.messages.push_back(std::move(msg));
        }
        ++i;
    }
    if (j.contains("settings")) {
        const auto& s = j["settings"];
        if (!s.is_object()) input_error("{}: \"settings\" must be an object", origin);
        read_number(s, "temperature", c.settings.temperature, origin);
        read_number(s, "top_p", c.settings.top_p, origin);
        read_number(s, "top_k", c.settings.top_k, origin);
        read_number(s, "min_p", c.settings.min_p, origin);
        read_number(s, "repeat_penalty", c.settings.repeat_penalty, origin);
        read_number(s, "max_tokens", c.settings.max_tokens, origin);
        if (s.contains("seed") && !s["seed"].is_null()) {
            if (!s["seed"].is_number_unsigned()) input_error("{}: settings.seed must be a non-negative integer", origin);
            c.settings.seed = s["seed"].get<uint64_t>();
        }
    }
    return c;
}

void save_conversation(const std::filesystem::path& file, const Conversation& c, const std::string& model_name) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) input_error("cannot write {}: {}", file.string(), std::strerror(errno));
    out << conversation_to_json(c, model_name).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    out.close();
    if (!out) input_error("cannot write {}: {}", file.string(), std::strerror(errno));
}

Conversation load_conversation(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) input_error("cannot read {}: {}", file.string(), std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::parse_error& e) {
        input_error("{} is not valid JSON: {}", file.string(), e.what());
    }
    return conversation_from_json(j, file.string());
}

}  // namespace ascent::ui
