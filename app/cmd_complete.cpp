// `ascent complete`: one prompt in, streamed text out. Built for pipes: generated text alone on
// stdout, statistics and errors on stderr.
#include <fmt/format.h>

#include <cstdio>
#include <optional>
#include <random>

#include "app/chat_prompt.h"
#include "app/commands.h"
#include "app/completion_json.h"
#include "app/model_options.h"
#include "app/run_stats.h"
#include "app/sampling_options.h"
#include "app/terminal_io.h"
#include "engine/error.h"
#include "engine/generate.h"

namespace ascent::app {

namespace {

struct CompleteOptions {
    ModelOptions model;
    std::string prompt;
    int max_tokens = -1;
    SamplingFlags sampling;
    int repeat_last_n = 64;
    std::optional<uint64_t> seed;
    std::vector<std::string> stop;
    bool json = false;
    bool stats = false;
    int logprobs = 0;
    bool echo = false;
    bool ignore_eos = false;
    bool no_special = false;
    bool chat = false;
    ChatTemplateFlags tmpl;
};

SamplingParams sampling_params(const CompleteOptions& o, const models::LoadedModel& m) {
    SamplingParams p = resolve_sampling(o.sampling, m);
    p.repeat_last_n = o.repeat_last_n;
    p.seed = o.seed ? *o.seed : std::random_device{}();
    return p;
}

int run_complete(const CompleteOptions& o) {
    install_signal_handlers();
    std::string prompt;
    if (o.prompt.empty() || o.prompt == "-") {
        if (o.prompt.empty() && stdin_is_terminal())
            input_error("no prompt: pass it as an argument or pipe it on standard input");
        prompt = read_stdin_utf8();
        // `echo "..." | ascent complete` ends the prompt with the newline echo added; drop that one.
        if (prompt.ends_with('\n')) prompt.pop_back();
        if (prompt.ends_with('\r')) prompt.pop_back();
    } else {
        prompt = o.prompt;
    }

    auto m = load(o.model);
    Session session(*m->backend, *m->model, session_options(o.model, *m));
    Sampler sampler(sampling_params(o, *m));

    GenerateRequest req;
    EncodeOptions enc;
    enc.parse_special = !o.no_special;
    req.eos_ids = m->eos_ids();

    // --chat: the prompt becomes one user message in the model's own chat format.
    std::optional<ChatPrompt> chat;
    if (o.chat) {
        auto tmpl = resolve_chat_template(m->folder, o.tmpl.chat_template, false);
        if (tmpl) {
            nlohmann::ordered_json messages = nlohmann::ordered_json::array();
            if (!o.tmpl.system.empty()) messages.push_back({{"role", "system"}, {"content", o.tmpl.system}});
            messages.push_back({{"role", "user"}, {"content", prompt}});
            chat = build_chat_prompt(*m, *tmpl, messages, parse_chat_template_kwargs(o.tmpl.chat_template_kwargs));
            enc.add_special_tokens = false;  // the template writes BOS itself where the model wants one
            req.eos_ids.insert(req.eos_ids.end(), chat->stop_ids.begin(), chat->stop_ids.end());
        } else {
            std::fprintf(stderr, "ascent: note: %s Running it as a plain completion.\n",
                         templates::no_template_message(m->folder).c_str());
        }
    }
    req.prompt = m->tokenizer->encode(chat ? chat->text : prompt, enc);
    req.max_tokens = o.max_tokens;
    req.stop = o.stop;
    req.ignore_eos = o.ignore_eos;
    req.logprobs = o.logprobs;
    req.echo = o.echo;
    req.cancel = &interrupted();

    bool stream = !o.json;
    ReasoningSplitter splitter(chat ? chat->reasoning : ReasoningFormat::None, chat ? chat->text : "");
    req.skip_special = !splitter.needs_special_tokens();
    std::string content, reasoning;
    auto take = [&](SplitText part) {
        content += part.content;
        reasoning += part.reasoning;
        return stream ? write_stdout(part.content) : true;
    };
    GenerationResult r = generate(session, *m->tokenizer, sampler, req,
                                  [&](std::string_view piece) { return take(splitter.push(piece)); });
    take(splitter.finish());
    if (o.json && chat) {
        auto j = chat_completion_json(m->folder.filename().string(), content, reasoning, r);
        write_stdout(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    } else if (o.json) {
        auto j = text_completion_json(m->folder.filename().string(), prompt, r, *m->tokenizer, o.echo,
                                      o.logprobs > 0 || o.echo);
        write_stdout(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    } else if (stdout_is_terminal()) {
        write_stdout("\n");
    }
    if (o.stats && !reasoning.empty()) std::fprintf(stderr, "\nreasoning:\n%s\n", reasoning.c_str());
    if (o.stats) print_run_stats(*m, session, sampler.params(), r);
    return r.finish_reason == "cancelled" ? 130 : 0;
}

}  // namespace

Runner add_complete_command(CLI::App& root) {
    auto o = std::make_shared<CompleteOptions>();
    CLI::App* cmd = root.add_subcommand("complete", "Complete a prompt (argument, or stdin when piped) and stream the text");
    cmd->add_option("prompt", o->prompt, "Prompt text; '-' or nothing reads standard input");
    add_model_options(*cmd, o->model);
    cmd->add_option("-n,--max-tokens", o->max_tokens, "Tokens to generate at most (-1: until EOS or the context is full)")
        ->check(CLI::Range(-1, 1 << 30));
    add_sampling_options(*cmd, o->sampling);
    cmd->add_option("--repeat-last-n", o->repeat_last_n, "How many recent tokens the penalty looks at (-1: all)")
        ->check(CLI::Range(-1, 1 << 30));
    cmd->add_option("--seed,-s", o->seed, "Random seed (default: random; printed by --stats)");
    cmd->add_option("--stop", o->stop, "Stop when this text appears (repeat the flag for several); it is not printed")
        ->allow_extra_args(false);  // one string per --stop, so a prompt after it stays the prompt
    cmd->add_flag("--json", o->json, "Print one OpenAI-style text_completion object instead of streaming");
    cmd->add_flag("--stats", o->stats, "Print timings and memory to stderr");
    cmd->add_option("--logprobs", o->logprobs, "With --json: top-N log-probabilities of every generated token")
        ->check(CLI::Range(0, 20));
    cmd->add_flag("--echo", o->echo, "With --json: include the prompt (and its tokens' logprobs)");
    cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past end-of-sequence tokens");
    cmd->add_flag("--no-special", o->no_special, "Treat special-token text in the prompt as plain text");
    cmd->add_flag("--chat", o->chat, "Send the prompt as a user message through the model's chat template");
    add_chat_template_options(*cmd, o->tmpl, "With --chat: ");
    return [o] {
        if ((o->logprobs > 0 || o->echo) && !o->json) input_error("--logprobs and --echo need --json");
        if ((o->logprobs > 0 || o->echo) && o->chat) input_error("--logprobs and --echo are for plain completions, not --chat");
        if (!o->chat && o->tmpl.any())
            input_error("--system, --chat-template and --chat-template-kwargs need --chat");
        return run_complete(*o);
    };
}

}  // namespace ascent::app
