// Matmul micro-benchmarks on the shapes of Qwen2-0.5B (hidden 896, intermediate 4864, 14 q heads
// and 2 kv heads of 64, vocab 151936, 24 layers), 2 threads, against the machine probes:
//  - decode (1 token) is bandwidth bound: GB/s of weights read, and that as a fraction of the
//    measured read bandwidth (counter bw_frac);
//  - prefill (128 / 512 tokens) is compute bound: GFLOP/s, and that as a fraction of the measured
//    BF16 dot-product peak (counter peak_frac).
// Decode sweeps all 24 layers, so the weights (~1 GB with the LM head) come from memory, not cache.
// Paths (first argument): 0 = what the engine picks (AMX where present), 1 = the portable
// Highway path, 2 = the x86 AVX-512 path without AMX (vdpbf16ps prefill).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/cpu/decode_prefetch.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/matmul_path.h"
#include "engine/cpu/probes.h"
#include "engine/cpu/thread_pool.h"

using namespace ascent;
using namespace ascent::cpu;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kThreads = 2;
constexpr int kLayers = 24;
constexpr int64_t kHidden = 896;
constexpr int64_t kVocab = 151936;

struct Shape {
    const char* name;
    int64_t n_out, in;
};
// One transformer layer: q, k, v, o, gate, up, down.
constexpr Shape kLayerShapes[] = {{"q", 896, 896},     {"k", 128, 896},   {"v", 128, 896},   {"o", 896, 896},
                                  {"gate", 4864, 896}, {"up", 4864, 896}, {"down", 896, 4864}};

// The benchmarks run on kThreads threads; a few also on one, which shows the kernels' own
// efficiency when the machine is shared and the second core is busy.
int g_threads = kThreads;

ThreadPool& pool() {
    static ThreadPool one(1), all(kThreads);
    return g_threads == 1 ? one : all;
}

// Selects the pool for the rest of the benchmark (its argument "threads").
void use_threads(int64_t threads) { g_threads = threads == 1 ? 1 : kThreads; }

ThreadPool& pool_of(int threads) {
    const int saved = g_threads;
    g_threads = threads;
    ThreadPool& p = pool();
    g_threads = saved;
    return p;
}

const MatmulPath& path_arg(int64_t which) {
    if (which == 1) return hwy_matmul_path();
    if (which == 2) return matmul_path_for("avx512bf16");
    return matmul_path_for(nullptr);
}

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

// A weight matrix filled with small pseudo-random values in its storage type.
class Matrix {
public:
    Matrix(DType t, int64_t n_out, int64_t in) : type_(t), n_out_(n_out), in_(in) {
        const size_t n = static_cast<size_t>(n_out * in);
        bytes_ = n * dtype_size(t);
        data_.reset(std::aligned_alloc(64, (bytes_ + 63) / 64 * 64));
        uint32_t s = static_cast<uint32_t>(n_out * 7919 + in);
        for (size_t i = 0; i < n; ++i) {
            s = s * 1664525u + 1013904223u;
            const float v = static_cast<float>(static_cast<int32_t>(s) >> 8) * (1.f / 8388608.f) * 0.1f;
            switch (t) {
                case DType::F32: static_cast<float*>(data_.get())[i] = v; break;
                case DType::BF16: static_cast<uint16_t*>(data_.get())[i] = f32_to_bf16(v); break;
                case DType::F16: static_cast<uint16_t*>(data_.get())[i] = f32_to_f16(v); break;
            }
        }
    }
    const void* data() const { return data_.get(); }
    DType type() const { return type_; }
    int64_t n_out() const { return n_out_; }
    int64_t in() const { return in_; }
    size_t bytes() const { return bytes_; }

private:
    DType type_;
    int64_t n_out_, in_;
    size_t bytes_;
    std::unique_ptr<void, FreeDeleter> data_;
};

// All layers of the model plus the LM head, allocated once per weight type.
struct Model {
    std::vector<Matrix> layers;  // kLayers x 7, in layer order
    std::unique_ptr<Matrix> lm_head;
    size_t bytes = 0;
};

const Model& model(DType t) {
    static std::unique_ptr<Model> models[3];
    auto& m = models[static_cast<int>(t)];
    if (!m) {
        m = std::make_unique<Model>();
        for (int l = 0; l < kLayers; ++l)
            for (const Shape& s : kLayerShapes) {
                m->layers.emplace_back(t, s.n_out, s.in);
                m->bytes += m->layers.back().bytes();
            }
        m->lm_head = std::make_unique<Matrix>(t, kVocab, kHidden);
        m->bytes += m->lm_head->bytes();
    }
    return *m;
}

