// The stats pane's arithmetic: percentiles, sparkline scaling, live decode/prefill rates,
// TTFT and TPOT per turn, totals across turns, and the view built from them.
#include <gtest/gtest.h>

#include <cmath>

#include "ui/stats.h"
#include "ui/stats_view.h"
#include "ui/text_width.h"

using namespace ascent::ui;

TEST(UiStats, PercentilesInterpolateBetweenRanks) {
    EXPECT_EQ(percentile({}, 50), 0);
    EXPECT_DOUBLE_EQ(percentile({7}, 90), 7);
    EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 50), 2.5);
    EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90), 9.1);
    EXPECT_DOUBLE_EQ(percentile({10, 1}, 0), 1);
    EXPECT_DOUBLE_EQ(percentile({10, 1}, 100), 10);
}

TEST(UiStats, SparklineScalesToTheLargestShownValue) {
    EXPECT_EQ(sparkline({1, 2, 4, 8}, 4), "▁▂▄█");
    EXPECT_EQ(sparkline({8, 8}, 4), "  ██");                 // right-aligned
    EXPECT_EQ(sparkline({0, 4, 8}, 3), " ▄█");                // zero draws nothing
    EXPECT_EQ(sparkline({100, 1, 2}, 2), "▄█");               // only the newest that fit count
    EXPECT_EQ(sparkline({0.001, 1000}, 2), "▁█");             // tiny but non-zero still shows
    EXPECT_EQ(display_width(sparkline({1, 2, 3}, 10)), 10);
    EXPECT_EQ(sparkline({1, 2}, 0), "");
}

TEST(UiStats, FillBar) {
    EXPECT_EQ(fill_bar(0, 4), "░░░░");
    EXPECT_EQ(fill_bar(0.5, 4), "██░░");
    EXPECT_EQ(fill_bar(1.7, 4), "████");
}

TEST(UiStats, LiveDecodeRateUsesTheLastSecondOfTokens) {
    LiveStats s;
    s.begin_turn(100.0);
    EXPECT_TRUE(s.prefilling());
    s.prefill_progress(64, 128, 100.1);
    EXPECT_NEAR(s.prefill_rate(100.1), 640, 1e-6);
    s.prefill_progress(128, 128, 100.2);
    // 100 tokens/s for 2 s, then 20 tokens/s.
    double t = 100.25;
    for (int i = 0; i < 200; ++i, t += 0.01) s.token(t);
    EXPECT_FALSE(s.prefilling());
    EXPECT_NEAR(s.decode_rate(t - 0.01), 100, 1.5);
    for (int i = 0; i < 40; ++i, t += 0.05) s.token(t);
    EXPECT_NEAR(s.decode_rate(t - 0.05), 20, 1.01);
    // Before a full window has passed, the rate is over the tokens so far.
    LiveStats young;
    young.begin_turn(0);
    young.token(1.0);
    young.token(1.1);
    young.token(1.2);
    EXPECT_NEAR(young.decode_rate(1.2), 10, 1e-9);
    EXPECT_NEAR(*young.ttft_current(), 1.0, 1e-12);
}

TEST(UiStats, TurnsRecordTtftTpotAndTotals) {
    LiveStats s;
    s.begin_turn(0);
    const double gaps[] = {0.010, 0.012, 0.011, 0.030, 0.010};
    double t = 0.5;
    s.token(t);
    for (double g : gaps) s.token(t += g);
    EXPECT_NEAR(s.tpot_p50(), 0.011, 1e-12);
    s.end_turn({/*prompt*/ 40, /*reused*/ 10, /*generated*/ 6, /*ttft*/ 0.5, /*prefill*/ 0.3, /*decode*/ 0.073, "eager", "stop"}, t);
    ASSERT_EQ(s.turns().size(), 1u);
    const auto& r = s.turns()[0];
    EXPECT_EQ(r.number, 1);
    EXPECT_NEAR(r.prefill_tokens_per_second, 100, 1e-9);  // 30 fed tokens in 0.3 s
    EXPECT_NEAR(r.decode_tokens_per_second, 5 / 0.073, 1e-9);
    EXPECT_NEAR(r.tpot_p50_seconds, 0.011, 1e-12);
    EXPECT_NEAR(r.tpot_p90_seconds, percentile({0.010, 0.012, 0.011, 0.030, 0.010}, 90), 1e-12);
    EXPECT_FALSE(s.generating());
    EXPECT_NEAR(s.decode_rate(99), r.decode_tokens_per_second, 1e-9);  // idle: the last turn's
    // A turn too short for a tick still adds its rate to the sparkline.
    ASSERT_EQ(s.samples().size(), 1u);
    EXPECT_NEAR(s.samples()[0], r.decode_tokens_per_second, 1e-9);

    s.begin_turn(10);
    s.token(10.2);
    s.token(10.3);
    s.end_turn({50, 46, 2, 0.2, 0.1, 0.1, "graph", "stop"}, 10.3);
    EXPECT_NEAR(*s.ttft_last(), 0.2, 1e-12);
    EXPECT_NEAR(*s.ttft_mean(), 0.35, 1e-12);
    EXPECT_EQ(s.total_tokens_in(), 30 + 4);
    EXPECT_EQ(s.total_tokens_out(), 8);
    s.clear_history();
    EXPECT_TRUE(s.turns().empty());
    EXPECT_FALSE(s.ttft_mean().has_value());
}

