#include "bench/trace_file.h"

#include <algorithm>
#include <fmt/format.h>
#include <limits>
#include <map>
#include <tuple>

namespace ascent::bench {

namespace {

using nlohmann::json;

constexpr int kStepTrack = 0;  // steps and kernels; thread t's tasks are on track t + 1

struct Kernel {
    int64_t begin, end;
    const std::string* kind;
};

// The kernel a task ran in: the last call that began at or before it and had not ended.
const std::string* enclosing(const std::vector<Kernel>& kernels, int64_t begin) {
    auto it = std::upper_bound(kernels.begin(), kernels.end(), begin, [](int64_t t, const Kernel& k) { return t < k.begin; });
    if (it == kernels.begin()) return nullptr;
    --it;
    return begin <= it->end ? it->kind : nullptr;
}

json complete_event(const std::string& name, const char* cat, int pid, int tid, int64_t begin, int64_t end, int64_t origin) {
    return {{"name", name}, {"cat", cat},  {"ph", "X"},
            {"ts", static_cast<double>(begin - origin) / 1e3},  // microseconds
            {"dur", static_cast<double>(end - begin) / 1e3},
            {"pid", pid}, {"tid", tid}};
}

json metadata(const char* what, int pid, int tid, const json& args) {
    return {{"name", what}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", args}};
}

}  // namespace

json chrome_trace(const Report& r) {
    json events = json::array();
    // A request's phases share a process, in the order the bench ran them.
    std::map<std::tuple<int64_t, int64_t, int>, std::vector<const PhaseProfile*>> requests;
    std::vector<std::tuple<int64_t, int64_t, int>> order;
    for (const PhaseProfile& p : r.profiles) {
        const auto key = std::make_tuple(p.input_len, p.output_len, static_cast<int>(p.mode));
        if (!requests.contains(key)) order.push_back(key);
        requests[key].push_back(&p);
    }
    int pid = 0;
    for (const auto& key : order) {
        ++pid;
        const auto& phases = requests[key];
        const PhaseProfile& first = *phases.front();
        int64_t origin = std::numeric_limits<int64_t>::max();
        int threads = r.threads;  // a thread that ran no task still gets its (empty) track
        for (const PhaseProfile* p : phases) {
            for (const auto& [b, e] : p->traced_steps) origin = std::min(origin, b);
            for (const ThreadSpan& s : p->profile.thread_spans) threads = std::max(threads, s.thread + 1);
        }
        if (origin == std::numeric_limits<int64_t>::max()) continue;  // nothing traced
        events.push_back(metadata("process_name", pid, 0,
                                  {{"name", fmt::format("{} in={} out={}", mode_name(first.mode), first.input_len,
                                                        first.output_len)}}));
        events.push_back(metadata("process_sort_index", pid, 0, {{"sort_index", pid}}));
        events.push_back(metadata("thread_name", pid, kStepTrack, {{"name", "steps and kernels (caller)"}}));
        for (int t = 0; t < threads; ++t)
            events.push_back(metadata("thread_name", pid, t + 1,
                                      {{"name", t == 0 ? std::string("thread 0 tasks (caller)") : fmt::format("thread {} tasks", t)}}));
        for (const PhaseProfile* p : phases) {
            const StepProfile& prof = p->profile;
            size_t step = 0;
            for (const auto& [b, e] : p->traced_steps) {
                const std::string name = p->phase == "prefill" ? fmt::format("prefill ({} tokens)", p->input_len)
                                                               : fmt::format("decode step {}", ++step);
                events.push_back(complete_event(name, "step", pid, kStepTrack, b, e, origin));
            }
            std::vector<Kernel> kernels;
            for (const KernelSpan& k : prof.kernel_spans) {
                const std::string& kind = prof.span_kinds[static_cast<size_t>(k.kind)];
                kernels.push_back({k.begin_ns, k.end_ns, &kind});
                events.push_back(complete_event(kind, "kernel", pid, kStepTrack, k.begin_ns, k.end_ns, origin));
            }
            std::sort(kernels.begin(), kernels.end(), [](const Kernel& a, const Kernel& b) { return a.begin < b.begin; });
            for (const ThreadSpan& s : prof.thread_spans) {
                const std::string* kind = enclosing(kernels, s.begin_ns);
                events.push_back(complete_event(kind ? *kind : std::string("task"), "task", pid, s.thread + 1, s.begin_ns,
                                                s.end_ns, origin));
            }
        }
    }
    return {{"traceEvents", std::move(events)},
            {"displayTimeUnit", "ns"},
            {"otherData", {{"model", r.model}, {"backend", r.backend}, {"threads", r.threads}}}};
}

}  // namespace ascent::bench
