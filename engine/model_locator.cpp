#include "engine/model_locator.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/error.h"

namespace ascent {

namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

fs::path home_dir() { return env("HOME"); }

bool is_path_like(std::string_view spec) {
    return spec.starts_with('/') || spec.starts_with("./") || spec.starts_with("../") || spec.starts_with('~') ||
           spec == "." || spec == "..";
}

fs::path expand_home(const std::string& spec) {
    if (spec != "~" && !spec.starts_with("~/")) {
        if (spec.starts_with('~')) input_error("{}: only ~ and ~/... are understood, not ~user", spec);
        return spec;
    }
    fs::path home = home_dir();
    if (home.empty()) input_error("{}: cannot expand ~ because HOME is not set", spec);
    return spec.size() <= 2 ? home : home / spec.substr(2);
}

bool is_model_folder(const fs::path& dir) {
    std::error_code ec;
    return fs::is_regular_file(dir / "config.json", ec);
}

bool is_id_part(std::string_view part) {
    if (part.empty() || part == "." || part == "..") return false;
    return std::all_of(part.begin(), part.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
               c == '_';
    });
}

// "Org/Name" (or a bare "name", which Hugging Face still knows for old models).
bool is_model_id(std::string_view spec) {
    size_t slash = spec.find('/');
    if (slash == std::string_view::npos) return is_id_part(spec);
    return is_id_part(spec.substr(0, slash)) && is_id_part(spec.substr(slash + 1));
}

// Every place looked at, with why it did not fit, for the not-found message.
class Search {
public:
    // Returns dir when it is a model folder; records why not otherwise.
    std::optional<fs::path> try_folder(const fs::path& dir) {
        std::error_code ec;
        if (is_model_folder(dir)) return dir;
        if (fs::is_directory(dir, ec))
            note(dir, "exists but has no config.json (incomplete download?)");
        else
            note(dir, "does not exist");
        return std::nullopt;
    }
    void note(const fs::path& where, std::string_view why) { lines_.push_back(fmt::format("  {}: {}", where.string(), why)); }
    std::string report() const { return fmt::format("{}", fmt::join(lines_, "\n")); }

private:
    std::vector<std::string> lines_;
};

std::optional<fs::path> find_in_modelscope(const std::string& id, Search& search) {
    fs::path root = modelscope_cache_dir();
    if (root.empty()) {
        search.note("ModelScope cache", "neither MODELSCOPE_CACHE nor HOME is set");
        return std::nullopt;
    }
    // Newer ModelScope releases add a models/ level; older ones also stored ids unescaped.
    std::vector<std::string> names{modelscope_escape(id)};
    if (names.front() != id) names.push_back(id);
    for (const auto& name : names) {
        for (const fs::path& base : {root / "models", root}) {
            if (auto found = search.try_folder(base / name)) return found;
        }
    }
    return std::nullopt;
}

std::string read_ref(const fs::path& file) {
    std::ifstream in(file);
    std::string rev;
    in >> rev;
    return rev;
}

std::optional<fs::path> find_in_huggingface(const std::string& id, Search& search) {
    fs::path root = huggingface_cache_dir();
    if (root.empty()) {
        search.note("Hugging Face cache", "none of HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, HOME is set");
        return std::nullopt;
    }
    std::string repo_name = "models--" + id;
    for (size_t pos = 0; (pos = repo_name.find('/', pos)) != std::string::npos;) repo_name.replace(pos, 1, "--");
    const fs::path repo = root / repo_name;
    const fs::path snapshots = repo / "snapshots";
    std::error_code ec;
    if (!fs::is_directory(snapshots, ec)) {
        search.note(snapshots, "does not exist");
        return std::nullopt;
    }

    const fs::path ref = repo / "refs" / "main";
    if (fs::exists(ref, ec)) {
        std::string rev = read_ref(ref);
        // The ref is a commit hash; anything else must not steer us out of snapshots/.
        if (is_id_part(rev) && rev.find('.') == std::string::npos) {
            if (auto found = search.try_folder(snapshots / rev)) return found;
        } else {
            search.note(ref, fmt::format("does not hold a revision name ('{}')", rev));
        }
    }

    // Without a usable refs/main, the newest complete snapshot is the best guess.
    std::vector<std::pair<fs::file_time_type, fs::path>> candidates;
    for (const auto& entry : fs::directory_iterator(snapshots, ec)) {
        if (entry.is_directory(ec) && is_model_folder(entry.path()))
            candidates.emplace_back(fs::last_write_time(entry.path(), ec), entry.path());
    }
    if (candidates.empty()) {
        search.note(snapshots, "holds no snapshot with a config.json");
        return std::nullopt;
    }
    return std::max_element(candidates.begin(), candidates.end())->second;
}

}  // namespace

std::string modelscope_escape(const std::string& id) {
    std::string out;
    for (char c : id) {
        if (c == '.')
            out += "___";
        else
            out += c;
    }
    return out;
}

fs::path modelscope_cache_dir() {
    if (std::string dir = env("MODELSCOPE_CACHE"); !dir.empty()) return dir;
    fs::path home = home_dir();
    return home.empty() ? fs::path() : home / ".cache" / "modelscope" / "hub";
}

fs::path huggingface_cache_dir() {
    if (std::string dir = env("HF_HUB_CACHE"); !dir.empty()) return dir;
    if (std::string dir = env("HUGGINGFACE_HUB_CACHE"); !dir.empty()) return dir;
    if (std::string dir = env("HF_HOME"); !dir.empty()) return fs::path(dir) / "hub";
    if (std::string dir = env("XDG_CACHE_HOME"); !dir.empty()) return fs::path(dir) / "huggingface" / "hub";
    fs::path home = home_dir();
    return home.empty() ? fs::path() : home / ".cache" / "huggingface" / "hub";
}

fs::path locate_model(const std::string& spec) {
    if (spec.empty()) input_error("the model name is empty (-m takes a model folder or an id like Org/Name)");
    std::error_code ec;
    const fs::path as_path = expand_home(spec);
    if (fs::exists(as_path, ec)) {
        if (!fs::is_directory(as_path, ec))
            input_error("{} is not a folder (-m takes a model folder or an id like Org/Name)", as_path.string());
        if (!is_model_folder(as_path)) input_error("{} is not a model folder: config.json is missing", as_path.string());
        return as_path;
    }
    if (is_path_like(spec)) input_error("model folder {} does not exist", as_path.string());
    if (!is_model_id(spec))
        input_error("{}: no such folder, and not a model id (ids look like Org/Name)", spec);

    // ModelScope ids always have an organisation; bare names exist only on Hugging Face.
    const bool modelscope_id = spec.find('/') != std::string::npos;
    Search search;
    search.note(spec, "no such folder in the current folder");
    if (modelscope_id) {
        if (auto found = find_in_modelscope(spec, search)) return *found;
    }
    if (auto found = find_in_huggingface(spec, search)) return *found;
    std::string commands = fmt::format("  huggingface-cli download {}", spec);
    if (modelscope_id) commands = fmt::format("  modelscope download --model {}\n{}", spec, commands);
    input_error("model {} was not found. Looked in:\n{}\nNothing is downloaded automatically; fetch it with:\n{}", spec,
                search.report(), commands);
}

}  // namespace ascent
