// -m resolution against fake ModelScope and Hugging Face caches built in the test
// scratch folder. Every cache variable and HOME are set by the test, so the real
// caches of the machine running it are never looked at.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>

#include <unistd.h>

#include "engine/error.h"
#include "engine/model_locator.h"

namespace fs = std::filesystem;
using namespace ascent;

namespace {

class ModelLocator : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        root_ = fs::path(ASCENT_TEST_TMP) / "model_locator" / (std::string(info->name()) + "." + std::to_string(::getpid()));
        fs::remove_all(root_);
        fs::create_directories(root_ / "home");
        ::setenv("HOME", (root_ / "home").c_str(), 1);
        for (const char* name : {"MODELSCOPE_CACHE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"})
            ::unsetenv(name);
    }

    // A model folder as far as the locator cares: a folder with config.json.
    static fs::path make_model(const fs::path& dir) {
        fs::create_directories(dir);
        std::ofstream(dir / "config.json") << "{}";
        return dir;
    }

    static void write_text(const fs::path& file, const std::string& text) {
        fs::create_directories(file.parent_path());
        std::ofstream(file) << text;
    }

    static std::string error_of(const std::string& spec) {
        try {
            fs::path found = locate_model(spec);
            ADD_FAILURE() << spec << " resolved to " << found;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::Input) << e.what();
            return e.what();
        }
        return {};
    }

    static void expect_contains(const std::string& text, std::initializer_list<std::string> fragments) {
        for (const auto& f : fragments) EXPECT_NE(text.find(f), std::string::npos) << "missing '" << f << "' in:\n" << text;
    }

    fs::path root_;
};

TEST_F(ModelLocator, FolderPathIsUsedAsIs) {
    fs::path model = make_model(root_ / "my-model");
    EXPECT_EQ(locate_model(model.string()), model);
    make_model(root_ / "home" / "models" / "tiny");
    EXPECT_EQ(locate_model("~/models/tiny"), root_ / "home" / "models" / "tiny");
}

TEST_F(ModelLocator, FolderWithoutConfigIsNotAModel) {
    fs::create_directories(root_ / "weights-only");
    expect_contains(error_of((root_ / "weights-only").string()),
                    {(root_ / "weights-only").string(), "is not a model folder: config.json is missing"});
    write_text(root_ / "file.bin", "x");
    expect_contains(error_of((root_ / "file.bin").string()), {"file.bin is not a folder"});
}

TEST_F(ModelLocator, MissingPathSaysSoWithoutCacheSearch) {
    for (const std::string& spec : {(root_ / "absent").string(), std::string("./absent-model"),
                                   std::string("../absent-model"), std::string("~/absent")}) {
        std::string message = error_of(spec);
        expect_contains(message, {"does not exist"});
        EXPECT_EQ(message.find("modelscope download"), std::string::npos) << message;
    }
    expect_contains(error_of("~/absent"), {(root_ / "home" / "absent").string()});
}

TEST_F(ModelLocator, ModelScopeDefaultCacheWithEscapedDots) {
    EXPECT_EQ(modelscope_escape("Qwen/Qwen2.5-Coder-0.5B-Instruct"), "Qwen/Qwen2___5-Coder-0___5B-Instruct");
    fs::path model = make_model(root_ / "home/.cache/modelscope/hub/Qwen/Qwen2___5-Coder-0___5B-Instruct");
    EXPECT_EQ(locate_model("Qwen/Qwen2.5-Coder-0.5B-Instruct"), model);
}

TEST_F(ModelLocator, ModelScopeCacheVariableWithModelsLevel) {
    ::setenv("MODELSCOPE_CACHE", (root_ / "ms").c_str(), 1);
    EXPECT_EQ(modelscope_cache_dir(), root_ / "ms");
    fs::path model = make_model(root_ / "ms/models/OpenBMB/BitCPM4-0___5B");
    EXPECT_EQ(locate_model("OpenBMB/BitCPM4-0.5B"), model);
}

TEST_F(ModelLocator, ModelScopeIgnoresIncompleteDownload) {
    ::setenv("MODELSCOPE_CACHE", (root_ / "ms").c_str(), 1);
    fs::create_directories(root_ / "ms/models/Qwen/Qwen2-0___5B");  // no config.json yet
    fs::path model = make_model(root_ / "ms/Qwen/Qwen2-0___5B");
    EXPECT_EQ(locate_model("Qwen/Qwen2-0.5B"), model);
}

