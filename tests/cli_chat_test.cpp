// `ascent template` and `ascent complete --chat` through the real binary, on a seeded tiny model
// whose folder carries the real Qwen3 tokenizer and chat template.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/run_process.h"
#include "tests/support/tiny_model.h"

using namespace ascent::test;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

namespace fs = std::filesystem;

fs::path qwen3_tiny() {
    static const fs::path dir = qwen3_tiny_chat_model("chat_qwen3");
    return dir;
}

std::vector<ordered_json> reference_records(const std::string& template_name) {
    std::ifstream in(std::string(ASCENT_TEST_DATA) + "/chat_templates/reference_renders.jsonl");
    std::vector<ordered_json> out;
    std::string line;
    while (std::getline(in, line)) {
        auto r = ordered_json::parse(line);
        if (r["template"] == template_name) out.push_back(r);
    }
    return out;
}

fs::path write_json(const std::string& name, const ordered_json& j) {
    fs::path p = scratch_root() / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << j.dump();
    return p;
}

TEST(CliTemplate, ReproducesReferenceRenders) {
    int checked = 0;
    for (const char* name : {"Qwen-Qwen3-0.6B.jinja", "openai-gpt-oss-120b.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja"}) {
        for (const auto& r : reference_records(name)) {
            ordered_json vars = r["options"];
            vars["messages"] = r["messages"];
            auto file = write_json("cli_template/vars.json", vars);
            std::vector<std::string> args{"template", "--template", std::string(ASCENT_TEST_DATA) + "/chat_templates/" + name,
                                          "--messages", file.string()};
            if (r.contains("now") && !r["now"].is_null()) {
                args.push_back("--now");
                args.push_back(r["now"].get<std::string>());
            }
            auto out = run_ascent(args);
            if (r["rendered"].is_null()) {
                EXPECT_EQ(out.exit_code, 2) << r["scenario"];
                EXPECT_NE(out.err.find(r["error"].get<std::string>()), std::string::npos) << out.err;
            } else {
                ASSERT_EQ(out.exit_code, 0) << r["scenario"] << out.err;
                EXPECT_EQ(out.out, r["rendered"].get<std::string>()) << name << " " << r["scenario"];
            }
            ++checked;
        }
    }
    EXPECT_GT(checked, 10);
}

