#include "engine/tokenizer/tokenizer.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/tokenizer_data.h"
#include "engine/tokenizer/utf8.h"

namespace ascent {
namespace {

// transformers' clean_up_tokenization: drops the space tokenizers of the BERT era put before
// punctuation and English contractions. Applied in this order, as there.
constexpr std::pair<std::string_view, std::string_view> kCleanups[] = {
    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
    {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
};

std::string clean_up_spaces(std::string text) {
    for (const auto& [from, to] : kCleanups) {
        std::string out;
        size_t prev = 0, pos;
        while ((pos = text.find(from, prev)) != std::string::npos) {
            out.append(text, prev, pos - prev);
            out.append(to);
            prev = pos + from.size();
        }
        out.append(text, prev);
        text = std::move(out);
    }
    return text;
}

// Whether the text ends with the start of a cleanup pattern, which the next token may complete.
bool ends_in_partial_cleanup(std::string_view text) {
    for (const auto& [from, to] : kCleanups)
        for (size_t len = 1; len < from.size(); ++len)
            if (text.size() >= len && text.substr(text.size() - len) == from.substr(0, len)) return true;
    return false;
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const tok::TokenizerData> data) : data_(std::move(data)) {}

Tokenizer Tokenizer::from_folder(const std::filesystem::path& folder) {
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec)) input_error("{}: not a directory", folder.string());
    return from_files(folder / "tokenizer.json", folder / "tokenizer_config.json");
}

Tokenizer Tokenizer::from_files(const std::filesystem::path& tokenizer_json,
                                const std::filesystem::path& tokenizer_config) {
    return Tokenizer(tok::load_tokenizer(tokenizer_json, tokenizer_config));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& opt) const {
    const tok::TokenizerData& d = *data_;
    if (const size_t bad = tok::find_invalid_utf8(text); bad != std::string_view::npos)
        input_error("input is not valid UTF-8 (byte offset {})", bad);

    std::vector<int32_t> ids;
    std::vector<tok::Piece> pieces;
    const bool parse_special = opt.parse_special && !d.split_special_tokens;
    for (tok::Segment& seg : d.added.extract(text, d.normalizer.get(), parse_special)) {
        if (seg.id) {
            ids.push_back(*seg.id);
            continue;
        }
        pieces.clear();
        pieces.push_back({std::move(seg.text), seg.at_start});
        if (d.pre_tokenizer) d.pre_tokenizer->pre_tokenize(pieces);
        for (const tok::Piece& p : pieces) d.model->tokenize(p.text, ids);
    }
    d.wrapping.apply(ids, opt.add_special_tokens);
    return ids;
}

Tokenizer::Decoded Tokenizer::decode_detailed(std::span<const int32_t> ids, bool skip_special) const {
    const tok::TokenizerData& d = *data_;
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
        std::optional<std::string_view> text;
        if (const tok::AddedToken* added = d.added.find(id)) text = added->content;
        else text = d.model->id_to_token(id);
        if (!text) continue;  // not a token: skipped, as the Hugging Face decoder does
        if (skip_special && d.added.is_special_content(*text)) continue;
        tokens.emplace_back(*text);
    }
    Decoded out;
    if (d.decoder) {
        tok::DecodeState state;
        d.decoder->decode_chain(tokens, state);
        for (const std::string& t : tokens) out.text += t;
        out.unstable_tail = state.unstable_tail;
    } else {
        // No decoder: the Hugging Face library joins the tokens with spaces.
        for (size_t i = 0; i < tokens.size(); ++i) {
            if (i) out.text += ' ';
            out.text += tokens[i];
        }
    }
    if (d.clean_up_spaces) {
        out.text = clean_up_spaces(std::move(out.text));
        if (ends_in_partial_cleanup(out.text)) out.unstable_tail = true;
    }
    return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
    return decode_detailed(ids, skip_special).text;
}

bool Tokenizer::is_clean_start(std::span<const int32_t> ids, size_t i) const {
    if (i == 0 || i >= ids.size()) return true;
    const tok::TokenizerData& d = *data_;
    if (!d.decoder) return true;
    if (d.decoder->byte_fallback()) {
        unsigned char b;
        if (auto prev = d.model->id_to_token(ids[i - 1]); prev && tok::parse_byte_token(*prev, b))
            return false;
    }
    if (d.decoder->byte_level()) {
        if (auto t = d.model->id_to_token(ids[i])) {
            auto first = tok::byte_level_first_byte(*t);
            if (first && (*first & 0xC0) == 0x80) return false;
        }
    }
    return true;
}

size_t Tokenizer::vocab_size() const {
    return static_cast<size_t>(std::max(data_->model->max_id(), data_->added.max_id()) + 1);
}

std::optional<int32_t> Tokenizer::bos_id() const { return data_->bos; }
std::optional<int32_t> Tokenizer::eos_id() const { return data_->eos; }

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
    if (auto id = data_->added.find(token)) return id;
    return data_->model->token_to_id(token);
}

std::string Tokenizer::token_text(int32_t id) const {
    if (const tok::AddedToken* added = data_->added.find(id)) return added->content;
    if (auto text = data_->model->id_to_token(id)) return std::string(*text);
    input_error("token id {} is not in the vocabulary of {}", id, data_->source);
}

bool Tokenizer::is_special(int32_t id) const {
    const tok::AddedToken* added = data_->added.find(id);
    return added && added->special;
}

std::string Tokenizer::family() const {
    const tok::TokenizerData& d = *data_;
    const bool byte_level = (d.pre_tokenizer && d.pre_tokenizer->byte_level()) || (d.decoder && d.decoder->byte_level());
    return byte_level ? "byte-level BPE" : "SentencePiece BPE";
}

}  // namespace ascent
