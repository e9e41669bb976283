// safetensors reading, writing and model-folder weights. Valid files come from the
// writer or are spelled out byte by byte from the format description; damaged ones
// are made by editing real writer output, so each test names the one thing wrong.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/weights/safetensors.h"
#include "engine/weights/safetensors_writer.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace ascent;

namespace {

fs::path fresh_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    fs::path dir = fs::path(ASCENT_TEST_TMP) / "safetensors" /
                   (std::string(info->test_suite_name()) + "." + info->name() + "." + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::string read_all(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& file, const std::string& bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
    return s;
}

// A file spelled out from the format description, independent of the writer.
void write_raw(const fs::path& file, const std::string& header, const std::string& data) {
    write_all(file, u64_le(header.size()) + header + data);
}

std::string f32_bytes(std::initializer_list<float> values) {
    std::string s;
    for (float v : values) s.append(reinterpret_cast<const char*>(&v), 4);
    return s;
}

// Byte surgery on real writer output: rewrite the header, keep the data area.
void edit_header(const fs::path& file, const std::function<void(json&)>& edit) {
    std::string bytes = read_all(file);
    uint64_t len;
    std::memcpy(&len, bytes.data(), 8);
    json header = json::parse(bytes.substr(8, len));
    edit(header);
    write_raw(file, header.dump(), bytes.substr(8 + len));
}

TensorToWrite f32_tensor(const std::string& name, std::vector<int64_t> shape, std::vector<float> values) {
    return tensor_from_f32(name, DType::F32, std::move(shape), values);
}

// A small valid file: a [2,2] F32 tensor "a" then a [3] F32 tensor "b".
fs::path two_tensor_file(const fs::path& dir) {
    fs::path file = dir / "model.safetensors";
    write_safetensors(file, {f32_tensor("a", {2, 2}, {1, 2, 3, 4}), f32_tensor("b", {3}, {5, 6, 7})});
    return file;
}

// Runs fn and checks it throws an input error whose message holds every fragment.
void expect_input_error(const std::function<void()>& fn, std::initializer_list<std::string> fragments) {
    try {
        fn();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Input) << e.what();
        for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos)
                                            << "missing '" << f << "' in: " << e.what();
        return;
    }
    ADD_FAILURE() << "no ascent::Error thrown";
}

void expect_file_error(const fs::path& file, std::initializer_list<std::string> fragments) {
    std::vector<std::string> all(fragments);
    all.push_back(file.string());
    try {
        SafetensorsFile::open(file);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Input) << e.what();
        for (const auto& f : all) EXPECT_NE(std::string(e.what()).find(f), std::string::npos)
                                      << "missing '" << f << "' in: " << e.what();
        return;
    }
    ADD_FAILURE() << "no ascent::Error thrown for " << file;
}

}  // namespace

// ---- valid files --------------------------------------------------------------

