// Finding a model's chat template (chat_template.jinja, chat_template.json,
// tokenizer_config.json with a string or named templates), bundled templates,
// the no-template result, special tokens and the render context.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "chat_templates/chat_template.h"

namespace {

namespace fs = std::filesystem;
using namespace ascent::templates;
using json = nlohmann::ordered_json;

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

// A fresh, empty model folder per test.
class ModelFolder : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::path(ASCENT_TEST_TMP) / "jinja_chat_template" / info->name();
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    fs::path dir_;
};

TEST_F(ModelFolder, ChatTemplateJinjaFile) {
    write_file(dir_ / "chat_template.jinja", "{{ messages[0].content }}\n");
    auto found = find_model_template(dir_, false);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->source, "{{ messages[0].content }}\n");
    EXPECT_EQ(found->origin, (dir_ / "chat_template.jinja").string());
}

TEST_F(ModelFolder, ToolUseTemplateNextToTheJinjaFile) {
    write_file(dir_ / "chat_template.jinja", "plain");
    write_file(dir_ / "additional_chat_templates" / "tool_use.jinja", "tools");
    EXPECT_EQ(find_model_template(dir_, false)->source, "plain");
    EXPECT_EQ(find_model_template(dir_, true)->source, "tools");
}

TEST_F(ModelFolder, ChatTemplateJson) {
    write_file(dir_ / "chat_template.json", R"({"chat_template": "from json"})");
    auto found = find_model_template(dir_, false);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->source, "from json");
    EXPECT_NE(found->origin.find("chat_template.json"), std::string::npos);
}

TEST_F(ModelFolder, TokenizerConfigString) {
    write_file(dir_ / "tokenizer_config.json", R"({"eos_token": "</s>", "chat_template": "{{ eos_token }}"})");
    auto found = find_model_template(dir_, true);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->source, "{{ eos_token }}");
    EXPECT_EQ(found->origin, (dir_ / "tokenizer_config.json").string() + " (chat_template)");
}

TEST_F(ModelFolder, TokenizerConfigNamedTemplates) {
    write_file(dir_ / "tokenizer_config.json", R"({"chat_template": [
        {"name": "default", "template": "DEFAULT"},
        {"name": "tool_use", "template": "TOOL_USE"},
        {"name": "rag", "template": "RAG"}]})");
    auto plain = find_model_template(dir_, false);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->source, "DEFAULT");
    EXPECT_NE(plain->origin.find("\"default\""), std::string::npos);
    auto with_tools = find_model_template(dir_, true);
    ASSERT_TRUE(with_tools);
    EXPECT_EQ(with_tools->source, "TOOL_USE");
    EXPECT_NE(with_tools->origin.find("\"tool_use\""), std::string::npos);
}

TEST_F(ModelFolder, NamedTemplatesWithoutToolUseFallBackToDefault) {
    write_file(dir_ / "tokenizer_config.json", R"({"chat_template": [{"name": "default", "template": "D"}]})");
    EXPECT_EQ(find_model_template(dir_, true)->source, "D");
}

