// llama.cpp on the same shape as `ascent bench`, where Debian has no llama-bench (Debian 12):
// through the prebuilt CPU libraries of the npm package node-llama-cpp, which picks the build
// for this CPU (e.g. Sapphire Rapids, Zen 4) at run time.
//
// Setup, once, in a scratch folder (npm registry only; the package ships its binaries):
//   npm install node-llama-cpp@3.22.1
//   python3 tools/make_peer_gguf.py models/cards/qwen2-0.5b /tmp/qwen2-0.5b-bf16.gguf
// Usage, from that folder:
//   node /path/to/ascent/tools/peer_bench.mjs /tmp/qwen2-0.5b-bf16.gguf prefill 128,512
//   node /path/to/ascent/tools/peer_bench.mjs /tmp/qwen2-0.5b-bf16.gguf decode 128
// prefill: each length once to warm up, then 3 timed passes (tokens/s of the prompt alone).
// decode: after a 128-token prompt, N greedy tokens timed from the first, twice; sampling and
// the whole vocabulary's logits included, as in llama-bench's generation test.
import {createRequire} from "node:module";
import {pathToFileURL} from "node:url";

const [modelPath, mode, arg] = process.argv.slice(2);
if (!modelPath || !["prefill", "decode"].includes(mode) || !arg) {
  console.error("usage: peer_bench.mjs MODEL.gguf prefill LEN[,LEN...] | decode N");
  process.exit(2);
}
// The package is installed where the command runs, not beside this file.
let entry;
try {
  entry = createRequire(`${process.cwd()}/`).resolve("node-llama-cpp");
} catch {
  console.error("node-llama-cpp is not installed here: run `npm install node-llama-cpp@3.22.1` in this folder first");
  process.exit(1);
}
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(entry).href);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: 2304, threads: 2, batchSize: 2048, sequences: 1});
const sequence = context.getSequence();
// Token ids spread over the vocabulary, different for each pass.
const tokens = (n, seed) => Array.from({length: n}, (_, i) => 200 + ((i + seed) * 7919) % 30000);
const now = () => Number(process.hrtime.bigint()) / 1e9;

if (mode === "prefill") {
  for (const n of arg.split(",").map(Number)) {
    await sequence.evaluateWithoutGeneratingNewTokens(tokens(n, 1));
    await sequence.clearHistory();
    const rates = [];
    for (let pass = 0; pass < 3; ++pass) {
      const t0 = now();
      await sequence.evaluateWithoutGeneratingNewTokens(tokens(n, pass + 2));
      rates.push(n / (now() - t0));
      await sequence.clearHistory();
    }
    console.log(`prefill ${n}: ${rates.map((r) => r.toFixed(1)).join(" ")} tok/s`);
  }
} else {
  const n = Number(arg);
  for (let pass = 0; pass < 2; ++pass) {
    await sequence.evaluateWithoutGeneratingNewTokens(tokens(128, pass));
    let count = 0, t0 = 0;
    for await (const token of sequence.evaluate([tokens(1, 99)[0]], {temperature: 0})) {
      if (count === 0) t0 = now();  // the first token ends the prompt's step
      if (++count > n) break;
    }
    console.log(`decode ${n} after 128: ${(n / (now() - t0)).toFixed(2)} tok/s`);
    await sequence.clearHistory();
  }
}
process.exit(0);