TEST(Safetensors, RoundTripsEveryDtype) {
    fs::path file = fresh_dir() / "model.safetensors";
    std::vector<TensorToWrite> tensors{
        tensor_from_f32("w.f32", DType::F32, {2, 3}, std::vector<float>{1.5f, -2.25f, 0.f, 1e-30f, 3.0e38f, -7.f}),
        // 1 + 2^-8 is a tie in bf16 and rounds to even (1.0); 1 + 3*2^-8 rounds up to 1 + 2^-6.
        tensor_from_f32("w.bf16", DType::BF16, {4}, std::vector<float>{1.f, -0.5f, 1.00390625f, 1.01171875f}),
        tensor_from_f32("w.f16", DType::F16, {2, 2}, std::vector<float>{65504.f, -1.f, 0.099975586f, 5.9604645e-8f}),
        tensor_from_f32("scalar", DType::F32, {}, std::vector<float>{42.f}),
        tensor_from_f32("empty", DType::BF16, {0, 4}, std::vector<float>{}),
    };
    write_safetensors(file, tensors, {{"format", "pt"}, {"note", "round trip"}});

    SafetensorsFile st = SafetensorsFile::open(file);
    EXPECT_EQ(st.metadata().at("format"), "pt");
    EXPECT_EQ(st.metadata().at("note"), "round trip");
    EXPECT_EQ(st.data_offset() % 8, 0u);
    EXPECT_EQ(st.file_size(), st.data_offset() + 24 + 8 + 8 + 4 + 0);
    ASSERT_EQ(st.tensors().size(), 5u);

    const StoredTensor* f32 = st.find("w.f32");
    ASSERT_NE(f32, nullptr);
    EXPECT_EQ(f32->dtype, DType::F32);
    EXPECT_EQ(f32->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(f32->numel(), 6);
    EXPECT_EQ(f32->nbytes, 24u);
    EXPECT_EQ(f32->file, file);
    const float want_f32[] = {1.5f, -2.25f, 0.f, 1e-30f, 3.0e38f, -7.f};
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ(stored_value_f32(*f32, i), want_f32[i]);

    const StoredTensor* bf16 = st.find("w.bf16");
    ASSERT_NE(bf16, nullptr);
    EXPECT_EQ(bf16->dtype, DType::BF16);
    uint16_t first;
    std::memcpy(&first, bf16->data, 2);
    EXPECT_EQ(first, 0x3f80);  // 1.0 in bf16
    const float want_bf16[] = {1.f, -0.5f, 1.f, 1.015625f};
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(stored_value_f32(*bf16, i), want_bf16[i]);

    const StoredTensor* f16 = st.find("w.f16");
    ASSERT_NE(f16, nullptr);
    std::memcpy(&first, f16->data, 2);
    EXPECT_EQ(first, 0x7bff);  // 65504, the largest f16
    const float want_f16[] = {65504.f, -1.f, 0.099975586f, 5.9604645e-8f};  // last one: smallest subnormal
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(stored_value_f32(*f16, i), want_f16[i]);

    const StoredTensor* scalar = st.find("scalar");
    ASSERT_NE(scalar, nullptr);
    EXPECT_TRUE(scalar->shape.empty());
    EXPECT_EQ(scalar->numel(), 1);
    EXPECT_EQ(stored_value_f32(*scalar, 0), 42.f);

    const StoredTensor* empty = st.find("empty");
    ASSERT_NE(empty, nullptr);
    EXPECT_EQ(empty->numel(), 0);
    EXPECT_EQ(empty->nbytes, 0u);
    EXPECT_THROW(stored_value_f32(*empty, 0), Error);

    // In place: tensors sit in the mapping at their offsets, in the order written.
    EXPECT_EQ(bf16->data - f32->data, 24);
    EXPECT_EQ(f16->data - bf16->data, 8);
    EXPECT_EQ(st.find("missing"), nullptr);
}

TEST(Safetensors, WriterPadsHeaderWithSpacesToEightBytes) {
    fs::path file = fresh_dir() / "x.safetensors";
    write_safetensors(file, {f32_tensor("abc", {1}, {1.f})});
    std::string bytes = read_all(file);
    uint64_t len;
    std::memcpy(&len, bytes.data(), 8);
    EXPECT_EQ((8 + len) % 8, 0u);
    ASSERT_GT(bytes.size(), 8 + len);
    std::string header = bytes.substr(8, len);
    EXPECT_EQ(header.front(), '{');
    EXPECT_EQ(json::parse(header)["abc"]["data_offsets"], json::parse("[0, 4]"));
    EXPECT_EQ(bytes.size(), 8 + len + 4);
}

TEST(Safetensors, ReadsAFileSpelledOutFromTheFormat) {
    // An odd-length header leaves the data area unaligned; readers must cope.
    fs::path file = fresh_dir() / "raw.safetensors";
    std::string header =
        R"({"__metadata__":{"k":"v"},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},)"
        R"("a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}})";
    if (header.size() % 2 == 0) header += ' ';
    std::string data = f32_bytes({2.5f, -1.f}) + std::string("\x40\x40\x80\xbf", 4);  // bf16 3.0, -1.0
    write_raw(file, header, data);

    SafetensorsFile st = SafetensorsFile::open(file);
    EXPECT_EQ(st.data_offset(), 8 + header.size());
    EXPECT_EQ(st.metadata().at("k"), "v");
    ASSERT_EQ(st.tensors().size(), 2u);
    EXPECT_EQ(st.tensors()[0].name, "a");  // sorted by name
    const StoredTensor& a = st.tensors()[0];
    EXPECT_EQ(stored_value_f32(a, 0), 2.5f);
    EXPECT_EQ(stored_value_f32(a, 1), -1.f);
    const StoredTensor& b = st.tensors()[1];
    EXPECT_EQ(b.dtype, DType::BF16);
    EXPECT_EQ(stored_value_f32(b, 0), 3.f);
    EXPECT_EQ(stored_value_f32(b, 1), -1.f);
}

