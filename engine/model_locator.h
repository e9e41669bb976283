#pragma once
// Resolving -m: a model folder, or a model id found in the local ModelScope or
// Hugging Face caches. Nothing is ever downloaded; a missing model is an
// input_error that lists every place looked in and the commands that fetch it.
#include <filesystem>
#include <string>

namespace ascent {

// spec is a folder path (must hold config.json) or an id like "Org/Name".
// Path-like specs (starting with /, ./, ../ or ~) are only ever folders.
std::filesystem::path locate_model(const std::string& spec);

// $MODELSCOPE_CACHE, else ~/.cache/modelscope/hub.
std::filesystem::path modelscope_cache_dir();
// $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
std::filesystem::path huggingface_cache_dir();

// How ModelScope names an id on disk: every '.' becomes "___".
std::string modelscope_escape(const std::string& id);

}  // namespace ascent
