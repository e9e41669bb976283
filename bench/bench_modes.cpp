// Eager against graph mode on decode steps of Qwen2-0.5B's shape (models/cards/qwen2-0.5b, dummy
// weights): two sessions on one backend take turns step by step, so a machine whose bandwidth
// changes by the minute slows both alike and their ratio means something, which whole bench
// iterations a few seconds apart cannot promise. Counters: median step time of each mode, the
// mean of graph/eager over the step pairs, and the share of pairs graph won.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "engine/session.h"
#include "models/loader.h"

using namespace ascent;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void BM_DecodeStepEagerVsGraph(benchmark::State& state) {
    const int steps = static_cast<int>(state.range(0));
    BackendOptions bo;
    bo.threads = 2;
    auto m = models::load_model(ASCENT_BENCH_CARDS "/qwen2-0.5b", bo, models::LoadFormat::Dummy, 0);
    SessionOptions so;
    so.context = 1024;
    so.mode = ExecMode::Eager;
    Session eager(*m->backend, *m->model, so);
    so.mode = ExecMode::Graph;
    Session graph(*m->backend, *m->model, so);
    std::vector<int32_t> prompt(128);
    for (int i = 0; i < 128; ++i) prompt[static_cast<size_t>(i)] = 1000 + i;
    eager.feed(prompt);
    graph.feed(prompt);
    Session* sessions[2] = {&eager, &graph};
    std::vector<double> ms[2];
    for (auto _ : state) {
        for (int i = 0; i < 2 * steps; ++i) {
            Session& s = *sessions[i % 2];
            const int32_t token = 500 + i / 2 % 100;
            const auto t0 = std::chrono::steady_clock::now();
            s.feed(std::span<const int32_t>(&token, 1));
            ms[i % 2].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            if (s.n_past() >= so.context) s.rewind(128);
        }
    }
    double ratio = 0;
    int graph_won = 0;
    for (size_t i = 0; i < ms[0].size(); ++i) {
        ratio += ms[1][i] / ms[0][i];
        graph_won += ms[1][i] < ms[0][i];
    }
    state.counters["eager_ms"] = median(ms[0]);
    state.counters["graph_ms"] = median(ms[1]);
    state.counters["graph_over_eager"] = ratio / static_cast<double>(ms[0].size());
    state.counters["graph_won"] = static_cast<double>(graph_won) / static_cast<double>(ms[0].size());
}
BENCHMARK(BM_DecodeStepEagerVsGraph)->ArgName("steps")->Arg(400)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