TEST(Safetensors, EmptyHeaderIsAValidFileWithNoTensors) {
    fs::path file = fresh_dir() / "empty.safetensors";
    write_safetensors(file, {});
    SafetensorsFile st = SafetensorsFile::open(file);
    EXPECT_TRUE(st.tensors().empty());
    EXPECT_EQ(st.file_size(), st.data_offset());
}

// ---- damaged files ------------------------------------------------------------

TEST(SafetensorsErrors, FileShorterThanLengthPrefix) {
    fs::path dir = fresh_dir();
    write_all(dir / "empty.safetensors", "");
    expect_file_error(dir / "empty.safetensors", {"0 bytes", "too short"});
    write_all(dir / "five.safetensors", "abcde");
    expect_file_error(dir / "five.safetensors", {"5 bytes", "too short"});
}

TEST(SafetensorsErrors, MissingFileOrFolder) {
    fs::path dir = fresh_dir();
    expect_file_error(dir / "nope.safetensors", {"cannot open"});
    expect_file_error(dir, {"not a regular file"});
}

TEST(SafetensorsErrors, HeaderLengthLargerThanFile) {
    fs::path file = two_tensor_file(fresh_dir());
    std::string bytes = read_all(file);
    uint64_t len;
    std::memcpy(&len, bytes.data(), 8);
    write_all(file, bytes.substr(0, 8 + len / 2));  // truncated inside the header
    expect_file_error(file, {"header length " + std::to_string(len), "runs past the end"});
}

TEST(SafetensorsErrors, AbsurdHeaderLength) {
    fs::path file = two_tensor_file(fresh_dir());
    std::string bytes = read_all(file);
    write_all(file, u64_le(200'000'000) + bytes.substr(8));
    expect_file_error(file, {"200000000", "limit"});
    // A length near 2^64 must not wrap around any size computation.
    write_all(file, u64_le(~uint64_t{0}) + bytes.substr(8));
    expect_file_error(file, {"18446744073709551615", "limit"});
}

TEST(SafetensorsErrors, TruncatedDataArea) {
    fs::path file = two_tensor_file(fresh_dir());
    std::string bytes = read_all(file);
    write_all(file, bytes.substr(0, bytes.size() - 4));
    expect_file_error(file, {"tensor 'b'", "outside the data area"});
}

TEST(SafetensorsErrors, HeaderNotJson) {
    fs::path dir = fresh_dir();
    write_raw(dir / "a.safetensors", R"({"a": {"dtype": "F32", )", "");
    expect_file_error(dir / "a.safetensors", {"not valid JSON"});
    write_raw(dir / "b.safetensors", R"({"a": 1} trailing)", "");
    expect_file_error(dir / "b.safetensors", {"not valid JSON"});
    write_raw(dir / "c.safetensors", "{\"\xff\xfe\": 1}", "");
    expect_file_error(dir / "c.safetensors", {"not valid JSON"});
}

TEST(SafetensorsErrors, HeaderNotAnObject) {
    fs::path dir = fresh_dir();
    write_raw(dir / "a.safetensors", "[1, 2]", "");
    expect_file_error(dir / "a.safetensors", {"does not start with '{'"});
    write_raw(dir / "b.safetensors", "", "");
    expect_file_error(dir / "b.safetensors", {"does not start with '{'"});
}

