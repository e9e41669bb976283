#pragma once
// tokenizer.json "decoder": turns token strings back into text. Supported: ByteLevel, Metaspace,
// Replace, ByteFallback, Fuse, Strip, Sequence.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ascent::tok {

struct DecodeState {
    // The end of the text may still change when more tokens follow: it ends inside a UTF-8
    // character, inside a run of byte-fallback tokens (which decode as one unit), or in a character
    // a trailing Strip would remove. Streaming holds such text back.
    bool unstable_tail = false;
};

class Decoder {
public:
    virtual ~Decoder() = default;
    // Rewrites the token strings in place (the Hugging Face decode_chain).
    virtual void decode_chain(std::vector<std::string>& tokens, DecodeState& state) const = 0;
    virtual bool byte_level() const { return false; }
    virtual bool byte_fallback() const { return false; }
};

// nullptr for a JSON null. Unknown types are an input_error naming `where` and the type.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const std::string& where);

// "<0xHH>" -> the byte.
bool parse_byte_token(std::string_view token, unsigned char& byte);

}  // namespace ascent::tok