TEST_F(ModelFolder, NamedTemplatesWithoutDefaultAreAnError) {
    write_file(dir_ / "tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "T"}]})");
    EXPECT_EQ(find_model_template(dir_, true)->source, "T");
    try {
        find_model_template(dir_, false);
        FAIL() << "expected an error";
    } catch (const TemplateError& e) {
        EXPECT_EQ(e.kind(), TemplateError::Kind::Source);
        EXPECT_NE(e.message().find("tokenizer_config.json"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("\"default\""), std::string::npos) << e.message();
    }
}

TEST_F(ModelFolder, JinjaFileTakesPrecedence) {
    write_file(dir_ / "chat_template.jinja", "jinja");
    write_file(dir_ / "chat_template.json", R"({"chat_template": "json"})");
    write_file(dir_ / "tokenizer_config.json", R"({"chat_template": "config"})");
    EXPECT_EQ(find_model_template(dir_, false)->source, "jinja");
    fs::remove(dir_ / "chat_template.jinja");
    EXPECT_EQ(find_model_template(dir_, false)->source, "json");
    fs::remove(dir_ / "chat_template.json");
    EXPECT_EQ(find_model_template(dir_, false)->source, "config");
}

TEST_F(ModelFolder, BaseModelHasNoTemplate) {
    EXPECT_FALSE(find_model_template(dir_, false));
    write_file(dir_ / "tokenizer_config.json", R"({"eos_token": "</s>"})");
    EXPECT_FALSE(find_model_template(dir_, false));
    write_file(dir_ / "tokenizer_config.json", R"({"eos_token": "</s>", "chat_template": null})");
    EXPECT_FALSE(find_model_template(dir_, true));
    std::string message = no_template_message(dir_);
    EXPECT_NE(message.find(dir_.string()), std::string::npos);
    EXPECT_NE(message.find("no chat template"), std::string::npos);
    EXPECT_NE(message.find("chatml"), std::string::npos);
}

TEST_F(ModelFolder, MalformedConfigNamesTheFile) {
    write_file(dir_ / "tokenizer_config.json", "{\"chat_template\": ");
    try {
        find_model_template(dir_, false);
        FAIL() << "expected an error";
    } catch (const TemplateError& e) {
        EXPECT_EQ(e.kind(), TemplateError::Kind::Source);
        EXPECT_NE(e.message().find((dir_ / "tokenizer_config.json").string()), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("invalid JSON"), std::string::npos) << e.message();
    }
    write_file(dir_ / "tokenizer_config.json", R"({"chat_template": 42})");
    EXPECT_THROW(find_model_template(dir_, false), TemplateError);
}

TEST_F(ModelFolder, SpecialTokensFromTokenizerConfig) {
    write_file(dir_ / "tokenizer_config.json", R"({
        "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
        "eos_token": "</s>", "unk_token": null})");
    SpecialTokens tokens = read_special_tokens(dir_);
    EXPECT_EQ(tokens.bos_token, "<s>");
    EXPECT_EQ(tokens.eos_token, "</s>");
    EXPECT_FALSE(tokens.unk_token);
    EXPECT_FALSE(tokens.pad_token);
}

TEST(ChatContext, HoldsWhatApplyChatTemplatePasses) {
    ChatRequest request;
    request.messages = json::array({{{"role", "user"}, {"content", "hi"}}});
    request.extra = {{"enable_thinking", false}, {"eos_token", "<override>"}};
    SpecialTokens tokens;
    tokens.eos_token = "</s>";
    json context = chat_context(request, tokens);
    EXPECT_EQ(context["messages"], request.messages);
    EXPECT_TRUE(context["tools"].is_null());
    EXPECT_TRUE(context["documents"].is_null());
    EXPECT_EQ(context["add_generation_prompt"], true);
    EXPECT_FALSE(context.contains("bos_token"));  // absent, not null: `bos_token is defined` is false
    EXPECT_EQ(context["eos_token"], "<override>");
    EXPECT_EQ(context["enable_thinking"], false);
    std::string out = Template::parse("{{ bos_token is defined }}|{{ tools is none }}|{{ eos_token }}", "t").render(context);
    EXPECT_EQ(out, "False|True|<override>");
}