TEST(SafetensorsErrors, DuplicateTensorName) {
    fs::path file = fresh_dir() / "dup.safetensors";
    write_raw(file,
              R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
              R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
              f32_bytes({1, 2}));
    expect_file_error(file, {"'a' twice"});
}

TEST(SafetensorsErrors, EntryFieldsMissingOrMistyped) {
    fs::path file = two_tensor_file(fresh_dir());
    const std::string original = read_all(file);
    struct Case {
        std::function<void(json&)> edit;
        std::vector<std::string> fragments;
    };
    std::vector<Case> cases{
        {[](json& h) { h["b"].erase("dtype"); }, {"tensor 'b'", "\"dtype\" is missing"}},
        {[](json& h) { h["b"].erase("shape"); }, {"tensor 'b'", "\"shape\" is missing"}},
        {[](json& h) { h["b"].erase("data_offsets"); }, {"tensor 'b'", "\"data_offsets\" is missing"}},
        {[](json& h) { h["b"]["dtype"] = 7; }, {"tensor 'b'", "\"dtype\" is not a string"}},
        {[](json& h) { h["b"]["shape"] = "3"; }, {"tensor 'b'", "\"shape\" is not an array"}},
        {[](json& h) { h["b"]["shape"] = json::array({1.5}); }, {"tensor 'b'", "dimension 0", "1.5"}},
        {[](json& h) { h["b"]["data_offsets"] = json::array({16}); }, {"tensor 'b'", "[begin, end]"}},
        {[](json& h) { h["b"]["data_offsets"] = json::array({16, "28"}); }, {"tensor 'b'", "[begin, end]"}},
        {[](json& h) { h["b"]["data_offsets"] = json::array({-4, 28}); }, {"tensor 'b'", "[begin, end]"}},
        {[](json& h) { h["b"] = json::array({1, 2}); }, {"tensor 'b'", "not a JSON object"}},
        {[](json& h) { h["__metadata__"] = json::array({"x"}); }, {"__metadata__ is not a JSON object"}},
        {[](json& h) { h["__metadata__"] = {{"format", "pt"}, {"n", 3}}; }, {"__metadata__", "'n'", "not a string"}},
    };
    for (const Case& c : cases) {
        write_all(file, original);
        edit_header(file, c.edit);
        try {
            SafetensorsFile::open(file);
            ADD_FAILURE() << "accepted, expected: " << c.fragments.back();
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::Input);
            EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
            for (const auto& f : c.fragments)
                EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << "missing '" << f << "' in " << e.what();
        }
    }
}

TEST(SafetensorsErrors, NegativeDimension) {
    fs::path file = two_tensor_file(fresh_dir());
    edit_header(file, [](json& h) { h["b"]["shape"] = json::array({-3}); });
    expect_file_error(file, {"tensor 'b'", "dimension 0 is negative (-3)"});
}

TEST(SafetensorsErrors, UnsupportedDtype) {
    fs::path file = two_tensor_file(fresh_dir());
    edit_header(file, [](json& h) {
        h["b"]["dtype"] = "I8";
        h["b"]["shape"] = json::array({12});
    });
    expect_file_error(file, {"tensor 'b'", "I8 is not supported (F32, BF16, F16 are)"});
}

TEST(SafetensorsErrors, ShapeDoesNotMatchOffsets) {
    fs::path file = two_tensor_file(fresh_dir());
    edit_header(file, [](json& h) { h["b"]["shape"] = json::array({2}); });
    expect_file_error(file, {"tensor 'b'", "shape [2] of F32 needs 8 bytes", "[16, 28] hold 12"});
}

TEST(SafetensorsErrors, BeginAfterEnd) {
    fs::path file = two_tensor_file(fresh_dir());
    edit_header(file, [](json& h) { h["b"]["data_offsets"] = json::array({28, 16}); });
    expect_file_error(file, {"tensor 'b'", "[28, 16] begin after they end"});
}

