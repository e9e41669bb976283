#include <charconv>

#include "engine/error.h"
#include "engine/tokenizer/json_fields.h"
#include "engine/tokenizer/tokenizer_data.h"
#include "engine/tokenizer/tokenizer_json.h"

namespace ascent::tok {
namespace {

AddedToken parse_added_token(const json& j, int64_t id, const std::string& where) {
    AddedToken t;
    if (id < 0 || id > INT32_MAX) input_error("{}: invalid id {}", where, id);
    t.id = static_cast<int32_t>(id);
    t.content = required_string(j, "content", where);
    t.special = optional_bool(j, "special", false, where);
    t.single_word = optional_bool(j, "single_word", false, where);
    t.lstrip = optional_bool(j, "lstrip", false, where);
    t.rstrip = optional_bool(j, "rstrip", false, where);
    t.normalized = optional_bool(j, "normalized", !t.special, where);
    return t;
}

// An added token must agree with the model when the model already has its text.
void check_against_model(const TokenizerData& d, const AddedToken& t, const std::string& where) {
    if (auto vid = d.model->token_to_id(t.content); vid && *vid != t.id)
        input_error("{}: added token \"{}\" has id {} but the vocabulary gives it id {}", where, t.content, t.id, *vid);
    if (auto text = d.model->id_to_token(t.id); text && *text != t.content)
        input_error("{}: added token \"{}\" has id {}, which the vocabulary uses for \"{}\"", where, t.content, t.id, *text);
}

// bos_token / eos_token: a string, {"content": ...}, or null.
std::optional<std::string> config_token(const json& cfg, const char* key, const std::string& where) {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object()) return required_string(*it, "content", where + " " + key);
    input_error("{}: \"{}\" must be a string or an object with \"content\"", where, key);
}

void apply_config(TokenizerData& d, const std::filesystem::path& path) {
    const std::string where = path.string();
    const json cfg = read_json_file(path);
    if (!cfg.is_object()) input_error("{}: expected a JSON object", where);

    if (auto it = cfg.find("added_tokens_decoder"); it != cfg.end() && !it->is_null()) {
        if (!it->is_object()) input_error("{}: \"added_tokens_decoder\" must be an object", where);
        for (auto e = it->begin(); e != it->end(); ++e) {
            const std::string w = where + " added_tokens_decoder." + e.key();
            int64_t id = -1;
            const std::string& key = e.key();
            const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
            if (ec != std::errc() || end != key.data() + key.size()) id = -1;
            AddedToken t = parse_added_token(e.value(), id, w);
            // tokenizer.json is authoritative for tokens it already defines.
            if (const AddedToken* known = d.added.find(t.id)) {
                if (known->content != t.content)
                    input_error("{}: \"{}\" conflicts with tokenizer.json, which gives id {} to \"{}\"", w, t.content,
                                t.id, known->content);
                continue;
            }
            if (auto other = d.added.find(t.content); other && *other != t.id)
                input_error("{}: \"{}\" already has id {} in tokenizer.json", w, t.content, *other);
            check_against_model(d, t, w);
            d.added.add(t);
        }
    }

    auto resolve = [&](const std::optional<std::string>& text, const char* key) -> std::optional<int32_t> {
        if (!text) return std::nullopt;
        if (auto id = d.added.find(*text)) return id;
        if (auto id = d.model->token_to_id(*text)) return id;
        input_error("{}: {} \"{}\" is not a token of this tokenizer", where, key, *text);
    };
    if (cfg.contains("bos_token")) d.bos = resolve(config_token(cfg, "bos_token", where), "bos_token");
    d.eos = resolve(config_token(cfg, "eos_token", where), "eos_token");
    d.clean_up_spaces = optional_bool(cfg, "clean_up_tokenization_spaces", false, where);
    d.split_special_tokens = optional_bool(cfg, "split_special_tokens", false, where);

    // Like transformers' LlamaTokenizerFast: explicit add_bos_token / add_eos_token rebuild what
    // the post-processor wraps around a sequence; a missing key keeps the file's behaviour.
    const bool has_add_bos = cfg.contains("add_bos_token") && !cfg["add_bos_token"].is_null();
    const bool has_add_eos = cfg.contains("add_eos_token") && !cfg["add_eos_token"].is_null();
    if (has_add_bos) {
        d.wrapping.before.clear();
        if (optional_bool(cfg, "add_bos_token", false, where)) {
            if (!d.bos) input_error("{}: add_bos_token is true but there is no bos_token", where);
            d.wrapping.before.push_back(*d.bos);
        }
    }
    if (has_add_eos) {
        d.wrapping.after.clear();
        if (optional_bool(cfg, "add_eos_token", false, where)) {
            if (!d.eos) input_error("{}: add_eos_token is true but there is no eos_token", where);
            d.wrapping.after.push_back(*d.eos);
        }
    }
}

void load_main(TokenizerData& d, const std::filesystem::path& path) {
    const std::string where = path.string();
    TokenizerJson file = read_tokenizer_json(path);
    const json& j = file.doc;
    if (!j.is_object()) input_error("{}: expected a JSON object", where);

    d.model = std::make_unique<BpeModel>(required(j, "model", where), std::move(file.vocab), std::move(file.merges), where);
    d.normalizer = make_normalizer(j.value("normalizer", json()), where + " normalizer");
    d.pre_tokenizer = make_pre_tokenizer(j.value("pre_tokenizer", json()), where + " pre_tokenizer");
    d.decoder = make_decoder(j.value("decoder", json()), where + " decoder");

    if (auto it = j.find("added_tokens"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) input_error("{}: \"added_tokens\" must be a list", where);
        for (size_t i = 0; i < it->size(); ++i) {
            const json& e = (*it)[i];
            const std::string w = where + " added_tokens[" + std::to_string(i) + "]";
            AddedToken t = parse_added_token(e, optional_int(e, "id", -1, w), w);
            check_against_model(d, t, w);
            d.added.add(t);
        }
    }

    auto token_id = [&](std::string_view s) -> std::optional<int32_t> {
        if (auto id = d.added.find(s)) return id;
        return d.model->token_to_id(s);
    };
    d.wrapping = parse_post_processor(j.value("post_processor", json()), where + " post_processor", token_id);
    // Without tokenizer_config.json, the token a template puts first is the best BOS there is.
    if (d.wrapping.before.size() == 1) d.bos = d.wrapping.before[0];
}

}  // namespace

std::shared_ptr<const TokenizerData> load_tokenizer(const std::filesystem::path& tokenizer_json,
                                                    const std::filesystem::path& tokenizer_config) {
    auto d = std::make_shared<TokenizerData>();
    d->source = tokenizer_json.string();
    try {
        load_main(*d, tokenizer_json);
    } catch (const json::exception& e) {
        input_error("{}: {}", tokenizer_json.string(), e.what());
    }
    std::error_code ec;
    if (!tokenizer_config.empty() && std::filesystem::exists(tokenizer_config, ec)) {
        try {
            apply_config(*d, tokenizer_config);
        } catch (const json::exception& e) {
            input_error("{}: {}", tokenizer_config.string(), e.what());
        }
    }
    d->added.finalize(d->normalizer.get());
    return d;
}

}  // namespace ascent::tok
