// The decode products' prefetch distance (engine/cpu/decode_prefetch.h): how it is configured,
// and that no distance changes a result or reads where it must not.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/decode_prefetch.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/matmul_path.h"
#include "engine/error.h"

using namespace ascent;
using namespace ascent::cpu;

namespace {

// Restores the process-wide distances when a test ends.
struct KeepDistance {
    size_t decode = decode_prefetch_bytes(), tiles = tile_prefetch_bytes();
    ~KeepDistance() { set_decode_prefetch_bytes(decode, tiles); }
};

// A BF16 weight matrix whose last byte is the last of a mapping followed by unmapped pages, so a
// read (not a prefetch) past its end faults.
class GuardedWeights {
public:
    GuardedWeights(int64_t n_out, int64_t in) : bytes_(static_cast<size_t>(n_out * in) * 2) {
        const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        const size_t used = (bytes_ + page - 1) / page * page;
        mapped_ = used + kGuard;
        base_ = static_cast<std::byte*>(mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (base_ == MAP_FAILED) throw std::runtime_error("mmap failed");
        if (mprotect(base_ + used, kGuard, PROT_NONE) != 0) throw std::runtime_error("mprotect failed");
        data_ = reinterpret_cast<uint16_t*>(base_ + used - bytes_);
        std::mt19937 g(7);
        std::normal_distribution<float> d(0.f, 0.5f);
        for (size_t i = 0; i < bytes_ / 2; ++i) data_[i] = f32_to_bf16(d(g));
    }
    ~GuardedWeights() { munmap(base_, mapped_); }
    const uint16_t* data() const { return data_; }

private:
    static constexpr size_t kGuard = kMaxDecodePrefetchBytes + (size_t{64} << 10);
    size_t bytes_, mapped_ = 0;
    std::byte* base_ = nullptr;
    uint16_t* data_ = nullptr;
};

}  // namespace

TEST(DecodePrefetch, EnvironmentValuesAreBytesInWholeCacheLines) {
    EXPECT_EQ(parse_decode_prefetch_bytes(nullptr), default_decode_prefetch_bytes());
    EXPECT_EQ(parse_decode_prefetch_bytes(""), default_decode_prefetch_bytes());
    EXPECT_EQ(parse_decode_prefetch_bytes("0"), 0u);
    EXPECT_EQ(parse_decode_prefetch_bytes("3072"), 3072u);
    EXPECT_EQ(parse_decode_prefetch_bytes("65536"), kMaxDecodePrefetchBytes);
    for (const char* bad : {"100", "-64", "+64", "3k", "abc", "65600", "99999999999999999999999", " 64"}) {
        try {
            parse_decode_prefetch_bytes(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("ASCENT_DECODE_PREFETCH=" + std::string(bad)), std::string::npos)
                << e.what();
        }
    }
    const size_t d = default_decode_prefetch_bytes();
    EXPECT_TRUE(d % 64 == 0 && d > 0 && d <= kMaxDecodePrefetchBytes) << d;
}

// Decode rows prefetch up to 64 KiB past the matrix's last row, tiles of a few tokens up to
// 128 KiB; those prefetches must neither fault nor change a result, whatever the distance.
TEST(DecodePrefetch, NoDistanceChangesAResultOrFaultsPastTheWeights) {
    KeepDistance keep;
    constexpr int64_t kOut = 37, kIn = 1000;  // not multiples of the rows or lanes handled together
    GuardedWeights w(kOut, kIn);
    std::mt19937 g(3);
    std::normal_distribution<float> d(0.f, 1.f);
    for (const int64_t tokens : {1, 4}) {  // decode rows, and the tiles of a few tokens
        std::vector<float> x(static_cast<size_t>(tokens * kIn));
        for (float& v : x) v = d(g);
        for (const MatmulPath* path : matmul_paths()) {
            std::vector<std::vector<float>> results;
            for (size_t ahead : {size_t{0}, size_t{64}, size_t{1536}, size_t{3072}, size_t{4096}, kMaxDecodePrefetchBytes}) {
                set_decode_prefetch_bytes(ahead);
                MatmulInput input;
                input.prepare(*path, x.data(), tokens, kIn, kIn, DType::BF16);
                std::vector<float> y(static_cast<size_t>(tokens * kOut));
                matmul_rows(input, w.data(), DType::BF16, 0, kOut, nullptr, y.data(), kOut);
                results.push_back(y);
            }
            for (size_t i = 1; i < results.size(); ++i)
                EXPECT_EQ(std::memcmp(results[i].data(), results[0].data(), results[0].size() * sizeof(float)), 0)
                    << path->name << ", " << tokens << " tokens, distance #" << i;
        }
    }
}

TEST(DecodePrefetch, TilesPrefetchTwiceTheDistanceSetAndTheirOwnDefaultOtherwise) {
    KeepDistance keep;
    const size_t tiles = default_tile_prefetch_bytes();
    EXPECT_TRUE(tiles % 64 == 0 && tiles >= default_decode_prefetch_bytes() && tiles <= 2 * kMaxDecodePrefetchBytes)
        << tiles;
    set_decode_prefetch_bytes(1536);
    EXPECT_EQ(decode_prefetch_bytes(), 1536u);
    EXPECT_EQ(tile_prefetch_bytes(), 3072u);
    set_decode_prefetch_bytes(0);
    EXPECT_EQ(tile_prefetch_bytes(), 0u);
    set_decode_prefetch_bytes(2048, 4096);
    EXPECT_EQ(decode_prefetch_bytes(), 2048u);
    EXPECT_EQ(tile_prefetch_bytes(), 4096u);
}

// The environment is read once per process, so this runs the test binary again: once without
// ASCENT_DECODE_PREFETCH (the CPU's defaults) and once with it (the tiles twice that value).
TEST(DecodePrefetch, EnvironmentSetsBothDistancesInAFreshProcess) {
    const char* env = std::getenv("ASCENT_DECODE_PREFETCH");
    const char* expect = std::getenv("ASCENT_TEST_EXPECT_DEFAULTS");
    if (expect != nullptr) {  // the child
        if (std::string(expect) == "1") {
            EXPECT_EQ(decode_prefetch_bytes(), default_decode_prefetch_bytes());
            EXPECT_EQ(tile_prefetch_bytes(), default_tile_prefetch_bytes());
        } else {
            ASSERT_NE(env, nullptr);
            EXPECT_EQ(decode_prefetch_bytes(), 640u);
            EXPECT_EQ(tile_prefetch_bytes(), 1280u);
        }
        return;
    }
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::string run = "'" + self + "' --gtest_filter=DecodePrefetch.EnvironmentSetsBothDistancesInAFreshProcess"
                            " > /dev/null 2>&1";
    EXPECT_EQ(std::system(("env -u ASCENT_DECODE_PREFETCH ASCENT_TEST_EXPECT_DEFAULTS=1 " + run).c_str()), 0);
    EXPECT_EQ(std::system(("ASCENT_DECODE_PREFETCH=640 ASCENT_TEST_EXPECT_DEFAULTS=0 " + run).c_str()), 0);
}