TEST(SafetensorsErrors, OffsetsOutsideDataArea) {
    fs::path file = two_tensor_file(fresh_dir());
    edit_header(file, [](json& h) { h["b"]["data_offsets"] = json::array({1u << 30, (1u << 30) + 12}); });
    expect_file_error(file, {"tensor 'b'", "outside the data area (28 bytes)"});
    // An end near 2^64 must not wrap when compared with the data size.
    edit_header(file, [](json& h) { h["b"]["data_offsets"] = json::array({~uint64_t{0} - 11, ~uint64_t{0}}); });
    expect_file_error(file, {"tensor 'b'", "outside the data area"});
}

TEST(SafetensorsErrors, OverlappingTensors) {
    fs::path file = two_tensor_file(fresh_dir());
    // b moved back over the end of a; the 4 bytes freed at the end become a hole,
    // but the overlap comes first in offset order and is what is reported.
    edit_header(file, [](json& h) { h["b"]["data_offsets"] = json::array({12, 24}); });
    expect_file_error(file, {"tensor 'b'", "overlaps tensor 'a'"});
}

TEST(SafetensorsErrors, HoleBetweenTensors) {
    fs::path file = two_tensor_file(fresh_dir());
    edit_header(file, [](json& h) {
        h["a"]["shape"] = json::array({3});
        h["a"]["data_offsets"] = json::array({0, 12});
    });
    expect_file_error(file, {"bytes [12, 16)", "before tensor 'b'", "holes"});
}

TEST(SafetensorsErrors, UnusedBytesAfterLastTensor) {
    fs::path file = two_tensor_file(fresh_dir());
    write_all(file, read_all(file) + std::string(6, '\0'));
    expect_file_error(file, {"last 6 bytes", "holes"});
}

TEST(SafetensorsErrors, OverflowingShapes) {
    fs::path file = two_tensor_file(fresh_dir());
    const std::string original = read_all(file);
    const uint64_t big = uint64_t{1} << 62;
    edit_header(file, [&](json& h) { h["b"]["shape"] = json::array({big, 4}); });
    expect_file_error(file, {"tensor 'b'", "too many elements"});

    write_all(file, original);
    edit_header(file, [&](json& h) { h["b"]["shape"] = json::array({big}); });  // 2^62 F32 = 2^64 bytes
    expect_file_error(file, {"tensor 'b'", "too many bytes"});

    write_all(file, original);
    edit_header(file, [&](json& h) { h["b"]["shape"] = json::array({uint64_t{1} << 63}); });
    expect_file_error(file, {"tensor 'b'", "does not fit in 64 bits"});

    // A zero dimension makes the product 0 however large the rest is: valid, and empty.
    write_all(file, original);
    edit_header(file, [&](json& h) {
        h["c"] = {{"dtype", "F32"}, {"shape", {big, 0}}, {"data_offsets", {28, 28}}};
    });
    SafetensorsFile st = SafetensorsFile::open(file);
    ASSERT_NE(st.find("c"), nullptr);
    EXPECT_EQ(st.find("c")->numel(), 0);
}

// ---- writer -------------------------------------------------------------------

TEST(SafetensorsWriter, RejectsBadInput) {
    fs::path file = fresh_dir() / "w.safetensors";
    TensorToWrite short_bytes = f32_tensor("t", {2}, {1, 2});
    short_bytes.bytes.pop_back();
    expect_input_error([&] { write_safetensors(file, {short_bytes}); }, {"tensor 't'", "7 bytes", "need 8"});
    expect_input_error([&] { write_safetensors(file, {f32_tensor("t", {1}, {1}), f32_tensor("t", {1}, {2})}); },
                       {"'t' is given twice"});
    expect_input_error([&] { write_safetensors(file, {f32_tensor("__metadata__", {1}, {1})}); }, {"reserved"});
    expect_input_error([&] { tensor_from_f32("t", DType::F16, {2, 2}, std::vector<float>{1, 2, 3}); },
                       {"tensor 't'", "3 values", "4 elements"});
}

// ---- model folders ------------------------------------------------------------