// The probes, measured once per run so every ratio in the run uses the same reference.
double read_bandwidth() {
    static const double bw[2] = {measure_read_bandwidth(pool_of(1), 0.5), measure_read_bandwidth(pool_of(kThreads), 0.5)};
    return bw[g_threads == 1 ? 0 : 1];
}
const PeakFlops& bf16_peak() {
    static const PeakFlops peak[2] = {measure_bf16_peak(pool_of(1), 0.5), measure_bf16_peak(pool_of(kThreads), 0.5)};
    return peak[g_threads == 1 ? 0 : 1];
}
const PeakFlops& amx_peak() {
    static const PeakFlops peak[2] = {measure_amx_bf16_peak(pool_of(1), 0.5),
                                      measure_amx_bf16_peak(pool_of(kThreads), 0.5)};
    return peak[g_threads == 1 ? 0 : 1];
}

std::vector<float> activations(int64_t rows, int64_t in) {
    std::vector<float> x(static_cast<size_t>(rows * in));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 101) * 0.01f - 0.5f;
    return x;
}

// Side-by-side references, interleaved with the kernels in every benchmark iteration so that
// both see the same share of a busy machine (counters *_side). The probes above are measured
// once at the start of the run (counters bw_frac, peak_frac).

// Reads every weight of the model once with all threads, like the bandwidth probe; seconds.
double read_pass(const Model& m) {
    const MatmulPath& best = matmul_path_for(nullptr);
    std::vector<const Matrix*> all;
    for (const Matrix& w : m.layers) all.push_back(&w);
    all.push_back(m.lm_head.get());
    constexpr int64_t kSlices = 2 * kThreads;
    std::vector<float> sink(all.size() * kSlices);
    const auto t0 = Clock::now();
    pool().run(static_cast<int64_t>(sink.size()), [&](int64_t task, int) {
        const Matrix& w = *all[static_cast<size_t>(task / kSlices)];
        const size_t slice = w.bytes() / kSlices / 256 * 256, s = static_cast<size_t>(task % kSlices);
        sink[static_cast<size_t>(task)] = best.read_sum(static_cast<const std::byte*>(w.data()) + s * slice, slice);
    });
    const double t = std::chrono::duration<double>(Clock::now() - t0).count();
    benchmark::DoNotOptimize(sink.data());
    return t;
}

// Runs the vdpbf16ps peak loop on all threads for about `seconds`; returns FLOP/s.
double peak_pass(double seconds) {
    const MatmulPath& best = matmul_path_for(nullptr);
    static int64_t iterations = [&] {
        int64_t n = 1 << 14;
        const auto t0 = Clock::now();
        best.peak_loop(n);
        return std::max<int64_t>(n, static_cast<int64_t>(n * 0.002 / std::chrono::duration<double>(Clock::now() - t0).count()));
    }();  // ~2 ms per call
    const int64_t calls = std::max<int64_t>(1, static_cast<int64_t>(seconds / 0.002)) * g_threads;
    std::vector<double> flops(static_cast<size_t>(calls));
    const auto t0 = Clock::now();
    pool().run(calls, [&](int64_t c, int) { flops[static_cast<size_t>(c)] = best.peak_loop(iterations); });
    const double t = std::chrono::duration<double>(Clock::now() - t0).count();
    double sum = 0;
    for (double f : flops) sum += f;
    return sum / t;
}

// One matmul as the backend will run it: prepare the input once, then split the outputs.
void run_matmul(const MatmulPath& path, MatmulInput& input, const std::vector<float>& x, int64_t rows,
                const Matrix& w, std::vector<float>& y) {
    input.prepare(path, x.data(), rows, w.in(), w.in(), w.type(), &pool());
    matmul(pool(), input, w.data(), w.type(), w.n_out(), nullptr, y.data(), w.n_out());
}

// ------------------------------------------------------------------------------------------
// Probes

void BM_ReadBandwidth(benchmark::State& state) {
    use_threads(state.range(0));
    double bw = 0;
    for (auto _ : state) bw = measure_read_bandwidth(pool(), 0.5);
    state.counters["GB/s"] = bw / 1e9;
    state.counters["buffer_MiB"] = static_cast<double>(default_bandwidth_buffer_bytes() >> 20);
}
BENCHMARK(BM_ReadBandwidth)->ArgName("threads")->Arg(1)->Arg(kThreads)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Bf16Peak(benchmark::State& state) {
    use_threads(state.range(0));
    PeakFlops p{};
    for (auto _ : state) p = measure_bf16_peak(pool(), 0.5);
    state.counters["GFLOP/s"] = p.flops_per_second / 1e9;
    state.SetLabel(p.kernel);
}
BENCHMARK(BM_Bf16Peak)->ArgName("threads")->Arg(1)->Arg(kThreads)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AmxPeak(benchmark::State& state) {
    use_threads(state.range(0));
    PeakFlops p{};
    for (auto _ : state) p = measure_amx_bf16_peak(pool(), 0.5);
    state.counters["GFLOP/s"] = p.flops_per_second / 1e9;
    state.SetLabel(p.kernel);
}
BENCHMARK(BM_AmxPeak)->ArgName("threads")->Arg(1)->Arg(kThreads)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// ------------------------------------------------------------------------------------------
// Decode: all 24 layers (and optionally the LM head), one token or a batch of a few (one per
// sequence of a batched decode step).

