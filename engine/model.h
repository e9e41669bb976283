#pragma once
// What an architecture in models/ provides to the engine: a forward pass written against Ops,
// and the shape of the state it keeps between steps.
#include <cstdint>
#include "engine/ops.h"

namespace ascent {

class Model {
public:
    virtual ~Model() = default;
    // Builds the forward pass of one step: embeddings of the step's tokens in, logits out.
    virtual void forward(Ops& ops) const = 0;
    virtual int n_layers() const = 0;      // layers holding a KV cache
    virtual int64_t kv_dim() const = 0;    // keys (= values) per position per layer
    virtual int64_t vocab_size() const = 0;
    virtual int64_t parameter_count() const = 0;
};

}  // namespace ascent