TEST(WeightStore, SingleFileFolder) {
    fs::path dir = fresh_dir();
    two_tensor_file(dir);
    // A stray extra file (e.g. Mistral's consolidated.safetensors) is not loaded
    // when model.safetensors is there, even if it repeats the same tensors.
    write_safetensors(dir / "consolidated.safetensors", {f32_tensor("a", {1}, {9})});
    WeightStore store = WeightStore::open_folder(dir);
    EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(store.total_bytes(), 28u);
    EXPECT_EQ(store.mapped_bytes(), fs::file_size(dir / "model.safetensors"));
    EXPECT_EQ(stored_value_f32(store.require("b"), 2), 7.f);
    ASSERT_EQ(store.files().size(), 1u);
}

TEST(WeightStore, ShardedFolderWithIndex) {
    fs::path dir = fresh_dir() / "model";
    std::vector<TensorToWrite> tensors;
    for (int i = 0; i < 5; ++i)
        tensors.push_back(f32_tensor("layers." + std::to_string(i) + ".w", {2, 2},
                                     {float(i), float(i) + 0.5f, -float(i), 1.f}));
    tensors.push_back(tensor_from_f32("embed", DType::BF16, {4}, std::vector<float>{1, 2, 3, 4}));
    write_safetensors_sharded(dir, tensors, 40);  // two 16-byte tensors per shard

    EXPECT_TRUE(fs::exists(dir / "model-00001-of-00003.safetensors"));
    EXPECT_TRUE(fs::exists(dir / "model-00003-of-00003.safetensors"));
    EXPECT_FALSE(fs::exists(dir / "model-00004-of-00004.safetensors"));
    json index = json::parse(read_all(dir / "model.safetensors.index.json"));
    EXPECT_EQ(index["metadata"]["total_size"], 5 * 16 + 8);
    EXPECT_EQ(index["weight_map"]["layers.0.w"], "model-00001-of-00003.safetensors");
    EXPECT_EQ(index["weight_map"]["embed"], "model-00003-of-00003.safetensors");
    EXPECT_EQ(SafetensorsFile::open(dir / "model-00002-of-00003.safetensors").metadata().at("format"), "pt");

    WeightStore moved_from = WeightStore::open_folder(dir);
    const StoredTensor* before = moved_from.find("layers.3.w");
    WeightStore store = std::move(moved_from);  // pointers survive a move
    EXPECT_EQ(store.find("layers.3.w"), before);
    EXPECT_EQ(store.size(), 6u);
    EXPECT_EQ(store.names().front(), "embed");
    EXPECT_EQ(store.total_bytes(), 5u * 16 + 8);
    size_t mapped = 0;
    for (const auto& f : store.files()) mapped += fs::file_size(f);
    EXPECT_EQ(store.files().size(), 3u);
    EXPECT_EQ(store.mapped_bytes(), mapped);
    EXPECT_EQ(stored_value_f32(store.require("layers.3.w"), 1), 3.5f);
    EXPECT_EQ(stored_value_f32(store.require("embed"), 3), 4.f);
    EXPECT_EQ(store.require("embed").file, dir / "model-00003-of-00003.safetensors");
    expect_input_error([&] { store.require("lm_head.weight"); }, {dir.string(), "no tensor 'lm_head.weight'"});
}