// Fused: q/k/v and gate/up each in one hand-out of work (matmul() with several outputs). Rows:
// 1 is decode; a few are a small batch, still bandwidth bound.
void decode_model(benchmark::State& state, const MatmulPath& path, DType type, bool with_head, bool fused,
                  int64_t rows, int64_t threads) {
    use_threads(threads);
    const Model& m = model(type);
    const double bw = read_bandwidth();
    const auto x_hidden = activations(rows, kHidden), x_inter = activations(rows, 4864);
    std::vector<float> y(static_cast<size_t>(rows * kVocab)), y2(static_cast<size_t>(rows * 4864)),
        y3(static_cast<size_t>(rows * 4864));
    MatmulInput input;
    double seconds = 0, read_seconds = 0;
    size_t bytes = 0, read_bytes = 0;
    const size_t per_layer = std::size(kLayerShapes);
    for (auto _ : state) {
        read_seconds += read_pass(m);
        read_bytes += m.bytes;
        const auto t0 = Clock::now();
        for (size_t l = 0; l < m.layers.size(); l += per_layer) {
            const Matrix* w = &m.layers[l];  // q k v o gate up down
            if (fused) {
                input.prepare(path, x_hidden.data(), rows, kHidden, kHidden, type, &pool());
                const MatmulOutput qkv[] = {{w[0].data(), w[0].n_out(), nullptr, y.data(), w[0].n_out()},
                                            {w[1].data(), w[1].n_out(), nullptr, y2.data(), w[1].n_out()},
                                            {w[2].data(), w[2].n_out(), nullptr, y3.data(), w[2].n_out()}};
                matmul(pool(), input, type, qkv);
                run_matmul(path, input, x_hidden, rows, w[3], y);
                input.prepare(path, x_hidden.data(), rows, kHidden, kHidden, type, &pool());
                const MatmulOutput gate_up[] = {{w[4].data(), w[4].n_out(), nullptr, y2.data(), w[4].n_out()},
                                                {w[5].data(), w[5].n_out(), nullptr, y3.data(), w[5].n_out()}};
                matmul(pool(), input, type, gate_up);
                run_matmul(path, input, x_inter, rows, w[6], y);
            } else {
                for (size_t i = 0; i < per_layer; ++i)
                    run_matmul(path, input, w[i].in() == kHidden ? x_hidden : x_inter, rows, w[i], y);
            }
            for (size_t i = 0; i < per_layer; ++i) bytes += w[i].bytes();
        }
        if (with_head) {
            run_matmul(path, input, x_hidden, rows, *m.lm_head, y);
            bytes += m.lm_head->bytes();
        }
        seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    }
    const double rate = static_cast<double>(bytes) / seconds;
    state.counters["GB/s"] = rate / 1e9;
    state.counters["bw_frac"] = rate / bw;
    state.counters["bw_frac_side"] = rate / (static_cast<double>(read_bytes) / read_seconds);
    state.SetLabel(path.name + " " + std::string(dtype_name(type)) + (fused ? " fused" : ""));
}

void BM_DecodeModel(benchmark::State& state) {
    decode_model(state, path_arg(state.range(0)), static_cast<DType>(state.range(1)), state.range(2) != 0,
                 state.range(3) != 0, state.range(4), state.range(5));
}
BENCHMARK(BM_DecodeModel)
    ->ArgNames({"path", "dtype", "head", "fused", "rows", "threads"})
    ->Args({0, static_cast<int64_t>(DType::BF16), 1, 0, 1, kThreads})
    ->Args({0, static_cast<int64_t>(DType::BF16), 1, 1, 1, kThreads})
    ->Args({0, static_cast<int64_t>(DType::BF16), 1, 0, 1, 1})
    ->Args({1, static_cast<int64_t>(DType::BF16), 1, 0, 1, kThreads})
    ->Args({0, static_cast<int64_t>(DType::F16), 0, 0, 1, kThreads})
    ->Args({0, static_cast<int64_t>(DType::BF16), 1, 1, 4, kThreads})
    ->Args({0, static_cast<int64_t>(DType::BF16), 1, 1, 8, kThreads})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The decode step's products (BF16, fused, with the LM head) with the decode rows prefetching
