#pragma once
// tokenizer.json "pre_tokenizer": cuts normalized text into the pieces the model encodes one by
// one. Supported: Split, ByteLevel, Metaspace, Sequence.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ascent::tok {

struct Piece {
    std::string text;
    // The piece begins at offset 0 of the original input (Metaspace's prepend_scheme "first").
    bool at_start = false;
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Replaces every piece by its sub-pieces; empty pieces are dropped.
    virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
    // Whether this stage maps bytes to GPT-2's byte-level characters.
    virtual bool byte_level() const { return false; }
};

// nullptr for a JSON null. Unknown types are an input_error naming `where` and the type.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const std::string& where);

}  // namespace ascent::tok