TEST(WeightStore, ShardsWithoutIndex) {
    fs::path dir = fresh_dir();
    write_safetensors(dir / "part-b.safetensors", {f32_tensor("y", {1}, {2})});
    write_safetensors(dir / "part-a.safetensors", {f32_tensor("x", {2}, {1, 1})});
    write_all(dir / "notes.txt", "not weights");
    WeightStore store = WeightStore::open_folder(dir);
    EXPECT_EQ(store.names(), (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(store.files(), (std::vector<fs::path>{dir / "part-a.safetensors", dir / "part-b.safetensors"}));
}

TEST(WeightStore, TensorInTwoFilesWithoutIndex) {
    fs::path dir = fresh_dir();
    write_safetensors(dir / "a.safetensors", {f32_tensor("x", {1}, {1})});
    write_safetensors(dir / "b.safetensors", {f32_tensor("x", {1}, {2})});
    expect_input_error([&] { WeightStore::open_folder(dir); },
                       {"tensor 'x' is in both", (dir / "a.safetensors").string(), (dir / "b.safetensors").string()});
}

TEST(WeightStore, FolderWithoutWeights) {
    fs::path dir = fresh_dir();
    write_all(dir / "config.json", "{}");
    expect_input_error([&] { WeightStore::open_folder(dir); }, {dir.string(), "no weights"});
    expect_input_error([&] { WeightStore::open_folder(dir / "config.json"); }, {"is not a folder"});
}

TEST(WeightStore, DamagedShardNamesTheShard) {
    fs::path dir = fresh_dir();
    write_safetensors_sharded(dir, {f32_tensor("x", {1}, {1}), f32_tensor("y", {1}, {2})}, 4);
    fs::path shard = dir / "model-00002-of-00002.safetensors";
    edit_header(shard, [](json& h) { h["y"]["dtype"] = "F64"; });
    expect_input_error([&] { WeightStore::open_folder(dir); }, {shard.string(), "tensor 'y'", "F64 is not supported"});
}

class IndexErrors : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fresh_dir();
        write_safetensors_sharded(dir_, {f32_tensor("x", {1}, {1}), f32_tensor("y", {1}, {2})}, 4);
        index_ = dir_ / "model.safetensors.index.json";
    }
    void edit_index(const std::function<void(json&)>& edit) {
        json j = json::parse(read_all(index_));
        edit(j);
        write_all(index_, j.dump());
    }
    void expect_error(std::initializer_list<std::string> fragments) {
        std::vector<std::string> all(fragments);
        try {
            WeightStore::open_folder(dir_);
            ADD_FAILURE() << "accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::Input);
            for (const auto& f : all)
                EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << "missing '" << f << "' in " << e.what();
        }
    }
    fs::path dir_, index_;
};

TEST_F(IndexErrors, ValidIndexLoads) { EXPECT_EQ(WeightStore::open_folder(dir_).size(), 2u); }

TEST_F(IndexErrors, BadJson) {
    write_all(index_, R"({"weight_map": {"x": )");
    expect_error({index_.string(), "not valid JSON"});
}

TEST_F(IndexErrors, WeightMapMissingOrWrong) {
    edit_index([](json& j) { j.erase("weight_map"); });
    expect_error({index_.string(), "\"weight_map\" is missing"});
    edit_index([](json& j) { j["weight_map"] = json::array(); });
    expect_error({index_.string(), "\"weight_map\" is not a JSON object"});
    edit_index([](json& j) { j["weight_map"] = {{"x", 3}}; });
    expect_error({index_.string(), "tensor 'x'", "not a file name"});
    write_all(index_, "[]");
    expect_error({index_.string(), "not a JSON object"});
}

TEST_F(IndexErrors, ShardMissing) {
    fs::remove(dir_ / "model-00002-of-00002.safetensors");
    expect_error({index_.string(), "model-00002-of-00002.safetensors is missing", "'y'"});
}

TEST_F(IndexErrors, ShardNameOutsideFolder) {
    edit_index([](json& j) { j["weight_map"]["y"] = "../model-00002-of-00002.safetensors"; });
    expect_error({index_.string(), "tensor 'y'", "not a file name inside the model folder"});
}

TEST_F(IndexErrors, TensorNotInItsShard) {
    edit_index([](json& j) { j["weight_map"]["z"] = "model-00002-of-00002.safetensors"; });
    expect_error({index_.string(), "tensor 'z'", "model-00002-of-00002.safetensors, which does not hold it"});
}

TEST_F(IndexErrors, TensorInAnotherShard) {
    edit_index([](json& j) {
        j["weight_map"]["x"] = "model-00002-of-00002.safetensors";
        j["weight_map"]["y"] = "model-00001-of-00002.safetensors";
    });
    expect_error({index_.string(), "is listed in", "but it is in"});
}

TEST_F(IndexErrors, TensorInTwoShards) {
    write_safetensors(dir_ / "model-00002-of-00002.safetensors", {f32_tensor("y", {1}, {2}), f32_tensor("x", {1}, {3})});
    expect_error({"tensor 'x' is in both", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"});
}
