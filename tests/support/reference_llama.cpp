#include "tests/support/reference_llama.h"

#include <cmath>
#include <string>

#include "engine/model_config.h"
#include "engine/weights/safetensors.h"

namespace ascent::test {

namespace {

using Vec = std::vector<double>;

struct Mat {
    int64_t rows = 0, cols = 0;
    Vec v;
    double at(int64_t r, int64_t c) const { return v[static_cast<size_t>(r * cols + c)]; }
};

Mat load(const WeightStore& ws, const std::string& name) {
    const StoredTensor& t = ws.require(name);
    Mat m;
    m.rows = t.shape.size() == 2 ? t.shape[0] : 1;
    m.cols = t.shape.back();
    m.v.resize(static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < m.v.size(); ++i) m.v[i] = stored_value_f32(t, i);
    return m;
}

Vec matvec(const Mat& w, const Vec& x, const Mat* bias) {
    Vec y(static_cast<size_t>(w.rows));
    for (int64_t r = 0; r < w.rows; ++r) {
        double s = bias ? bias->v[static_cast<size_t>(r)] : 0.0;
        for (int64_t c = 0; c < w.cols; ++c) s += w.at(r, c) * x[static_cast<size_t>(c)];
        y[static_cast<size_t>(r)] = s;
    }
    return y;
}

Vec rmsnorm(const Vec& x, const Mat& w, double eps) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w.v[i];
    return y;
}

void rope(Vec& x, int n_heads, int hd, int pos, double theta) {
    const int half = hd / 2;
    for (int h = 0; h < n_heads; ++h)
        for (int j = 0; j < half; ++j) {
            const double angle = pos * std::pow(theta, -2.0 * j / hd);
            double& a = x[static_cast<size_t>(h * hd + j)];
            double& b = x[static_cast<size_t>(h * hd + j + half)];
            const double na = a * std::cos(angle) - b * std::sin(angle);
            const double nb = b * std::cos(angle) + a * std::sin(angle);
            a = na;
            b = nb;
        }
}

}  // namespace

std::vector<std::vector<double>> reference_llama_logits(const std::filesystem::path& folder,
                                                        const std::vector<int32_t>& tokens) {
    const ModelConfig c = ModelConfig::load(folder);
    const WeightStore ws = WeightStore::open_folder(folder);
    const int H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim;
    const bool qkv_bias = c.architecture == "Qwen2ForCausalLM" || c.bool_or("attention_bias", false);
    const bool o_bias = c.architecture != "Qwen2ForCausalLM" && c.bool_or("attention_bias", false);
    const Mat embed = load(ws, "model.embed_tokens.weight");
    const Mat lm = c.tie_word_embeddings ? embed : load(ws, "lm_head.weight");
    const size_t T = tokens.size();
    std::vector<Vec> x(T);
    for (size_t t = 0; t < T; ++t)
        x[t] = Vec(embed.v.begin() + tokens[t] * embed.cols, embed.v.begin() + (tokens[t] + 1) * embed.cols);
    for (int l = 0; l < c.num_hidden_layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        const Mat n1 = load(ws, p + "input_layernorm.weight"), n2 = load(ws, p + "post_attention_layernorm.weight");
        const Mat wq = load(ws, p + "self_attn.q_proj.weight"), wk = load(ws, p + "self_attn.k_proj.weight");
        const Mat wv = load(ws, p + "self_attn.v_proj.weight"), wo = load(ws, p + "self_attn.o_proj.weight");
        Mat bq, bk, bv, bo;
        if (qkv_bias) {
            bq = load(ws, p + "self_attn.q_proj.bias");
            bk = load(ws, p + "self_attn.k_proj.bias");
            bv = load(ws, p + "self_attn.v_proj.bias");
        }
        if (o_bias) bo = load(ws, p + "self_attn.o_proj.bias");
        const Mat wg = load(ws, p + "mlp.gate_proj.weight"), wu = load(ws, p + "mlp.up_proj.weight");
        const Mat wd = load(ws, p + "mlp.down_proj.weight");
        std::vector<Vec> q(T), k(T), v(T);
        for (size_t t = 0; t < T; ++t) {
            Vec h = rmsnorm(x[t], n1, c.rms_norm_eps);
            q[t] = matvec(wq, h, qkv_bias ? &bq : nullptr);
            k[t] = matvec(wk, h, qkv_bias ? &bk : nullptr);
            v[t] = matvec(wv, h, qkv_bias ? &bv : nullptr);
            rope(q[t], H, hd, static_cast<int>(t), c.rope_theta);
            rope(k[t], KV, hd, static_cast<int>(t), c.rope_theta);
        }
        for (size_t t = 0; t < T; ++t) {
            Vec attn(static_cast<size_t>(H * hd), 0.0);
            for (int h = 0; h < H; ++h) {
                const int g = h / (H / KV);
                Vec s(t + 1);
                double mx = -1e300;
                for (size_t u = 0; u <= t; ++u) {
                    double d = 0;
                    for (int i = 0; i < hd; ++i) d += q[t][static_cast<size_t>(h * hd + i)] * k[u][static_cast<size_t>(g * hd + i)];
                    s[u] = d / std::sqrt(static_cast<double>(hd));
                    mx = std::max(mx, s[u]);
                }
                double sum = 0;
                for (auto& e : s) sum += (e = std::exp(e - mx));
                for (size_t u = 0; u <= t; ++u)
                    for (int i = 0; i < hd; ++i)
                        attn[static_cast<size_t>(h * hd + i)] += s[u] / sum * v[u][static_cast<size_t>(g * hd + i)];
            }
            Vec o = matvec(wo, attn, o_bias ? &bo : nullptr);
            for (size_t i = 0; i < o.size(); ++i) x[t][i] += o[i];
            Vec h = rmsnorm(x[t], n2, c.rms_norm_eps);
            Vec gate = matvec(wg, h, nullptr), up = matvec(wu, h, nullptr);
            for (size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
            Vec dn = matvec(wd, gate, nullptr);
            for (size_t i = 0; i < dn.size(); ++i) x[t][i] += dn[i];
        }
    }
    const Mat norm = load(ws, "model.norm.weight");
    std::vector<std::vector<double>> out;
    for (size_t t = 0; t < T; ++t) out.push_back(matvec(lm, rmsnorm(x[t], norm, c.rms_norm_eps), nullptr));
    return out;
}

}  // namespace ascent::test
