#pragma once
// ascent's tokenizer: loads a Hugging Face tokenizer.json (and tokenizer_config.json when present)
// and encodes/decodes exactly as the Hugging Face `tokenizers` library does, for the byte-level BPE
// family (Qwen2/Qwen3, gpt-oss, GPT-2, Llama 3) and the SentencePiece BPE family (Llama 2,
// MiniCPM, the demo model). Components a file names but this code does not implement are an
// input error at load, never ignored.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ascent {

namespace tok {
struct TokenizerData;
}

struct EncodeOptions {
    bool add_special_tokens = true;  // what the post-processor adds (BOS for Llama), as HF encode()
    bool parse_special = true;       // false = --no-special: special tokens' text is plain text
};

class Tokenizer {
public:
    // tokenizer.json [+ tokenizer_config.json] in `folder`.
    static Tokenizer from_folder(const std::filesystem::path& folder);
    static Tokenizer from_files(const std::filesystem::path& tokenizer_json,
                                const std::filesystem::path& tokenizer_config /* may not exist */);

    // Text must be valid UTF-8 (input_error otherwise).
    std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt = {}) const;
    // Ids that are not tokens are skipped; invalid UTF-8 from byte tokens becomes U+FFFD.
    std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

    size_t vocab_size() const;                       // highest id + 1, added tokens included
    std::optional<int32_t> bos_id() const;
    std::optional<int32_t> eos_id() const;
    std::optional<int32_t> token_id(std::string_view token) const;  // vocab or added token
    std::string token_text(int32_t id) const;        // the raw vocab string of an id
    bool is_special(int32_t id) const;               // added token flagged special
    std::string family() const;                      // "byte-level BPE" or "SentencePiece BPE"

private:
    friend class StreamingDecoder;
    explicit Tokenizer(std::shared_ptr<const tok::TokenizerData> data);

    struct Decoded {
        std::string text;
        bool unstable_tail = false;  // see tok::DecodeState
    };
    Decoded decode_detailed(std::span<const int32_t> ids, bool skip_special) const;
    // Whether a decode may start at ids[i] without cutting a character or a byte-token run apart.
    bool is_clean_start(std::span<const int32_t> ids, size_t i) const;

    std::shared_ptr<const tok::TokenizerData> data_;
};

// Streams text as ids arrive: returns only complete UTF-8 text, holds back a token that ends inside a
// multi-byte character until it completes. Output concatenated == decode(prefix + pushed) minus
// decode(prefix), including SentencePiece's leading-space strip at the start of a sequence.
// Each push decodes only the ids since the last text boundary, so the cost per token is constant.
// Also held back: a run of byte-fallback tokens until a non-byte token ends it (an invalid run
// decodes to one U+FFFD per byte, so its text is only final then). When the prefix itself ends
// inside a character, the text of its unfinished tokens comes out with the token that completes
// it. The Tokenizer must outlive the decoder.
class StreamingDecoder {
public:
    StreamingDecoder(const Tokenizer& tok, std::vector<int32_t> prefix_ids, bool skip_special = false);
    std::string push(int32_t id);   // newly completed text (may be empty)
    std::string finish();           // whatever is held back, invalid bytes as U+FFFD

private:
    std::string emit(std::string text);

    const Tokenizer* tok_;
    bool skip_special_;
    // window_ = anchor ids (already emitted, decoded as anchor_text_) followed by pending ids.
    // The anchor gives the pending ids the context that decodes them as inside the full sequence.
    std::vector<int32_t> window_;
    size_t anchor_len_ = 0;
    std::string anchor_text_;
};

}  // namespace ascent
