// A model folder's weights, one file or many. Sharded checkpoints name their
// shards in model.safetensors.index.json; the index is checked against what the
// shards really hold, because a stale index is a common way for a download or a
// hand-edited folder to go wrong.
#include <algorithm>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/weights/json_error_text.h"
#include "engine/weights/safetensors.h"

namespace ascent {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

json read_json_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) input_error("cannot open {}", file.string());
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) input_error("cannot read {}", file.string());
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        input_error("{}: not valid JSON: {}", file.string(), json_error_text(e));
    }
}

// Shard names come from a file we did not write: keep them inside the folder.
void check_shard_name(const fs::path& index, const std::string& tensor, const std::string& shard) {
    fs::path p(shard);
    bool escapes = shard.empty() || p.is_absolute() ||
                   std::any_of(p.begin(), p.end(), [](const fs::path& part) { return part == ".."; });
    if (escapes)
        input_error("{}: tensor '{}' is mapped to '{}', which is not a file name inside the model folder",
                    index.string(), tensor, shard);
}

// weight_map as shard file name -> tensor names listed for it.
std::map<std::string, std::vector<std::string>> read_weight_map(const fs::path& index) {
    json doc = read_json_file(index);
    if (!doc.is_object()) input_error("{}: not a JSON object", index.string());
    auto it = doc.find("weight_map");
    if (it == doc.end()) input_error("{}: \"weight_map\" is missing", index.string());
    if (!it->is_object()) input_error("{}: \"weight_map\" is not a JSON object", index.string());
    if (it->empty()) input_error("{}: \"weight_map\" is empty", index.string());

    std::map<std::string, std::vector<std::string>> shards;
    for (const auto& [tensor, shard] : it->items()) {
        if (!shard.is_string())
            input_error("{}: weight_map entry of tensor '{}' is not a file name (it is {})", index.string(), tensor,
                        shard.type_name());
        const auto& name = shard.get_ref<const std::string&>();
        check_shard_name(index, tensor, name);
        shards[name].push_back(tensor);
    }
    return shards;
}

}  // namespace

WeightStore WeightStore::open_folder(const fs::path& folder) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) input_error("{} is not a folder", folder.string());
    WeightStore store;
    store.folder_ = folder;

    const fs::path index = folder / kIndexFile;
    if (fs::exists(index, ec)) {
        auto shards = read_weight_map(index);
        for (const auto& [shard, listed] : shards) {
            fs::path file = folder / shard;
            if (!fs::exists(file, ec))
                input_error("{}: shard {} is missing (it should hold {} tensor(s), e.g. '{}')", index.string(),
                            file.string(), listed.size(), listed.front());
            store.add_file(SafetensorsFile::open(file));
        }
        for (const auto& [shard, listed] : shards) {
            const fs::path file = folder / shard;
            for (const auto& tensor : listed) {
                const StoredTensor* found = store.find(tensor);
                if (found == nullptr)
                    input_error("{}: tensor '{}' is listed in {}, which does not hold it", index.string(), tensor,
                                file.string());
                if (found->file != file)
                    input_error("{}: tensor '{}' is listed in {}, but it is in {}", index.string(), tensor,
                                file.string(), found->file.string());
            }
        }
        return store;
    }

    if (fs::exists(folder / kSingleFile, ec)) {
        store.add_file(SafetensorsFile::open(folder / kSingleFile));
        return store;
    }

    std::vector<fs::path> found;
    fs::directory_iterator listing(folder, ec);
    if (ec) input_error("cannot list {}: {}", folder.string(), ec.message());
    for (const auto& entry : listing) {
        std::error_code stat_ec;
        if (entry.path().extension() == ".safetensors" && entry.is_regular_file(stat_ec)) found.push_back(entry.path());
    }
    if (found.empty())
        input_error("{}: no weights: expected {}, {} or *.safetensors files", folder.string(), kSingleFile, kIndexFile);
    std::sort(found.begin(), found.end());
    for (const auto& file : found) store.add_file(SafetensorsFile::open(file));
    return store;
}

void WeightStore::add_file(SafetensorsFile file) {
    for (const StoredTensor& t : file.tensors()) {
        auto [it, inserted] = tensors_.emplace(t.name, t);
        if (!inserted)
            input_error("{}: tensor '{}' is in both {} and {}", folder_.string(), t.name, it->second.file.string(),
                        t.file.string());
    }
    files_.push_back(std::move(file));
}

const StoredTensor* WeightStore::find(std::string_view name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

const StoredTensor& WeightStore::require(std::string_view name) const {
    const StoredTensor* t = find(name);
    if (t == nullptr)
        input_error("{}: the weights have no tensor '{}' ({} tensors in {} file(s))", folder_.string(), name,
                    tensors_.size(), files_.size());
    return *t;
}

std::vector<std::string> WeightStore::names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& [name, t] : tensors_) out.push_back(name);
    return out;
}

size_t WeightStore::total_bytes() const {
    size_t total = 0;
    for (const auto& [name, t] : tensors_) total += t.nbytes;
    return total;
}

size_t WeightStore::mapped_bytes() const {
    size_t total = 0;
    for (const auto& f : files_) total += f.file_size();
    return total;
}

std::vector<fs::path> WeightStore::files() const {
    std::vector<fs::path> out;
    for (const auto& f : files_) out.push_back(f.path());
    return out;
}

void WeightStore::prefetch() const {
    for (const auto& f : files_) f.prefetch();
}

}  // namespace ascent
