// Slash commands, /set values, and the /save + /load JSON round trip (plus the readline history
// file keeping multi-line entries whole).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <readline/history.h>

#include "engine/error.h"
#include "tests/support/tiny_model.h"
#include "ui/commands.h"
#include "ui/conversation.h"
#include "ui/line_editor.h"

using namespace ascent::ui;

namespace {

Command command(const std::string& line) {
    auto parsed = parse_command(line);
    EXPECT_TRUE(parsed.has_value()) << line;
    if (!parsed) return {};
    if (auto* err = std::get_if<CommandError>(&*parsed)) {
        ADD_FAILURE() << line << ": " << err->message;
        return {};
    }
    return std::get<Command>(*parsed);
}

std::string error_of(const std::string& line) {
    auto parsed = parse_command(line);
    if (!parsed || !std::holds_alternative<CommandError>(*parsed)) return "";
    return std::get<CommandError>(*parsed).message;
}

}  // namespace

TEST(UiCommands, ParsesEveryCommand) {
    EXPECT_EQ(command("/help").kind, CommandKind::Help);
    EXPECT_EQ(command("/?").kind, CommandKind::Help);
    EXPECT_EQ(command("  /clear  ").kind, CommandKind::Clear);
    auto sys = command("/system You are terse.  ");
    EXPECT_EQ(sys.kind, CommandKind::System);
    EXPECT_EQ(sys.arg, "You are terse.");
    EXPECT_EQ(command("/system").arg, "");
    auto set = command("/set temperature 0.2");
    EXPECT_EQ(set.kind, CommandKind::Set);
    EXPECT_EQ(set.arg, "temperature");
    EXPECT_EQ(set.value, "0.2");
    EXPECT_EQ(command("/set").arg, "");
    EXPECT_EQ(command("/mode graph").arg, "graph");
    EXPECT_EQ(command("/mode").kind, CommandKind::Mode);
    EXPECT_EQ(command("/stats").kind, CommandKind::Stats);
    EXPECT_EQ(command("/save /tmp/my chat.json").arg, "/tmp/my chat.json");
    EXPECT_EQ(command("/load x.json").kind, CommandKind::Load);
    EXPECT_EQ(command("/regen").kind, CommandKind::Regen);
    EXPECT_EQ(command("/copy").kind, CommandKind::Copy);
    EXPECT_EQ(command("/quit").kind, CommandKind::Quit);
    EXPECT_EQ(command("/exit").kind, CommandKind::Quit);
    EXPECT_EQ(command("/bye").kind, CommandKind::Quit);
}

TEST(UiCommands, MessagesAreNotCommands) {
    EXPECT_FALSE(parse_command("hello /help").has_value());
    EXPECT_FALSE(parse_command("").has_value());
    EXPECT_FALSE(parse_command("//not a command").has_value());
    EXPECT_EQ(message_text("//etc/passwd is a path"), "/etc/passwd is a path");
    EXPECT_EQ(message_text("plain"), "plain");
}

TEST(UiCommands, RejectsBadCommandsWithAReason) {
    EXPECT_NE(error_of("/frobnicate").find("unknown command /frobnicate"), std::string::npos);
    EXPECT_NE(error_of("/save").find("usage: /save FILE"), std::string::npos);
    EXPECT_NE(error_of("/load").find("usage: /load FILE"), std::string::npos);
    EXPECT_NE(error_of("/clear now").find("takes no argument"), std::string::npos);
    EXPECT_NE(error_of("/mode turbo").find("eager or graph"), std::string::npos);
    EXPECT_NE(error_of("/set temperature").find("usage"), std::string::npos);
    EXPECT_NE(error_of("/set temperature hot").find("expected a number"), std::string::npos);
    EXPECT_NE(error_of("/set top_p 1.5").find("between 0 and 1"), std::string::npos);
    EXPECT_NE(error_of("/set top_k -1").find("0 (off) or more"), std::string::npos);
    EXPECT_NE(error_of("/set max_tokens 0").find("-1"), std::string::npos);
    EXPECT_NE(error_of("/set seed -3").find("non-negative"), std::string::npos);
    EXPECT_NE(error_of("/set warp 9").find("unknown setting warp"), std::string::npos);
}

TEST(UiCommands, SetChangesSettings) {
    GenerationSettings s;
    EXPECT_FALSE(apply_setting(s, "temperature", "0.25"));
    EXPECT_FLOAT_EQ(s.temperature, 0.25f);
    EXPECT_FALSE(apply_setting(s, "top_p", "0.9"));
    EXPECT_FLOAT_EQ(s.top_p, 0.9f);
    EXPECT_FALSE(apply_setting(s, "top_k", "7"));
    EXPECT_EQ(s.top_k, 7);
    EXPECT_FALSE(apply_setting(s, "min_p", "0.1"));
    EXPECT_FLOAT_EQ(s.min_p, 0.1f);
    EXPECT_FALSE(apply_setting(s, "max_tokens", "-1"));
    EXPECT_EQ(s.max_tokens, -1);
    EXPECT_FALSE(apply_setting(s, "seed", "18446744073709551615"));
    EXPECT_EQ(*s.seed, 18446744073709551615ull);
    EXPECT_FALSE(apply_setting(s, "seed", "random"));
    EXPECT_FALSE(s.seed.has_value());
    EXPECT_NE(describe_settings(s).find("top_k 7"), std::string::npos);
    EXPECT_FALSE(help_lines(true).empty());
}

