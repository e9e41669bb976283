// The chat logic both front ends share, driven through the real engine thread with a scripted
// backend: turns, streaming, cancel, errors, /regen, /clear, /mode, /set, /copy, /save + /load,
// and the completion pad of base models.
#include <gtest/gtest.h>

#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/support/tiny_model.h"
#include "ui/chat_controller.h"
#include "ui/engine_worker.h"

using namespace ascent::ui;
using ascent::ExecMode;

namespace {

// Answers every turn with `reply`, one word per token; can hold a turn in its prefill until
// cancelled (to test Ctrl-C during a long prompt) or fail it.
class ScriptedBackend : public ChatBackend {
public:
    explicit ScriptedBackend(bool chat) : chat_(chat) {}
    ModelInfo info() const override {
        ModelInfo i;
        i.name = "scripted";
        i.architecture = "Test";
        i.backend = "cpu (test)";
        i.memory_label = "RAM";
        i.chat = chat_;
        i.context = 100;
        return i;
    }
    GenerationSettings default_settings() const override { return {}; }
    TurnResult run_turn(const Conversation& conv, const std::atomic<bool>& cancel, TurnSink& sink) override {
        {
            std::lock_guard lock(mu_);
            seen.push_back(conv);
        }
        TurnResult r;
        r.mode = mode_name(requested_);
        if (fail) {
            r.finish_reason = "error";
            r.error = "the prompt is 200 tokens but only 100 are free";
            return r;
        }
        sink.prefill_progress(0, 10);
        if (hold_prefill) {
            while (!cancel.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            r.finish_reason = "cancelled";
            r.prompt_tokens = 10;
            return r;
        }
        sink.prefill_progress(10, 10);
        r.prompt_tokens = 10;
        for (const auto& word : reply) {
            if (cancel.load()) {
                r.finish_reason = "cancelled";
                return r;
            }
            sink.token();
            sink.text(word, "");
            r.content += word;
            ++r.generated_tokens;
        }
        r.finish_reason = "stop";
        r.ttft_seconds = 0.01;
        r.decode_seconds = 0.02;
        return r;
    }
    void reset() override { ++resets; }
    size_t turns_started() {
        std::lock_guard lock(mu_);
        return seen.size();
    }
    void request_mode(ExecMode m) override { requested_ = m; }
    ExecMode requested_mode() const override { return requested_; }
    EngineStatus status() const override { return {}; }

    std::vector<std::string> reply{"Hello", " there", "!"};
    std::atomic<bool> hold_prefill{false};
    std::atomic<bool> fail{false};
    std::atomic<int> resets{0};
    std::vector<Conversation> seen;

private:
    bool chat_;
    std::atomic<ExecMode> requested_{ExecMode::Eager};
    std::mutex mu_;
};

// Feeds engine events to the controller until the turn is over.
void finish_turn(EngineWorker& w, ChatController& c) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (c.generating() && std::chrono::steady_clock::now() < deadline) {
        pollfd p{w.wake_fd(), POLLIN, 0};
        poll(&p, 1, 50);
        for (const auto& e : w.take_events()) c.handle(e);
    }
    ASSERT_FALSE(c.generating()) << "the turn never finished";
}

// Waits until the backend has started `n` turns.
void wait_for_turns(ScriptedBackend& b, size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (b.turns_started() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

bool has_entry(Transcript& t, Entry::Kind kind, const std::string& text) {
    for (size_t i = 0; i < t.size(); ++i)
        if (t.at(i).kind == kind && t.at(i).text.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST(UiController, ChatTurnStreamsIntoTheConversation) {
    ScriptedBackend b(true);
    EngineWorker w(b);
    ChatController c(w, {});
    c.submit("Hi!");
    EXPECT_TRUE(c.generating());
    finish_turn(w, c);
    ASSERT_EQ(c.conversation().messages.size(), 2u);
    EXPECT_EQ(c.conversation().messages[0], (Message{"user", "Hi!", ""}));
    EXPECT_EQ(c.conversation().messages[1], (Message{"assistant", "Hello there!", ""}));
    ASSERT_EQ(b.seen.size(), 1u);
    EXPECT_EQ(b.seen[0].messages.size(), 1u);
    auto& t = c.transcript();
    ASSERT_TRUE(has_entry(t, Entry::Kind::Assistant, "Hello there!"));
    const Entry& last = t.at(t.size() - 1);
    EXPECT_FALSE(last.streaming);
    EXPECT_NE(last.footer.find("3 tok"), std::string::npos) << last.footer;
    EXPECT_NE(last.footer.find("eager"), std::string::npos) << last.footer;
    ASSERT_EQ(c.stats().turns().size(), 1u);
    EXPECT_EQ(c.stats().turns()[0].generated_tokens, 3);
    // Blank lines are not messages.
    c.submit("   ");
    EXPECT_FALSE(c.generating());
}

TEST(UiController, ModeSwitchAndSettingsReachTheNextTurn) {
    ScriptedBackend b(true);
    EngineWorker w(b);
    ChatController c(w, {});
    c.toggle_mode();
    EXPECT_EQ(c.requested_mode(), ExecMode::Graph);
    c.submit("/set temperature 0.125");
    c.submit("/set seed 7");
    c.submit("one");
    finish_turn(w, c);
    EXPECT_EQ(c.stats().turns().back().mode, "graph");
    ASSERT_EQ(b.seen.size(), 1u);
    EXPECT_FLOAT_EQ(b.seen[0].settings.temperature, 0.125f);
    EXPECT_EQ(b.seen[0].settings.seed, 7u);
    c.submit("/mode eager");
    c.submit("two");
    finish_turn(w, c);
    EXPECT_EQ(c.stats().turns().back().mode, "eager");
    EXPECT_EQ(c.stats().turns().size(), 2u);
}

TEST(UiController, CtrlCDuringPrefillGivesTheTextBack) {
    ScriptedBackend b(true);
    b.hold_prefill = true;
    EngineWorker w(b);
    ChatController c(w, {});
    c.submit("a very long prompt");
    wait_for_turns(b, 1);
    c.cancel();
    finish_turn(w, c);
    EXPECT_TRUE(c.conversation().messages.empty());
    EXPECT_EQ(c.take_returned_input(), "a very long prompt");
    EXPECT_FALSE(has_entry(c.transcript(), Entry::Kind::User, "a very long prompt"));
    EXPECT_TRUE(has_entry(c.transcript(), Entry::Kind::Notice, "Stopped before the answer began"));
    // The UI stays usable: the next turn runs.
    b.hold_prefill = false;
    c.submit("short");
    finish_turn(w, c);
    EXPECT_EQ(c.conversation().messages.size(), 2u);
}

TEST(UiController, ErrorsUndoTheTurn) {
    ScriptedBackend b(true);
    b.fail = true;
    EngineWorker w(b);
    ChatController c(w, {});
    c.submit("too long");
    finish_turn(w, c);
    EXPECT_TRUE(c.conversation().messages.empty());
    EXPECT_EQ(c.take_returned_input(), "too long");
    EXPECT_TRUE(has_entry(c.transcript(), Entry::Kind::Error, "only 100 are free"));
}

TEST(UiController, BusyWhileAnswering) {
    ScriptedBackend b(true);
    b.hold_prefill = true;
    EngineWorker w(b);
    ChatController c(w, {});
    c.submit("first");
    c.submit("second");
    EXPECT_EQ(c.take_returned_input(), "second");
    c.submit("/clear");
    EXPECT_TRUE(has_entry(c.transcript(), Entry::Kind::Error, "wait for the answer"));
    c.cancel();
    finish_turn(w, c);
}

TEST(UiController, RegenReplacesTheLastAnswer) {
    ScriptedBackend b(true);
    EngineWorker w(b);
    ChatController c(w, {});
    c.submit("/regen");
    EXPECT_TRUE(has_entry(c.transcript(), Entry::Kind::Error, "nothing to regenerate"));
    c.submit("q");
    finish_turn(w, c);
    b.reply = {"Other", " answer"};
    c.submit("/regen");
    finish_turn(w, c);
    ASSERT_EQ(c.conversation().messages.size(), 2u);
    EXPECT_EQ(c.conversation().messages[1].content, "Other answer");
    ASSERT_EQ(b.seen.size(), 2u);
    EXPECT_EQ(b.seen[1].messages.size(), 1u);  // the old answer was not sent again
    EXPECT_FALSE(has_entry(c.transcript(), Entry::Kind::Assistant, "Hello there!"));
    auto out = c.submit("/copy");
    EXPECT_EQ(out.copy, "Other answer");
    EXPECT_TRUE(c.submit("/quit").quit);
}

TEST(UiController, ClearSaveAndLoad) {
    ScriptedBackend b(true);
    EngineWorker w(b);
    Conversation start;
    start.system = "Be kind.";
    ChatController c(w, start);
    c.submit("hello");
    finish_turn(w, c);
    const auto file = ascent::test::scratch_root() / "ui_controller" / "c.json";
    std::filesystem::create_directories(file.parent_path());
    c.submit("/save " + file.string());
    EXPECT_TRUE(has_entry(c.transcript(), Entry::Kind::Notice, "Saved 2 messages"));
    c.submit("/clear");
    EXPECT_TRUE(c.conversation().messages.empty());
    EXPECT_EQ(c.conversation().system, "Be kind.");  // /clear keeps the system prompt
    c.submit("/load " + file.string());
    ASSERT_EQ(c.conversation().messages.size(), 2u);
    EXPECT_EQ(c.conversation().messages[1].content, "Hello there!");
    EXPECT_TRUE(has_entry(c.transcript(), Entry::Kind::User, "hello"));
    EXPECT_TRUE(has_entry(c.transcript(), Entry::Kind::Assistant, "Hello there!"));
    c.submit("/load " + (file.parent_path() / "missing.json").string());
    EXPECT_TRUE(has_entry(c.transcript(), Entry::Kind::Error, "cannot read"));
    c.submit("/system Be brief.");
    EXPECT_EQ(c.conversation().system, "Be brief.");
    // The worker finished the reset /clear queued.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (b.resets.load() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(b.resets.load(), 1);
}

TEST(UiController, CompletionPadContinuesOneDocument) {
    ScriptedBackend b(false);
    b.reply = {" upon", " a", " time"};
    EngineWorker w(b);
    ChatController c(w, {});
    c.submit("");  // nothing to continue yet
    EXPECT_FALSE(c.generating());
    c.submit("Once");
    finish_turn(w, c);
    b.reply = {"."};
    c.submit("");  // Enter on an empty line continues
    finish_turn(w, c);
    const auto& m = c.conversation().messages;
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0], (Message{"user", "Once", ""}));
    EXPECT_EQ(m[1], (Message{"assistant", " upon a time", ""}));
    EXPECT_EQ(m[2], (Message{"assistant", ".", ""}));
    auto& t = c.transcript();
    const Entry& pad = t.at(t.size() - 1);
    ASSERT_EQ(pad.kind, Entry::Kind::Pad);
    std::string doc;
    for (const auto& s : pad.pad) doc += s.text;
    EXPECT_EQ(doc, "Once upon a time.");
    EXPECT_TRUE(pad.pad[0].by_user);
    EXPECT_FALSE(pad.pad[1].by_user);
}
