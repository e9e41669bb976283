#include "chat_templates/chat_template.h"

#include <cctype>
#include <fstream>
#include <sstream>

namespace ascent::templates {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void source_error(const std::string& message) {
    throw TemplateError(TemplateError::Kind::Source, message);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) source_error(path.string() + ": cannot open file");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) source_error(path.string() + ": cannot read file");
    return text.str();
}

nlohmann::ordered_json read_json(const fs::path& path) {
    std::string text = read_file(path);
    try {
        return nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        source_error(path.string() + ": invalid JSON: " + e.what());
    }
}

// A "chat_template" value: a string, or transformers' list of named templates.
std::optional<FoundTemplate> template_from_value(const nlohmann::ordered_json& value, const fs::path& file,
                                                 bool has_tools) {
    if (value.is_null()) return std::nullopt;
    if (value.is_string()) return FoundTemplate{value.get<std::string>(), file.string() + " (chat_template)"};
    if (!value.is_array())
        source_error(file.string() + ": \"chat_template\" must be a string or a list of named templates");
    std::optional<FoundTemplate> default_template, tool_use;
    std::string names;
    for (const auto& entry : value) {
        if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
            !entry["name"].is_string() || !entry["template"].is_string())
            source_error(file.string() + ": each named chat template needs string \"name\" and \"template\"");
        std::string name = entry["name"].get<std::string>();
        names += (names.empty() ? "" : ", ") + name;
        FoundTemplate found{entry["template"].get<std::string>(), file.string() + " (chat_template \"" + name + "\")"};
        if (name == "default") default_template = found;
        if (name == "tool_use") tool_use = found;
    }
    if (has_tools && tool_use) return tool_use;
    if (default_template) return default_template;
    if (value.empty()) return std::nullopt;
    source_error(file.string() + ": the model has several chat templates (" + names +
                 ") and none is called \"default\"");
}