TEST(CliTemplate, ModelFolderSuppliesTemplateAndSpecialTokens) {
    ordered_json msgs = ordered_json::array({{{"role", "user"}, {"content", "Hi!"}}});
    auto file = write_json("cli_template/msgs.json", msgs);
    auto r = run_ascent({"template", "-m", qwen3_tiny().string(), "--messages", file.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    auto r2 = run_ascent({"template", "-m", qwen3_tiny().string(), "--messages", file.string(), "--no-generation-prompt"});
    EXPECT_EQ(r2.out, "<|im_start|>user\nHi!<|im_end|>\n");
}

TEST(CliTemplate, Errors) {
    auto msgs = write_json("cli_template/m.json", ordered_json::array({{{"role", "user"}, {"content", "x"}}}));
    fs::path bad = scratch_root() / "cli_template/bad.jinja";
    fs::create_directories(bad.parent_path());
    std::ofstream(bad) << "line one\n{% if messages %}\n{{ messages[0 }}\n{% endif %}";
    auto r = run_ascent({"template", "--template", bad.string(), "--messages", msgs.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(":3:"), std::string::npos) << r.err;  // line 3 named
    fs::path raising = scratch_root() / "cli_template/raise.jinja";
    std::ofstream(raising) << "{{ raise_exception('Only user and assistant roles are supported!') }}";
    r = run_ascent({"template", "--template", raising.string(), "--messages", msgs.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("Only user and assistant roles are supported!"), std::string::npos) << r.err;
    fs::path looping = scratch_root() / "cli_template/loop.jinja";
    std::ofstream(looping) << "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    r = run_ascent({"template", "--template", looping.string(), "--messages", msgs.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_FALSE(r.err.empty());
    r = run_ascent({"template", "-m", demo_model().string(), "--messages", msgs.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("no chat template"), std::string::npos) << r.err;
    std::ofstream(scratch_root() / "cli_template/notjson.json") << "[{";
    r = run_ascent({"template", "--template", bad.string(), "--messages",
                    (scratch_root() / "cli_template/notjson.json").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("invalid JSON"), std::string::npos) << r.err;
}

TEST(CliChat, ChatCompletionThroughTheModelsTemplate) {
    auto r = run_ascent({"complete", "-m", qwen3_tiny().string(), "--chat", "--json", "--temperature", "0", "-n", "12",
                         "--system", "Be brief.", "What is 2+2?"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["object"], "chat.completion");
    EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
    EXPECT_TRUE(j["choices"][0]["message"]["content"].is_string());
    // The prompt is exactly the template's rendering, tokenized without adding anything.
    ordered_json msgs = ordered_json::array({{{"role", "system"}, {"content", "Be brief."}},
                                             {{"role", "user"}, {"content", "What is 2+2?"}}});
    auto file = write_json("cli_chat/msgs.json", msgs);
    auto rendered = run_ascent({"template", "-m", qwen3_tiny().string(), "--messages", file.string()});
    auto ids = run_ascent({"tokenize", "-m", qwen3_tiny().string(), "--json", "--no-bos", "-"},
                          {.stdin_data = rendered.out});
    EXPECT_EQ(j["usage"]["prompt_tokens"], json::parse(ids.out).size());
    // Streaming prints the same answer.
    auto plain = run_ascent({"complete", "-m", qwen3_tiny().string(), "--chat", "--temperature", "0", "-n", "12",
                             "--system", "Be brief.", "What is 2+2?"});
    EXPECT_EQ(plain.out, j["choices"][0]["message"]["content"].get<std::string>());
}

TEST(CliChat, EndOfTurnMarkerStopsGeneration) {
    auto r = run_ascent({"info", "-m", qwen3_tiny().string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    bool im_end = false;
    for (const auto& s : j["stop_tokens"]) im_end |= s["id"] == 151645 && s["text"] == "<|im_end|>";
    EXPECT_TRUE(im_end) << j["stop_tokens"].dump();
}

TEST(CliChat, ReasoningIsReturnedSeparately) {
    // A template that opens the reasoning block in the prompt, as Qwen3.5 and DeepSeek-R1 do:
    // everything the model writes before </think> is reasoning, not answer.
    fs::path tmpl = scratch_root() / "cli_chat/think.jinja";
    fs::create_directories(tmpl.parent_path());
    std::ofstream(tmpl) << "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                           "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}";
    auto r = run_ascent({"complete", "-m", qwen3_tiny().string(), "--chat", "--chat-template", tmpl.string(), "--json",
                         "--temperature", "0", "-n", "8", "hi"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    const auto& msg = j["choices"][0]["message"];
    EXPECT_EQ(msg["content"], "");
    ASSERT_TRUE(msg.contains("reasoning_content"));
    EXPECT_FALSE(msg["reasoning_content"].get<std::string>().empty());
    // Streamed: the answer alone on stdout; the reasoning on stderr with --stats.
    auto s = run_ascent({"complete", "-m", qwen3_tiny().string(), "--chat", "--chat-template", tmpl.string(), "--stats",
                         "--temperature", "0", "-n", "8", "hi"});
    EXPECT_EQ(s.out, "");
    EXPECT_NE(s.err.find("reasoning:\n" + msg["reasoning_content"].get<std::string>()), std::string::npos) << s.err;
}

TEST(CliChat, BaseModelRunsAsCompletionWithANote) {
    auto r = run_ascent({"complete", "--chat", "--temperature", "0", "-n", "8", "Once upon a time"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("no chat template"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, ", there was a little girl");
    auto b = run_ascent({"complete", "--chat", "--chat-template", "chatml", "--temperature", "0", "-n", "4", "hi"});
    EXPECT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(b.err, "");
    auto u = run_ascent({"complete", "--chat", "--chat-template", "no-such-template", "hi"});
    EXPECT_EQ(u.exit_code, 2);
    EXPECT_NE(u.err.find("chatml"), std::string::npos) << u.err;
}

}  // namespace
