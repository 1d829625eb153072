// ONNX Runtime (npm onnxruntime-node, CPU provider) on the twin exported to
// ONNX, for tools/bench_vs_torch.py: same frames, same window loop as the
// engine and the twin.  Never a dependency of the plugin: the benchmark
// installs onnxruntime-node into a scratch folder and points NODE_PATH at it.
//
//   node tools/ort_bench.js MODEL.onnx FRAMES.f32 T S THREADS WINDOWS LOGITS.f32
//
// Prints one JSON object: wall and CPU seconds per timed window, peak RSS
// (VmHWM, MiB), the runtime's version.
"use strict";
const fs = require("fs");
const ort = require("onnxruntime-node");

function peakRssMib() {
  const m = /^VmHWM:\s+(\d+)/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : null;
}

async function main() {
  const [model, frames, T, S, threads, windows, logitsOut] = process.argv.slice(2);
  const t = Number(T), s = Number(S), n = Number(windows);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const buf = fs.readFileSync(frames);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const x = new ort.Tensor("float32", data, [t, 3, s, s]);
  const feeds = { [session.inputNames[0]]: x };
  let out = await session.run(feeds); // warm-up
  const wall = [], cpu = [];
  for (let i = 0; i < n; i++) {
    const w = process.hrtime.bigint(), c = process.cpuUsage();
    out = await session.run(feeds);
    const dc = process.cpuUsage(c);
    wall.push(Number(process.hrtime.bigint() - w) * 1e-9);
    cpu.push((dc.user + dc.system) * 1e-6);
  }
  const logits = out[session.outputNames[0]].data;
  fs.writeFileSync(logitsOut, Buffer.from(logits.buffer, logits.byteOffset,
                                          logits.byteLength));
  let version = "?";
  try {
    version = require("onnxruntime-node/package.json").version;
  } catch (e) { /* older layouts */ }
  process.stdout.write(JSON.stringify({ wall, cpu, rss: peakRssMib(), version }));
}

main().catch((e) => { console.error("ort_bench: " + e.message); process.exit(1); });
