#include "engine/weight_binder.h"

#include "engine/error.h"

namespace ascent {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

}  // namespace

const StoredTensor& WeightBinder::fetch(const std::string& name, std::vector<int64_t> shape) {
    return dummy_ ? dummy_->make(name, std::move(shape)) : store_->require(name);
}

Weight WeightBinder::matrix(const std::string& name, int64_t rows, int64_t cols) {
    const StoredTensor& t = fetch(name, {rows, cols});
    if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols)
        input_error("{}: tensor {} has shape {}, but config.json implies [{}, {}]", t.file.string(), name,
                    shape_text(t.shape), rows, cols);
    used_.insert(name);
    parameters_ += rows * cols;
    return backend_.adopt_weight(t, rows, cols);
}

Weight WeightBinder::vector(const std::string& name, int64_t n) {
    const StoredTensor& t = fetch(name, {n});
    if (t.shape.size() != 1 || t.shape[0] != n)
        input_error("{}: tensor {} has shape {}, but config.json implies [{}]", t.file.string(), name,
                    shape_text(t.shape), n);
    used_.insert(name);
    parameters_ += n;
    return backend_.adopt_weight(t, 1, n);
}

void WeightBinder::check_all_used() const {
    if (!store_) return;
    std::vector<std::string> extra;
    for (const auto& name : store_->names())
        if (!used_.count(name)) extra.push_back(name);
    if (extra.empty()) return;
    std::string list;
    for (size_t i = 0; i < extra.size() && i < 5; ++i) list += (i ? ", " : "") + extra[i];
    if (extra.size() > 5) list += fmt::format(" and {} more", extra.size() - 5);
    input_error("{}: {} tensor(s) that this architecture does not use: {}", store_->folder().string(),
                extra.size(), list);
}

}  // namespace ascent
