// Chat template cost: parsing once, then rendering a 20-turn conversation with the
// Qwen3 and gpt-oss templates (the target is well under a millisecond per render).
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "chat_templates/jinja/template.h"

namespace {

using ascent::templates::RenderOptions;
using ascent::templates::Template;
using json = nlohmann::ordered_json;

// The templates are the test fixtures of this repository, found from this file's location.
std::string fixture(const std::string& name) {
    auto path = std::filesystem::path(__FILE__).parent_path().parent_path() / "tests" / "data" / "chat_templates" / name;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

json conversation(int turns, bool with_tools) {
    json messages = json::array();
    messages.push_back({{"role", "system"}, {"content", "You are a helpful assistant. Answer briefly and precisely."}});
    for (int i = 0; i < turns / 2; ++i) {
        messages.push_back({{"role", "user"},
                            {"content", "Question " + std::to_string(i) +
                                            ": could you explain how a transformer's attention layer mixes "
                                            "information between positions, and why it needs a causal mask?"}});
        messages.push_back({{"role", "assistant"},
                            {"content", "<think>\nThe user asks about attention; keep it short.\n</think>\n\n"
                                        "Each position forms a query and compares it with the keys of the other "
                                        "positions; the softmax of those scores weights their values. The causal "
                                        "mask hides later positions so that generation cannot look ahead."}});
    }
    json context = {{"messages", messages}, {"add_generation_prompt", true}, {"eos_token", "<|im_end|>"}};
    context["tools"] = nullptr;
    if (with_tools) {
        context["tools"] = json::array({{{"type", "function"},
                                         {"function",
                                          {{"name", "get_weather"},
                                           {"description", "Current weather for a city"},
                                           {"parameters",
                                            {{"type", "object"},
                                             {"properties", {{"city", {{"type", "string"}}}}},
                                             {"required", json::array({"city"})}}}}}}});
    }
    return context;
}

RenderOptions fixed_clock() {
    RenderOptions options;
    options.now = std::chrono::sys_days{std::chrono::year{2025} / 1 / 15};
    return options;
}

void render_benchmark(benchmark::State& state, const char* file, bool with_tools) {
    Template tmpl = Template::parse(fixture(file), file);
    json context = conversation(static_cast<int>(state.range(0)), with_tools);
    RenderOptions options = fixed_clock();
    std::size_t bytes = 0;
    for (auto _ : state) {
        std::string out = tmpl.render(context, options);
        bytes += out.size();
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_RenderQwen3(benchmark::State& state) { render_benchmark(state, "Qwen-Qwen3-0.6B.jinja", false); }
void BM_RenderQwen3WithTools(benchmark::State& state) { render_benchmark(state, "Qwen-Qwen3-0.6B.jinja", true); }
void BM_RenderGptOss(benchmark::State& state) { render_benchmark(state, "openai-gpt-oss-120b.jinja", false); }

void BM_ParseQwen3(benchmark::State& state) {
    std::string source = fixture("Qwen-Qwen3-0.6B.jinja");
    for (auto _ : state) benchmark::DoNotOptimize(Template::parse(source, "qwen3"));
}

BENCHMARK(BM_RenderQwen3)->Arg(2)->Arg(20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RenderQwen3WithTools)->Arg(20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RenderGptOss)->Arg(20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ParseQwen3)->Unit(benchmark::kMicrosecond);

}  // namespace