// `bytes` ahead (decode_prefetch.h): which distance suits this machine. Compare bw_frac_side.
void BM_DecodePrefetch(benchmark::State& state) {
    const size_t decode = decode_prefetch_bytes(), tiles = tile_prefetch_bytes();
    set_decode_prefetch_bytes(static_cast<size_t>(state.range(0)));
    decode_model(state, path_arg(0), DType::BF16, true, true, 1, kThreads);
    set_decode_prefetch_bytes(decode, tiles);
}
BENCHMARK(BM_DecodePrefetch)
    ->ArgName("bytes")
    ->Arg(0)->Arg(1024)->Arg(1536)->Arg(2048)->Arg(2560)->Arg(3072)->Arg(3584)->Arg(4096)->Arg(6144)->Arg(8192)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Decode of one shape, cycling through the 24 layers' copies of it.
void BM_DecodeShape(benchmark::State& state) {
    use_threads(kThreads);
    const MatmulPath& path = path_arg(state.range(0));
    const Shape& shape = kLayerShapes[state.range(1)];
    const Model& m = model(DType::BF16);
    const double bw = read_bandwidth();
    const auto x = activations(1, shape.in);
    std::vector<float> y(static_cast<size_t>(shape.n_out));
    MatmulInput input;
    const size_t index = static_cast<size_t>(state.range(1));
    double seconds = 0;
    size_t bytes = 0;
    for (auto _ : state) {
        const auto t0 = Clock::now();
        for (int l = 0; l < kLayers; ++l) {
            const Matrix& w = m.layers[static_cast<size_t>(l) * std::size(kLayerShapes) + index];
            run_matmul(path, input, x, 1, w, y);
            bytes += w.bytes();
        }
        seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    }
    const double rate = static_cast<double>(bytes) / seconds;
    state.counters["GB/s"] = rate / 1e9;
    state.counters["bw_frac"] = rate / bw;
    state.SetLabel(path.name + " " + shape.name);
}
BENCHMARK(BM_DecodeShape)
    ->ArgNames({"path", "shape"})
    ->ArgsProduct({{0}, {0, 1, 4, 6}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ------------------------------------------------------------------------------------------
// Prefill: one layer's matmuls (or one shape) on `rows` tokens.

void BM_Prefill(benchmark::State& state) {
    const MatmulPath& path = path_arg(state.range(0));
    const int64_t rows = state.range(1);
    const int64_t shape = state.range(2);  // -1: the whole layer
    const DType type = static_cast<DType>(state.range(3));
    use_threads(state.range(4));
    const double peak = bf16_peak().flops_per_second;
    std::vector<std::unique_ptr<Matrix>> ws;
    for (int64_t s = 0; s < static_cast<int64_t>(std::size(kLayerShapes)); ++s)
        if (shape < 0 || s == shape)
            ws.push_back(std::make_unique<Matrix>(type, kLayerShapes[s].n_out, kLayerShapes[s].in));
    const auto x_hidden = activations(rows, kHidden), x_inter = activations(rows, 4864);
    std::vector<float> y(static_cast<size_t>(rows * 4864));
    MatmulInput input;
    double seconds = 0, flops = 0, side_rate_sum = 0;
    int64_t iterations = 0;
    for (auto _ : state) {
        side_rate_sum += peak_pass(0.01);
        ++iterations;
        const auto t0 = Clock::now();
        for (const auto& w : ws) {
            run_matmul(path, input, w->in() == kHidden ? x_hidden : x_inter, rows, *w, y);
            flops += 2.0 * static_cast<double>(rows * w->n_out() * w->in());
        }
        seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    }
    const double rate = flops / seconds;
    state.counters["GFLOP/s"] = rate / 1e9;
    state.counters["peak_frac"] = rate / peak;
    state.counters["peak_frac_side"] = rate / (side_rate_sum / static_cast<double>(iterations));
    if (amx_peak().flops_per_second > 0) state.counters["amx_peak_frac"] = rate / amx_peak().flops_per_second;
    state.SetLabel(path.name + " " + std::string(dtype_name(type)) + " " +
                   (shape < 0 ? "layer" : kLayerShapes[shape].name));
}
BENCHMARK(BM_Prefill)
    ->ArgNames({"path", "rows", "shape", "dtype", "threads"})
    ->ArgsProduct({{0, 2}, {32, 128, 512}, {-1}, {static_cast<int64_t>(DType::BF16)}, {kThreads}})
    ->ArgsProduct({{0, 2}, {512}, {0, 1, 3, 4, 6}, {static_cast<int64_t>(DType::BF16)}, {kThreads}})
    ->ArgsProduct({{0, 2}, {32, 512}, {-1}, {static_cast<int64_t>(DType::BF16)}, {1}})
    ->Args({1, 128, -1, static_cast<int64_t>(DType::BF16), kThreads})
    ->Args({0, 128, -1, static_cast<int64_t>(DType::F16), kThreads})
    ->Args({0, 128, -1, static_cast<int64_t>(DType::F32), kThreads})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