TEST(UiStats, TicksSampleTheRateAtMostFourTimesASecond) {
    LiveStats s;
    s.begin_turn(0);
    double t = 0;
    for (int i = 0; i < 300; ++i) {
        t += 0.01;
        s.token(t);
        s.tick(t);
    }
    // 3 s of decoding at 100 tokens/s: about 12 samples, each close to 100.
    EXPECT_GE(s.samples().size(), 11u);
    EXPECT_LE(s.samples().size(), 13u);
    for (size_t i = 4; i < s.samples().size(); ++i) EXPECT_NEAR(s.samples()[i], 100, 2);
    s.end_turn({1, 0, 300, 0.01, 0.001, 2.99, "eager", "stop"}, t);
    EXPECT_LE(s.samples().size(), 13u);  // sampled during the turn: no extra point at its end
}

TEST(UiStats, ViewShowsEveryFigureTheIssueAsksFor) {
    ModelInfo info;
    info.name = "m";
    info.backend = "cpu (AVX2, 2 threads)";
    info.memory_label = "HBM";
    info.threads = 2;
    info.dtype = "BF16";
    info.weight_bytes = 3 << 20;
    EngineStatus st;
    st.mode = ascent::ExecMode::Graph;
    st.context_used = 256;
    st.context_size = 1024;
    st.kv_allocated = 4 << 20;
    st.kv_used = 1 << 20;
    st.arena_bytes = 512 << 10;
    ascent::GraphInfo g;
    g.tokens = 1;
    g.nodes_recorded = 120;
    g.nodes_fused = 64;
    g.capture_seconds = 0.0123;
    st.graphs.push_back(g);
    LiveStats s;
    s.begin_turn(0);
    s.token(0.1);
    s.token(0.2);
    s.end_turn({10, 0, 2, 0.1, 0.05, 0.1, "eager→graph", "stop"}, 0.2);
    StatsInput in{&info, &st, &s, ascent::ExecMode::Graph, 40u << 20, 1.0};
    std::string all;
    for (const auto& l : stats_lines(in, 40)) {
        all += l.text + "\n";
        EXPECT_LE(display_width(l.text), 40) << l.text;
    }
    for (const char* want : {"decode", "10.0 tok/s", "prefill", "200 tok/s", "TTFT", "100.0 ms", "TPOT", "p50", "p90",
                             "in 10", "out 2", "256/1024", "25%", "Memory (HBM)", "3.0 MiB", "1.0 MiB / 4.0 MiB",
                             "512.0 KiB", "40.0 MiB", "cpu (AVX2, 2 threads)", "BF16", "graph", "12.3 ms", "120→64",
                             "eager→graph"})
        EXPECT_NE(all.find(want), std::string::npos) << want << " missing from\n" << all;
    // The compact strip fits its lines and keeps the most important figures first.
    const auto compact = compact_stats_lines(in, 60, 3);
    ASSERT_FALSE(compact.empty());
    EXPECT_LE(compact.size(), 3u);
    for (const auto& l : compact) EXPECT_LE(display_width(l.text), 60) << l.text;
    EXPECT_NE(compact[0].text.find("decode"), std::string::npos);
    EXPECT_EQ(mode_label(ascent::ExecMode::Graph, ascent::ExecMode::Eager), "eager→graph (next token)");
}

TEST(UiStats, Formats) {
    EXPECT_EQ(format_ms(0.0123), "12.3 ms");
    EXPECT_EQ(format_ms(0.00046), "0.46 ms");
    EXPECT_EQ(format_ms(1.5), "1.50 s");
    EXPECT_EQ(human_bytes(1536), "1.5 KiB");
    EXPECT_EQ(human_bytes(100), "100 B");
}
