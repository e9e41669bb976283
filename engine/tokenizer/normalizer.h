#pragma once
// tokenizer.json "normalizer": rewrites each stretch of input text that is not an added token,
// before pre-tokenization. Supported: NFC, NFD, NFKC, NFKD, Prepend, Replace, Strip, Sequence.
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace ascent::tok {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    // `text` is valid UTF-8 and stays so.
    virtual void normalize(std::string& text) const = 0;
};

// nullptr for a JSON null. Unknown types are an input_error naming `where` and the type.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& where);

}  // namespace ascent::tok
