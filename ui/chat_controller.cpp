#include "ui/chat_controller.h"

#include <fmt/format.h>

#include <cstdlib>

#include "engine/error.h"
#include "engine/process_memory.h"
#include "ui/commands.h"

namespace ascent::ui {

namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

std::filesystem::path expand_home(const std::string& path) {
    if (path == "~" || path.starts_with("~/")) {
        if (const char* home = std::getenv("HOME")) return std::filesystem::path(home) / path.substr(path.size() > 1 ? 2 : 1);
    }
    return path;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\n") == std::string::npos; }

}  // namespace

ChatController::ChatController(EngineWorker& worker, Conversation initial)
    : worker_(worker), info_(worker.backend().info()), conv_(std::move(initial)) {
    pad_entry_ = kNone;
    if (!conv_.messages.empty()) rebuild_transcript();
    if (info_.chat) {
        notice(fmt::format("{} · {} · chat template: {}. Type a message and press Enter; /help lists the keys and commands.",
                           info_.name, info_.architecture, info_.template_origin));
    } else {
        notice(fmt::format("{} · {} has no chat template: this is a completion pad. Type the start of a text and press "
                           "Enter; the model continues it. Enter on an empty line continues further. /help lists the keys and commands.",
                           info_.name, info_.architecture));
    }
    if (!conv_.messages.empty()) notice(fmt::format("Continuing a saved conversation of {} messages.", conv_.messages.size()));
}

void ChatController::notice(const std::string& text, bool preformatted) {
    Entry e;
    e.kind = Entry::Kind::Notice;
    e.text = text;
    e.preformatted = preformatted;
    transcript_.add(std::move(e));
    if (!info_.chat) pad_entry_ = kNone;  // text typed after a notice starts a new pad block
    ++revision_;
}

void ChatController::error(const std::string& text) {
    Entry e;
    e.kind = Entry::Kind::Error;
    e.text = text;
    transcript_.add(std::move(e));
    if (!info_.chat) pad_entry_ = kNone;
    ++revision_;
}

std::optional<std::string> ChatController::take_returned_input() {
    auto r = std::move(returned_input_);
    returned_input_.reset();
    return r;
}

void ChatController::rebuild_transcript() {
    transcript_.clear();
    pad_entry_ = kNone;
    if (!conv_.system.empty()) notice("System prompt: " + conv_.system);
    for (const auto& m : conv_.messages) {
        if (!info_.chat) {
            if (pad_entry_ == kNone) {
                Entry e;
                e.kind = Entry::Kind::Pad;
                pad_entry_ = transcript_.add(std::move(e));
            }
            transcript_.edit(pad_entry_).pad.push_back({m.role == "user", m.content});
            continue;
        }
        Entry e;
        e.kind = m.role == "user" ? Entry::Kind::User : Entry::Kind::Assistant;
        e.text = m.content;
        e.reasoning = m.reasoning;
        transcript_.add(std::move(e));
    }
    ++revision_;
}

void ChatController::start_turn() {
    generating_ = true;
    stats_.begin_turn(monotonic_seconds());
    if (info_.chat) {
        Entry e;
        e.kind = Entry::Kind::Assistant;
        e.streaming = true;
        assistant_entry_ = transcript_.add(std::move(e));
    } else {
        transcript_.edit(pad_entry_).pad.push_back({false, ""});
        assistant_entry_ = pad_entry_;
    }
    ++revision_;
    worker_.start_turn(conv_);
}

ChatController::Outcome ChatController::submit(const std::string& line) {
    Outcome out;
    if (auto parsed = parse_command(line)) {
        if (auto* err = std::get_if<CommandError>(&*parsed)) error(err->message);
        else run_command(std::get<Command>(*parsed), out);
        return out;
    }
    const std::string text = message_text(line);
    if (generating_) {
        returned_input_ = line;
        error("the answer is still coming: wait for it, or press Ctrl-C to stop it");
        return out;
    }
    if (info_.chat) {
        if (blank(text)) return out;
        turn_messages_ = conv_.messages.size();
        conv_.messages.push_back({"user", text, {}});
        Entry e;
        e.kind = Entry::Kind::User;
        e.text = text;
        turn_first_entry_ = transcript_.add(std::move(e));
        pending_input_ = text;
        start_turn();
        return out;
    }
    // Completion pad: the text joins the document and the model continues it; an empty line
    // just continues.
    if (text.empty() && conv_.messages.empty() && conv_.system.empty()) {
        error("type the start of a text first; the model continues it");
        return out;
    }
    turn_messages_ = conv_.messages.size();
    if (pad_entry_ == kNone) {
        Entry e;
        e.kind = Entry::Kind::Pad;
        pad_entry_ = transcript_.add(std::move(e));
    }
    turn_first_entry_ = kNone;
    if (!text.empty()) {
        conv_.messages.push_back({"user", text, {}});
        transcript_.edit(pad_entry_).pad.push_back({true, text});
    }
    pending_input_ = text;
    start_turn();
    return out;
}

void ChatController::handle(const EngineEvent& e) {
    switch (e.kind) {
    case EngineEvent::Kind::Progress:
        stats_.prefill_progress(e.done, e.total, e.time);
        return;
    case EngineEvent::Kind::Token:
        stats_.token(e.time);
        return;
    case EngineEvent::Kind::Text: {
        Entry& entry = transcript_.edit(assistant_entry_);
        if (info_.chat) {
            entry.text += e.content;
            entry.reasoning += e.reasoning;
        } else {
            entry.pad.back().text += e.content + e.reasoning;
        }
        ++revision_;
        return;
    }
    case EngineEvent::Kind::ResetDone:
        resetting_ = false;
        return;
    case EngineEvent::Kind::Done:
        break;
    }
    generating_ = false;
    const TurnResult& r = e.result;
    stats_.end_turn({r.prompt_tokens, r.reused_tokens, r.generated_tokens, r.ttft_seconds, r.prefill_seconds,
                     r.decode_seconds, r.mode, r.finish_reason},
                    e.time);
    ++revision_;
    const bool nothing = r.content.empty() && r.reasoning.empty();
    if (r.finish_reason == "error" || (r.finish_reason == "cancelled" && nothing)) {
        // Nothing came of this turn: undo it and give the user their text back.
        conv_.messages.resize(turn_messages_);
        if (info_.chat) {
            transcript_.remove_from(turn_first_entry_ == kNone ? assistant_entry_ : turn_first_entry_);
        } else {
            auto& pad = transcript_.edit(assistant_entry_).pad;
            pad.pop_back();  // the empty continuation
            if (!pending_input_.empty() && !pad.empty() && pad.back().by_user) pad.pop_back();
        }
        if (!pending_input_.empty()) returned_input_ = pending_input_;
        const std::string back = pending_input_.empty() ? "" : " Your text is back in the input line.";
        if (r.finish_reason == "error") error(r.error + back);
        else notice("Stopped before the answer began." + back);
        return;
    }
    if (info_.chat) {
        conv_.messages.push_back({"assistant", r.content, r.reasoning});
        Entry& entry = transcript_.edit(assistant_entry_);
        entry.text = r.content;
        entry.reasoning = r.reasoning;
        entry.streaming = false;
        const double rate = r.decode_seconds > 0 && r.generated_tokens > 1
                                ? static_cast<double>(r.generated_tokens - 1) / r.decode_seconds
                                : 0;
        entry.footer = fmt::format("{} tok · {:.1f} tok/s · TTFT {} · {}", r.generated_tokens, rate, format_ms(r.ttft_seconds), r.mode);
        if (r.finish_reason == "cancelled") entry.footer += " · stopped";
        if (r.finish_reason == "length") entry.footer += " · length limit";
    } else if (!r.content.empty()) {
        conv_.messages.push_back({"assistant", r.content, {}});
        transcript_.edit(assistant_entry_).pad.back().text = r.content;
    } else {
        transcript_.edit(assistant_entry_).pad.pop_back();
    }
}

void ChatController::cancel() {
    if (generating_) worker_.cancel();
}

void ChatController::set_mode(ExecMode m) { worker_.backend().request_mode(m); }

void ChatController::toggle_mode() {
    set_mode(requested_mode() == ExecMode::Eager ? ExecMode::Graph : ExecMode::Eager);
}

void ChatController::toggle_fold() {
    transcript_.set_fold_reasoning(!transcript_.fold_reasoning());
    ++revision_;
}

std::string ChatController::last_answer() const {
    for (auto it = conv_.messages.rbegin(); it != conv_.messages.rend(); ++it)
        if (it->role == "assistant") return it->content;
    return {};
}

void ChatController::run_command(const Command& c, Outcome& out) {
    auto busy = [&] {
        if (!generating_) return false;
        error("wait for the answer to finish (Ctrl-C stops it)");
        return true;
    };
    switch (c.kind) {
    case CommandKind::Help: {
        std::string text;
        for (const auto& l : help_lines(info_.chat)) text += l + "\n";
        notice(text, true);
        return;
    }
    case CommandKind::Clear:
        if (busy()) return;
        conv_.messages.clear();
        transcript_.clear();
        pad_entry_ = kNone;
        notice(conv_.system.empty() ? "New conversation." : "New conversation (the system prompt stays; /system changes it).");
        worker_.reset();
        return;
    case CommandKind::System:
        if (c.arg.empty()) {
            notice(conv_.system.empty() ? "No system prompt. /system TEXT sets one." : "System prompt: " + conv_.system);
            return;
        }
        if (busy()) return;
        conv_.system = c.arg;
        notice(info_.chat ? "System prompt set; it applies from the next message."
                          : "Set: the text is placed before the document (this model has no chat template).");
        return;
    case CommandKind::Set:
        if (c.arg.empty()) {
            notice(describe_settings(conv_.settings));
            return;
        }
        if (auto err = apply_setting(conv_.settings, c.arg, c.value)) error(*err);
        else notice(describe_settings(conv_.settings) + (generating_ ? " (from the next turn)" : ""));
        return;
    case CommandKind::Mode:
        if (c.arg.empty()) toggle_mode();
        else set_mode(parse_mode(c.arg));
        notice(fmt::format("Mode: {} (from the next token).", mode_name(requested_mode())));
        return;
    case CommandKind::Stats: {
        const auto status = worker_.backend().status();
        std::string text;
        for (const auto& l : stats_lines(stats_input(status, monotonic_seconds(), process_rss_bytes()), 48))
            text += l.text + "\n";
        notice(text, true);
        return;
    }
    case CommandKind::Save:
        try {
            const auto path = expand_home(c.arg);
            save_conversation(path, conv_, info_.name);
            notice(fmt::format("Saved {} messages and the settings to {}.", conv_.messages.size(), path.string()));
        } catch (const Error& e) {
            error(e.what());
        }
        return;
    case CommandKind::Load:
        if (busy()) return;
        try {
            const auto path = expand_home(c.arg);
            conv_ = load_conversation(path);
            rebuild_transcript();
            notice(fmt::format("Loaded {} messages from {}. {}", conv_.messages.size(), path.string(),
                               describe_settings(conv_.settings)));
        } catch (const Error& e) {
            error(e.what());
        }
        return;
    case CommandKind::Regen: {
        if (busy()) return;
        if (conv_.messages.empty() || conv_.messages.back().role != "assistant") {
            error("nothing to regenerate: the last message is not an answer");
            return;
        }
        conv_.messages.pop_back();
        turn_messages_ = conv_.messages.size();
        pending_input_.clear();
        turn_first_entry_ = kNone;
        if (info_.chat) {
            for (size_t i = transcript_.size(); i-- > 0;)
                if (transcript_.at(i).kind == Entry::Kind::Assistant) {
                    transcript_.remove_from(i);
                    break;
                }
        } else {
            if (pad_entry_ == kNone) rebuild_transcript();
            else transcript_.edit(pad_entry_).pad.pop_back();
            if (pad_entry_ == kNone) {  // the conversation ended in a notice: start a pad block again
                Entry e;
                e.kind = Entry::Kind::Pad;
                pad_entry_ = transcript_.add(std::move(e));
            }
        }
        start_turn();
        return;
    }
    case CommandKind::Copy: {
        const auto text = last_answer();
        if (text.empty()) {
            error("no answer to copy yet");
            return;
        }
        out.copy = text;
        notice(fmt::format("Copied the last answer ({} bytes) to the clipboard (OSC 52).", text.size()));
        return;
    }
    case CommandKind::Quit:
        out.quit = true;
        return;
    }
}

StatsInput ChatController::stats_input(const EngineStatus& status, double now, size_t rss) const {
    StatsInput in;
    in.info = &info_;
    in.status = &status;
    in.stats = &stats_;
    in.requested_mode = requested_mode();
    in.rss_bytes = rss;
    in.now = now;
    return in;
}

std::string ChatController::status_text(const EngineStatus& status) const {
    std::string activity;
    if (generating_) {
        if (stats_.prefilling())
            activity = stats_.prefill_total() > 0
                           ? fmt::format("reading prompt {}%", stats_.prefill_done() * 100 / stats_.prefill_total())
                           : "reading prompt";
        else
            activity = fmt::format("generating · {} tok", stats_.tokens_out_live());
    } else {
        activity = info_.chat ? "ready" : "completion pad";
    }
    return fmt::format(" {} │ {} │ ctx {}/{} │ {} │ {} │ F1 help", info_.name, mode_label(requested_mode(), status.mode),
                       status.context_used, status.context_size, activity, info_.backend);
}

}  // namespace ascent::ui
