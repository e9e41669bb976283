#pragma once
// Everything a loaded tokenizer consists of; shared, immutable after loading.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "engine/tokenizer/added_vocabulary.h"
#include "engine/tokenizer/bpe.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/post_processor.h"
#include "engine/tokenizer/pre_tokenizer.h"

namespace ascent::tok {

struct TokenizerData {
    std::string source;  // tokenizer.json path, for messages
    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> pre_tokenizer;
    std::unique_ptr<BpeModel> model;
    std::unique_ptr<Decoder> decoder;
    Wrapping wrapping;
    AddedVocabulary added;
    std::optional<int32_t> bos, eos;
    bool clean_up_spaces = false;       // tokenizer_config.json clean_up_tokenization_spaces
    bool split_special_tokens = false;  // tokenizer_config.json: special tokens are never matched
};

std::shared_ptr<const TokenizerData> load_tokenizer(const std::filesystem::path& tokenizer_json,
                                                    const std::filesystem::path& tokenizer_config);

}  // namespace ascent::tok
