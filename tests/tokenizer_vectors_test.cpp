// llama.cpp's tokenizer test vectors (tests/data/tokenizer_vectors/README.md) run through the Qwen3
// tokenizer.json. ggml-vocab-qwen2 and ggml-vocab-deepseek-r1-qwen were produced with the Qwen2
// vocabulary, which Qwen3 shares. The gpt-2 and llama-bpe vectors are not run: no tokenizer.json of
// those models is available here, and checking them against another vocabulary would prove nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << path;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> read_inputs(const std::string& path) {
    const std::string all = read_file(path);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> out;
    size_t pos = 0, next;
    while ((next = all.find(sep, pos)) != std::string::npos) {
        out.push_back(all.substr(pos, next - pos));
        pos = next + sep.size();
    }
    EXPECT_EQ(pos, all.size()) << "text after the last separator in " << path;
    return out;
}

std::vector<std::vector<int32_t>> read_outputs(const std::string& path) {
    std::istringstream in(read_file(path));
    std::vector<std::vector<int32_t>> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ids(line);
        std::vector<int32_t> row;
        int32_t id;
        while (ids >> id) row.push_back(id);
        out.push_back(row);
    }
    return out;
}

const ascent::Tokenizer& qwen3() {
    static const ascent::Tokenizer tok = ascent::Tokenizer::from_folder(ASCENT_TEST_UNPACKED "/tokenizers/qwen3");
    return tok;
}

void check_vectors(const std::string& name) {
    const std::string base = std::string(ASCENT_TEST_DATA) + "/tokenizer_vectors/ggml-vocab-" + name + ".gguf";
    const auto inputs = read_inputs(base + ".inp");
    const auto outputs = read_outputs(base + ".out");
    ASSERT_EQ(inputs.size(), 46u);
    ASSERT_EQ(outputs.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
        const auto ids = qwen3().encode(inputs[i], {.add_special_tokens = false});
        EXPECT_EQ(ids, outputs[i]) << name << " case " << i << ": \"" << inputs[i] << "\"";
    }
}

TEST(TokenizerVectors, Qwen2) { check_vectors("qwen2"); }

TEST(TokenizerVectors, DeepSeekR1Qwen) { check_vectors("deepseek-r1-qwen"); }

}  // namespace