std::optional<std::string> token_text(const nlohmann::ordered_json& config, const char* key, const fs::path& file) {
    auto it = config.find(key);
    if (it == config.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    // Serialized AddedToken: {"__type": "AddedToken", "content": "<s>", ...}
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    source_error(file.string() + ": \"" + key + "\" must be a string or an object with \"content\"");
}

bool valid_bundled_name(const std::string& name) {
    if (name.empty() || name.find("..") != std::string::npos) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

}  // namespace

std::optional<FoundTemplate> find_model_template(const fs::path& model_folder, bool has_tools) {
    fs::path jinja_file = model_folder / "chat_template.jinja";
    if (fs::is_regular_file(jinja_file)) {
        fs::path tool_use = model_folder / "additional_chat_templates" / "tool_use.jinja";
        if (has_tools && fs::is_regular_file(tool_use)) return FoundTemplate{read_file(tool_use), tool_use.string()};
        return FoundTemplate{read_file(jinja_file), jinja_file.string()};
    }
    fs::path json_file = model_folder / "chat_template.json";
    if (fs::is_regular_file(json_file)) {
        auto json = read_json(json_file);
        if (!json.is_object()) source_error(json_file.string() + ": expected a JSON object");
        if (json.contains("chat_template"))
            if (auto found = template_from_value(json["chat_template"], json_file, has_tools)) return found;
    }
    fs::path config_file = model_folder / "tokenizer_config.json";
    if (fs::is_regular_file(config_file)) {
        auto config = read_json(config_file);
        if (!config.is_object()) source_error(config_file.string() + ": expected a JSON object");
        if (config.contains("chat_template"))
            if (auto found = template_from_value(config["chat_template"], config_file, has_tools)) return found;
    }
    return std::nullopt;
}

std::optional<FoundTemplate> bundled_template(const std::string& name, const fs::path& bundled_dir) {
    if (!valid_bundled_name(name)) return std::nullopt;
    std::string file_name = name;
    if (file_name.size() < 6 || file_name.compare(file_name.size() - 6, 6, ".jinja") != 0) file_name += ".jinja";
    fs::path file = bundled_dir / file_name;
    if (!fs::is_regular_file(file)) return std::nullopt;
    return FoundTemplate{read_file(file), file.string()};
}

FoundTemplate template_from_file(const fs::path& file) {
    if (!fs::exists(file)) source_error(file.string() + ": no such template file");
    if (!fs::is_regular_file(file)) source_error(file.string() + ": not a regular file");
    return FoundTemplate{read_file(file), file.string()};
}

std::string no_template_message(const fs::path& model_folder) {
    return "the model in " + model_folder.string() +
           " has no chat template (no chat_template.jinja, chat_template.json, or \"chat_template\" in "
           "tokenizer_config.json); it is probably a base model. Name a template file or a bundled template "
           "such as \"chatml\" to chat with it anyway.";
}

SpecialTokens read_special_tokens(const fs::path& model_folder) {
    SpecialTokens tokens;
    fs::path config_file = model_folder / "tokenizer_config.json";
    if (!fs::is_regular_file(config_file)) return tokens;
    auto config = read_json(config_file);
    if (!config.is_object()) source_error(config_file.string() + ": expected a JSON object");
    tokens.bos_token = token_text(config, "bos_token", config_file);
    tokens.eos_token = token_text(config, "eos_token", config_file);
    tokens.unk_token = token_text(config, "unk_token", config_file);
    tokens.pad_token = token_text(config, "pad_token", config_file);
    return tokens;
}

std::optional<std::chrono::system_clock::time_point> parse_iso_datetime(std::string_view text) {
    std::size_t i = 0;
    auto number = [&](std::size_t digits, int& out) {
        if (i + digits > text.size()) return false;
        out = 0;
        for (std::size_t k = 0; k < digits; ++k) {
            char c = text[i + k];
            if (c < '0' || c > '9') return false;
            out = out * 10 + (c - '0');
        }
        i += digits;
        return true;
    };
    auto literal = [&](char c) {
        if (i >= text.size() || text[i] != c) return false;
        ++i;
        return true;
    };
    int year, month, day, hour = 0, minute = 0, second = 0, micros = 0;
    if (!number(4, year) || !literal('-') || !number(2, month) || !literal('-') || !number(2, day)) return std::nullopt;
    if (i < text.size() && (text[i] == 'T' || text[i] == ' ')) {
        ++i;
        if (!number(2, hour) || !literal(':') || !number(2, minute)) return std::nullopt;
        if (literal(':')) {
            if (!number(2, second)) return std::nullopt;
            if (literal('.')) {
                std::size_t start = i;
                while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 6)
                    micros = micros * 10 + (text[i++] - '0');
                if (i == start) return std::nullopt;
                for (std::size_t k = i - start; k < 6; ++k) micros *= 10;
            }
        }
    }
    literal('Z');
    if (i != text.size()) return std::nullopt;
    std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                     std::chrono::day{static_cast<unsigned>(day)}};
    if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    return std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
           std::chrono::seconds{second} + std::chrono::microseconds{micros};
}

nlohmann::ordered_json chat_context(const ChatRequest& request, const SpecialTokens& tokens) {
    nlohmann::ordered_json context = nlohmann::ordered_json::object();
    context["messages"] = request.messages;
    context["tools"] = request.tools;
    context["documents"] = request.documents;
    context["add_generation_prompt"] = request.add_generation_prompt;
    if (tokens.bos_token) context["bos_token"] = *tokens.bos_token;
    if (tokens.eos_token) context["eos_token"] = *tokens.eos_token;
    if (tokens.unk_token) context["unk_token"] = *tokens.unk_token;
    if (tokens.pad_token) context["pad_token"] = *tokens.pad_token;
    if (request.extra.is_object())
        for (auto it = request.extra.begin(); it != request.extra.end(); ++it) context[it.key()] = it.value();
    return context;
}

}  // namespace ascent::templates