TEST(ParseIsoDatetime, FixesStrftimeNow) {
    auto now = parse_iso_datetime("2025-01-15T12:00:00");
    ASSERT_TRUE(now);
    RenderOptions options;
    options.now = now;
    auto tmpl = Template::parse("{{ strftime_now('%Y-%m-%d %H:%M:%S.%f %d %b %Y') }}", "t");
    EXPECT_EQ(tmpl.render(json::object(), options), "2025-01-15 12:00:00.000000 15 Jan 2025");
    options.now = parse_iso_datetime("1999-12-31 23:59:58.25Z");
    EXPECT_EQ(tmpl.render(json::object(), options), "1999-12-31 23:59:58.250000 31 Dec 1999");
    options.now = parse_iso_datetime("2024-02-29");
    EXPECT_EQ(tmpl.render(json::object(), options), "2024-02-29 00:00:00.000000 29 Feb 2024");
    for (const char* bad : {"", "2025-1-15", "2025-02-30", "2025-01-15T25:00", "2025-01-15T12", "2025-01-15x", "tomorrow"})
        EXPECT_FALSE(parse_iso_datetime(bad)) << bad;
}

TEST(BundledTemplates, ChatmlRendersChatMl) {
    fs::path bundled = fs::path(ASCENT_SOURCE_DIR) / "chat_templates";
    auto chatml = bundled_template("chatml", bundled);
    ASSERT_TRUE(chatml);
    EXPECT_EQ(chatml->origin, (bundled / "chatml.jinja").string());
    json context = json::parse(R"({"messages": [
        {"role": "system", "content": "S"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": null}], "add_generation_prompt": true})");
    EXPECT_EQ(Template::parse(chatml->source, chatml->origin).render(context),
              "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nab<|im_end|>\n"
              "<|im_start|>assistant\n<|im_end|>\n<|im_start|>assistant\n");
}

TEST(BundledTemplates, UnknownOrUnsafeNames) {
    fs::path bundled = fs::path(ASCENT_SOURCE_DIR) / "chat_templates";
    EXPECT_FALSE(bundled_template("no-such-template", bundled));
    EXPECT_FALSE(bundled_template("../tests/CMakeLists", bundled));
    EXPECT_FALSE(bundled_template("", bundled));
    EXPECT_TRUE(bundled_template("chatml.jinja", bundled));
}

TEST(TemplateFile, ReadsOrNamesTheMissingFile) {
    fs::path file = fs::path(ASCENT_TEST_DATA) / "chat_templates" / "openbmb-MiniCPM4-8B.jinja";
    FoundTemplate found = template_from_file(file);
    EXPECT_EQ(found.source, read_file(file));
    EXPECT_EQ(found.origin, file.string());
    try {
        template_from_file(fs::path(ASCENT_TEST_TMP) / "missing.jinja");
        FAIL() << "expected an error";
    } catch (const TemplateError& e) {
        EXPECT_EQ(e.kind(), TemplateError::Kind::Source);
        EXPECT_NE(e.message().find("missing.jinja"), std::string::npos);
    }
}

// End to end with a real tokenizer folder: the Qwen3 tokenizer_config.json carries its
// template, and rendering it must match the reference render for the same chat.
TEST(RealTokenizerFolders, Qwen3TemplateFromTokenizerConfig) {
    fs::path folder = fs::path(ASCENT_TEST_UNPACKED) / "tokenizers" / "qwen3";
    auto found = find_model_template(folder, false);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->source, read_file(fs::path(ASCENT_TEST_DATA) / "chat_templates" / "Qwen-Qwen3-0.6B.jinja"));

    ChatRequest request;
    request.messages = json::array({{{"role", "user"}, {"content", "Hello! What is the capital of France?"}}});
    request.extra = {{"enable_thinking", false}};
    json context = chat_context(request, read_special_tokens(folder));
    EXPECT_FALSE(context.contains("bos_token"));  // null in Qwen's config
    EXPECT_EQ(Template::parse(found->source, found->origin).render(context),
              "<|im_start|>user\nHello! What is the capital of France?<|im_end|>\n"
              "<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(RealTokenizerFolders, GptOssTokenizerFolderHasNoTemplate) {
    fs::path folder = fs::path(ASCENT_TEST_UNPACKED) / "tokenizers" / "gptoss";
    EXPECT_FALSE(find_model_template(folder, false));
    EXPECT_EQ(read_special_tokens(folder).eos_token, "<|return|>");
}

}  // namespace
