// Bad input is an input_error (exit code 2) whose message names the file and what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

using ascent::Tokenizer;
using nlohmann::json;

std::filesystem::path tmp_dir() {
    const auto dir = std::filesystem::path(ASCENT_TEST_TMP) / "tokenizer_errors";
    std::filesystem::create_directories(dir);
    return dir;
}

std::filesystem::path write_text(const std::string& name, const std::string& text) {
    const auto path = tmp_dir() / name;
    std::ofstream(path) << text;
    return path;
}

// A valid minimal file, with `patch` applied on top.
std::filesystem::path write_tokenizer(const std::string& name, const json& patch) {
    json t = {{"version", "1.0"},
              {"added_tokens", json::array()},
              {"normalizer", nullptr},
              {"pre_tokenizer", nullptr},
              {"post_processor", nullptr},
              {"decoder", nullptr},
              {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", {"a b"}}}}};
    t.merge_patch(patch);
    return write_text(name, t.dump());
}

// Runs `f`, expects an input error, returns its message.
std::string input_error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ascent::Error& e) {
        EXPECT_EQ(e.kind(), ascent::ErrorKind::Input) << e.what();
        EXPECT_EQ(e.exit_code(), 2);
        return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
}

void expect_load_error(const std::filesystem::path& file, const std::string& needle) {
    const std::string msg = input_error_of([&] { Tokenizer::from_files(file, ""); });
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
}

TEST(TokenizerErrors, TheMinimalFileLoads) {
    const Tokenizer tok = Tokenizer::from_files(write_tokenizer("ok.json", json::object()), "");
    EXPECT_EQ(tok.encode("ab"), (std::vector<int32_t>{2}));
}

TEST(TokenizerErrors, MissingFiles) {
    const auto nowhere = tmp_dir() / "no_such_dir";
    std::string msg = input_error_of([&] { Tokenizer::from_folder(nowhere); });
    EXPECT_NE(msg.find(nowhere.string()), std::string::npos) << msg;

    const auto empty = tmp_dir() / "empty_model";
    std::filesystem::create_directories(empty);
    msg = input_error_of([&] { Tokenizer::from_folder(empty); });
    EXPECT_NE(msg.find((empty / "tokenizer.json").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
}

TEST(TokenizerErrors, MalformedJson) {
    expect_load_error(write_text("truncated.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,"),
                      "malformed JSON");
    expect_load_error(write_text("garbage.json", "not json at all"), "malformed JSON");
}

TEST(TokenizerErrors, UnsupportedComponentTypes) {
    expect_load_error(write_tokenizer("model.json", {{"model", {{"type", "WordPiece"}}}}),
                      "unsupported model type \"WordPiece\"");
    expect_load_error(write_tokenizer("unigram.json", {{"model", {{"type", "Unigram"}}}}),
                      "unsupported model type \"Unigram\"");
    expect_load_error(write_tokenizer("norm.json", {{"normalizer", {{"type", "BertNormalizer"}}}}),
                      "unsupported normalizer type \"BertNormalizer\"");
    expect_load_error(
        write_tokenizer("norm_seq.json", {{"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Lowercase"}}}}}}}),
        "unsupported normalizer type \"Lowercase\"");
    expect_load_error(write_tokenizer("pre.json", {{"pre_tokenizer", {{"type", "Whitespace"}}}}),
                      "unsupported pre_tokenizer type \"Whitespace\"");
    expect_load_error(write_tokenizer("dec.json", {{"decoder", {{"type", "WordPiece"}}}}),
                      "unsupported decoder type \"WordPiece\"");
    expect_load_error(write_tokenizer("post.json", {{"post_processor", {{"type", "RobertaProcessing"}}}}),
                      "unsupported post_processor type \"RobertaProcessing\"");
    expect_load_error(write_tokenizer("prefix.json", {{"model", {{"continuing_subword_prefix", "##"}}}}),
                      "continuing_subword_prefix");
}

TEST(TokenizerErrors, BrokenContent) {
    expect_load_error(write_tokenizer("merge.json", {{"model", {{"merges", {"a c"}}}}}), "\"c\" which is not in the vocabulary");
    expect_load_error(write_tokenizer("merge2.json", {{"model", {{"merges", {"b a"}}}}}), "produces \"ba\"");
    expect_load_error(write_tokenizer("regex.json", {{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "(a"}}}, {"behavior", "Isolated"}}}}),
                      "does not compile");
    expect_load_error(write_tokenizer("behavior.json", {{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"String", "a"}}}, {"behavior", "Sideways"}}}}),
                      "Sideways");
    expect_load_error(write_tokenizer("unk.json", {{"model", {{"unk_token", "<unk>"}}}}), "unk_token");
    expect_load_error(write_tokenizer("vocab.json", {{"model", {{"vocab", {{"a", "zero"}}}}}}), "no integer id");
    expect_load_error(write_tokenizer("added.json", {{"added_tokens", {{{"id", 1}, {"content", "zz"}}}}}), "\"zz\"");
}

TEST(TokenizerErrors, BrokenConfig) {
    const auto tok = write_tokenizer("for_config.json", json::object());
    const auto bad = write_text("bad_config.json", "{\"bos_token\": ");
    std::string msg = input_error_of([&] { Tokenizer::from_files(tok, bad); });
    EXPECT_NE(msg.find(bad.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("malformed JSON"), std::string::npos) << msg;

    const auto unknown = write_text("unknown_bos.json", R"({"bos_token": "<s>"})");
    msg = input_error_of([&] { Tokenizer::from_files(tok, unknown); });
    EXPECT_NE(msg.find(unknown.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("<s>"), std::string::npos) << msg;
}

TEST(TokenizerErrors, InvalidUtf8Input) {
    const Tokenizer tok = Tokenizer::from_files(write_tokenizer("utf8.json", json::object()), "");
    EXPECT_EQ(input_error_of([&] { tok.encode("ab\xFF" "cd"); }), "input is not valid UTF-8 (byte offset 2)");
    EXPECT_EQ(input_error_of([&] { tok.encode("a\xC3"); }), "input is not valid UTF-8 (byte offset 1)");
    EXPECT_EQ(input_error_of([&] { tok.encode("\xED\xA0\x80"); }), "input is not valid UTF-8 (byte offset 0)");
}

}  // namespace