TEST_F(ModelLocator, HuggingFaceRefsMainWins) {
    ::setenv("HF_HUB_CACHE", (root_ / "hf").c_str(), 1);
    fs::path repo = root_ / "hf/models--Qwen--Qwen3-4B";
    fs::path pinned = make_model(repo / "snapshots/1111aaaa");
    make_model(repo / "snapshots/2222bbbb");  // newer, but not what refs/main names
    fs::last_write_time(pinned, fs::file_time_type::clock::now() - std::chrono::hours(24));
    write_text(repo / "refs/main", "1111aaaa");  // as huggingface_hub writes it: no newline
    EXPECT_EQ(locate_model("Qwen/Qwen3-4B"), pinned);
}

TEST_F(ModelLocator, HuggingFaceNewestSnapshotWithoutRef) {
    ::setenv("HF_HOME", (root_ / "hfhome").c_str(), 1);
    EXPECT_EQ(huggingface_cache_dir(), root_ / "hfhome/hub");
    fs::path repo = root_ / "hfhome/hub/models--openai--gpt-oss-20b";
    fs::path old_snap = make_model(repo / "snapshots/ffff0000");
    fs::path new_snap = make_model(repo / "snapshots/0000ffff");
    fs::create_directories(repo / "snapshots/9999eeee");  // newest, but incomplete
    auto now = fs::file_time_type::clock::now();
    fs::last_write_time(old_snap, now - std::chrono::hours(48));
    fs::last_write_time(new_snap, now - std::chrono::hours(1));
    EXPECT_EQ(locate_model("openai/gpt-oss-20b"), new_snap);

    // A ref that tries to leave snapshots/ is not followed.
    write_text(repo / "refs/main", "../../../elsewhere");
    EXPECT_EQ(locate_model("openai/gpt-oss-20b"), new_snap);
}

TEST_F(ModelLocator, HuggingFaceDefaultCacheUnderHome) {
    fs::path snap = make_model(root_ / "home/.cache/huggingface/hub/models--Qwen--Qwen2-0.5B/snapshots/abc123");
    write_text(root_ / "home/.cache/huggingface/hub/models--Qwen--Qwen2-0.5B/refs/main", "abc123\n");
    EXPECT_EQ(locate_model("Qwen/Qwen2-0.5B"), snap);
}

TEST_F(ModelLocator, ModelScopeIsSearchedBeforeHuggingFace) {
    fs::path ms = make_model(root_ / "home/.cache/modelscope/hub/models/Qwen/Qwen2-0___5B");
    make_model(root_ / "home/.cache/huggingface/hub/models--Qwen--Qwen2-0.5B/snapshots/abc123");
    EXPECT_EQ(locate_model("Qwen/Qwen2-0.5B"), ms);
}

TEST_F(ModelLocator, NotFoundListsPlacesAndDownloadCommands) {
    ::setenv("MODELSCOPE_CACHE", (root_ / "ms").c_str(), 1);
    ::setenv("HF_HUB_CACHE", (root_ / "hf").c_str(), 1);
    fs::create_directories(root_ / "ms/models/Qwen/Qwen2___5-0___5B");  // partial download
    std::string message = error_of("Qwen/Qwen2.5-0.5B");
    expect_contains(message, {"Qwen/Qwen2.5-0.5B was not found",
                              (root_ / "ms/models/Qwen/Qwen2___5-0___5B").string() + ": exists but has no config.json",
                              (root_ / "ms/Qwen/Qwen2___5-0___5B").string() + ": does not exist",
                              (root_ / "hf/models--Qwen--Qwen2.5-0.5B/snapshots").string(),
                              "modelscope download --model Qwen/Qwen2.5-0.5B",
                              "huggingface-cli download Qwen/Qwen2.5-0.5B"});
}

TEST_F(ModelLocator, BareNameIsAHuggingFaceId) {
    std::string message = error_of("gpt2");
    expect_contains(message, {"models--gpt2/snapshots", "huggingface-cli download gpt2"});
    EXPECT_EQ(message.find("modelscope"), std::string::npos) << message;
    fs::path snap = make_model(root_ / "home/.cache/huggingface/hub/models--gpt2/snapshots/e7da7f2");
    EXPECT_EQ(locate_model("gpt2"), snap);
}

TEST_F(ModelLocator, NotAnIdNorAFolder) {
    expect_contains(error_of("a/b/c"), {"a/b/c", "not a model id"});
    expect_contains(error_of("Org/bad name"), {"not a model id"});
    expect_contains(error_of(""), {"empty"});
}

}  // namespace