TEST(UiConversation, SaveLoadRoundTrip) {
    Conversation c;
    c.system = "Be brief.";
    c.messages = {{"user", "Hi — 你好 👋\nsecond line", ""},
                  {"assistant", "Hello!\n```python\nprint(1)\n```", "The user greets; greet back."},
                  {"user", "\"quotes\" and \\backslashes\\", ""}};
    c.settings.temperature = 0.3f;
    c.settings.top_p = 0.8f;
    c.settings.top_k = 12;
    c.settings.min_p = 0.02f;
    c.settings.max_tokens = 77;
    c.settings.seed = 42;
    const auto file = ascent::test::scratch_root() / "ui_conversation" / "chat.json";
    std::filesystem::create_directories(file.parent_path());
    save_conversation(file, c, "tiny");
    const Conversation back = load_conversation(file);
    EXPECT_EQ(back, c);
    // The file is plain OpenAI-style messages: the system prompt is the first one.
    std::ifstream in(file);
    const auto j = nlohmann::json::parse(in);
    EXPECT_EQ(j["messages"][0]["role"], "system");
    EXPECT_EQ(j["messages"][2]["reasoning_content"], "The user greets; greet back.");
    EXPECT_EQ(j["settings"]["temperature"].dump(), "0.3");
    EXPECT_EQ(j["model"], "tiny");
    // Without a seed and system prompt.
    Conversation plain;
    plain.messages = {{"user", "x", ""}};
    save_conversation(file, plain, "tiny");
    EXPECT_EQ(load_conversation(file), plain);
}

TEST(UiConversation, LoadNamesTheFileAndTheProblem) {
    const auto dir = ascent::test::scratch_root() / "ui_conversation_bad";
    std::filesystem::create_directories(dir);
    auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream(dir / name) << text;
        return dir / name;
    };
    auto message = [](const std::filesystem::path& p) -> std::string {
        try {
            load_conversation(p);
        } catch (const ascent::Error& e) {
            EXPECT_EQ(e.exit_code(), 2);
            return e.what();
        }
        return "no error";
    };
    EXPECT_NE(message(dir / "missing.json").find("cannot read"), std::string::npos);
    EXPECT_NE(message(write("a.json", "{not json")).find("not valid JSON"), std::string::npos);
    EXPECT_NE(message(write("b.json", "[]")).find("b.json"), std::string::npos);
    EXPECT_NE(message(write("c.json", R"({"messages": [{"role": "robot", "content": "x"}]})")).find("messages[0].role"),
              std::string::npos);
    EXPECT_NE(message(write("d.json", R"({"messages": [{"role": "user"}]})")).find("\"content\""), std::string::npos);
    EXPECT_NE(message(write("e.json", R"({"messages": [], "settings": {"top_k": "many"}})")).find("settings.top_k"),
              std::string::npos);
    EXPECT_NE(message(write("f.json", R"({"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}]})"))
                  .find("only the first"),
              std::string::npos);
}

TEST(UiHistory, MultiLineEntriesSurviveTheFile) {
    const auto file = ascent::test::scratch_root() / "ui_history" / "ascent" / "history";
    clear_history();
    load_history(file);
    remember_line("first", file);
    remember_line("two\nlines", file);
    remember_line("two\nlines", file);  // a repeat is not stored twice
    remember_line("   ", file);         // nor a blank line
    clear_history();
    load_history(file);
    ASSERT_EQ(history_length, 2);
    EXPECT_STREQ(history_get(history_base)->line, "first");
    EXPECT_STREQ(history_get(history_base + 1)->line, "two\nlines");
    clear_history();
}

TEST(UiHistory, FollowsXdgStateHome) {
    const char* old_state = std::getenv("XDG_STATE_HOME");
    const std::string saved = old_state ? old_state : "";
    const char* old_home = std::getenv("HOME");
    const std::string saved_home = old_home ? old_home : "";
    setenv("XDG_STATE_HOME", "/tmp/state-here", 1);
    EXPECT_EQ(default_history_file(), std::filesystem::path("/tmp/state-here/ascent/history"));
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/home/someone", 1);
    EXPECT_EQ(default_history_file(), std::filesystem::path("/home/someone/.local/state/ascent/history"));
    if (old_state) setenv("XDG_STATE_HOME", saved.c_str(), 1);
    if (old_home) setenv("HOME", saved_home.c_str(), 1);
}
