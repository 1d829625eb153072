#!/usr/bin/python3
"""The C engine (ssan-bench) beside ONNX Runtime and the PyTorch twin, same
model, same input.

  /usr/bin/python3 tools/bench_vs_torch.py paper [--threads 2] [--windows 7]
      [--repeat 3] [--bench build/tools/ssan-bench] [--seed 0]
      [--ort DIR | --no-ort]

For a configuration (paper: resnet50, T 8, 224, SSA in layer1.0,layer2.0;
tsn: the same without SSA; tsm: tsn with TSM's shift in every block; demo: the bundled demo model's configuration, or
models/ssan-demo.safetensors when it exists, or --model FILE) a random model
file is exported once with tools/ssan_export.py (calibrated BatchNorm
statistics and unit-scale logits; cached in --cache) and seeded random
frames are written.  Then, --repeat times and alternating, each in its own
process so that the peak resident memory is its own (VmHWM of each process's own
address space; ru_maxrss of a child of a big Python process is not):
  - ssan-bench --model FILE --input FRAMES --threads N --windows K
  - ONNX Runtime: the twin exported with torch.onnx.export (opset 17,
    cached beside the model file), run by tools/ort_bench.js with the npm
    package onnxruntime-node (CPU provider, intra-op threads N, inter-op 1,
    sequential, graph optimisation 'all'), one warm-up window, K timed;
  - the twin: torch.set_num_threads(N), model.eval(), torch.inference_mode(),
    one warm-up window, then K timed windows (one window of T frames each).
onnxruntime-node is a benchmark tool, never a dependency of the plugin: it
is installed with npm into the scratch folder --ort (default
$TMPDIR/ssan-ort) when missing, with its CUDA download skipped.  Prints the
medians, the speed ratios, the peak RSS and their ratios, and the largest
absolute difference of the window logits of each against the twin (must be
<= 1e-3: the speed is for correct numbers; exit status 1 otherwise).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CONFIGS = {
    "paper": ["--arch", "resnet50", "--classes", "174", "--segments", "8",
              "--input-size", "224", "--ssa-blocks", "layer1.0,layer2.0"],
    "tsn": ["--arch", "resnet50", "--classes", "174", "--segments", "8",
            "--input-size", "224"],
    "tsm": ["--arch", "resnet50", "--classes", "174", "--segments", "8",
            "--input-size", "224", "--shift-blocks",
            ",".join("layer%d.%d" % (i + 1, j)
                     for i, n in enumerate((3, 4, 6, 3)) for j in range(n))],
    # tools/train.py ARCH
    "demo": ["--arch", "custom", "--block", "basic", "--layers", "1,1,1,1",
             "--width", "16", "--classes", "11", "--segments", "8",
             "--input-size", "48", "--resize", "48", "--window-frames", "32",
             "--ssa-blocks", "layer1.0,layer2.0"],
}
DEMO_MODEL = os.path.join(ROOT, "models", "ssan-demo.safetensors")
TOLERANCE = 1e-3
ORT_VERSION = "1.30.0"


def peak_rss_mib():
    """VmHWM: the peak of this process's own address space (ru_maxrss of a
    child also counts its parent's memory before exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def twin_child(args):
    """Runs in its own process: times the twin, writes its logits."""
    import numpy as np
    import torch
    sys.path.insert(0, HERE)
    from ssan_torch import load_model

    torch.set_num_threads(args.threads)
    model, cfg = load_model(args.model)
    model.eval()
    T, S = cfg.segments, cfg.input_size
    x = torch.from_numpy(np.fromfile(args.input, dtype=np.float32)
                         .reshape(T, 3, S, S))
    wall, cpu = [], []
    with torch.inference_mode():
        model(x, T)
        for _ in range(args.windows):
            w, c = time.perf_counter(), time.process_time()
            logits = model(x, T)
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
    logits.numpy().astype(np.float32).tofile(args.logits)
    json.dump({"wall": wall, "cpu": cpu, "torch": torch.__version__,
               "rss": peak_rss_mib(),
               "threads": torch.get_num_threads()}, sys.stdout)
    return 0


def export_child(args):
    """Runs in its own process: the twin to ONNX (opset 17)."""
    import torch
    sys.path.insert(0, HERE)
    from ssan_torch import load_model

    model, cfg = load_model(args.model)
    model.eval()
    T, S = cfg.segments, cfg.input_size

    class Window(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x, T)

    tmp = args.logits + ".part"
    with torch.inference_mode():
        torch.onnx.export(Window(model), torch.zeros(T, 3, S, S), tmp,
                          opset_version=17, input_names=["frames"],
                          output_names=["logits"])
    os.replace(tmp, args.logits)
    return 0


def ort_setup(folder):
    """onnxruntime-node in the scratch folder (installed when missing):
    returns its node_modules path."""
    mods = os.path.join(folder, "node_modules")
    if not os.path.exists(os.path.join(mods, "onnxruntime-node")):
        os.makedirs(folder, exist_ok=True)
        # its postinstall would fetch CUDA files (and fails here)
        with open(os.path.join(folder, ".npmrc"), "w") as fh:
            fh.write("onnxruntime-node-install=skip\n")
        print("installing onnxruntime-node %s into %s ..." % (ORT_VERSION,
                                                              folder),
              flush=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                        "--prefix", folder,
                        "onnxruntime-node@" + ORT_VERSION], check=True,
                       env=dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip"))
    return mods


def run_child(cmd, env=None):
    """Runs cmd, returns (stdout, peak RSS in MiB of that child)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("bench_vs_torch: %s failed (status %d)" % (cmd[0],
                                                            p.returncode))
    return out, ru.ru_maxrss / 1024.0


def parse_bench(out):
    row = re.search(r"^\(file\)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+"
                    r"(\S+)\s+(\S+)%\s+(\S+)%\s+(\S+)%", out, re.M)
    peak = re.search(r"sgemm peak: .*median (\S+) GFLOP/s", out)
    if row is None or peak is None:
        sys.exit("bench_vs_torch: unexpected ssan-bench output:\n" + out)
    v = [float(s) for s in row.groups()]
    return {"ms": v[0], "min": v[1], "max": v[2], "cpu_ms": v[3],
            "gflop": v[4], "gflops": v[5], "eff": v[6], "best": v[7],
            "cpu_eff": v[8],
            "peak": float(peak.group(1))}


def spread(v):
    return "median %.1f (min %.1f, max %.1f)" % (statistics.median(v), min(v),
                                                max(v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", choices=sorted(CONFIGS))
    ap.add_argument("--model", help="use this model file instead")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--windows", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3,
                    help="alternating engine/twin runs (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bench", default=os.path.join(
        ROOT, "build", "tools", "ssan-bench"))
    ap.add_argument("--cache", default=os.path.join(
        tempfile.gettempdir(), "ssan-bench-models"))
    ap.add_argument("--ort", default=os.path.join(tempfile.gettempdir(),
                                                  "ssan-ort"),
                    help="scratch folder for onnxruntime-node")
    ap.add_argument("--no-ort", action="store_true",
                    help="leave ONNX Runtime out")
    ap.add_argument("--twin-child", action="store_true",
                    help=argparse.SUPPRESS)
    ap.add_argument("--export-child", action="store_true",
                    help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--logits", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.twin_child:
        return twin_child(args)
    if args.export_child:
        return export_child(args)
    if args.windows < 5 or args.threads < 1 or args.repeat < 1:
        ap.error("--windows >= 5, --threads >= 1, --repeat >= 1")

    import numpy as np
    sys.path.insert(0, HERE)
    from ssan_torch import read_safetensors

    model = args.model
    if model is None and args.config == "demo" and os.path.exists(DEMO_MODEL):
        model = DEMO_MODEL
    if model is None:
        os.makedirs(args.cache, exist_ok=True)
        model = os.path.join(args.cache, "%s-seed%d.safetensors"
                             % (args.config, args.seed))
        if not os.path.exists(model):
            print("exporting a random %s model to %s ..." % (args.config,
                                                             model),
                  flush=True)
            tmp = model + ".part"
            subprocess.run([sys.executable, os.path.join(HERE,
                                                         "ssan_export.py"),
                            "random", "--seed", str(args.seed), "-o", tmp]
                           + CONFIGS[args.config], check=True)
            os.replace(tmp, model)
    _, meta = read_safetensors(model)
    T, S = int(meta["segments"]), int(meta["input_size"])
    onnx = None
    if not args.no_ort:
        node_env = dict(os.environ, NODE_PATH=ort_setup(args.ort))
        onnx = model + ".onnx"
        if not os.path.exists(onnx) or (os.path.getmtime(onnx)
                                        < os.path.getmtime(model)):
            print("exporting %s to ONNX (opset 17) ..." % model, flush=True)
            subprocess.run([sys.executable, os.path.abspath(__file__),
                            args.config, "--export-child", "--model", model,
                            "--logits", onnx], check=True)

    with tempfile.TemporaryDirectory() as tmp:
        frames = os.path.join(tmp, "frames.f32")
        rng = np.random.default_rng(args.seed)
        rng.standard_normal((T, 3, S, S), dtype=np.float32).tofile(frames)
        c_logits = os.path.join(tmp, "c.f32")
        t_logits = os.path.join(tmp, "twin.f32")
        o_logits = os.path.join(tmp, "ort.f32")
        engine, twin, ort = [], [], []
        for r in range(args.repeat):
            out, rss = run_child([args.bench, "--model", model, "--input",
                                  frames, "--logits", c_logits, "--threads",
                                  str(args.threads), "--windows",
                                  str(args.windows)])
            if r == 0:
                head = [ln for ln in out.splitlines()
                        if ln.startswith(("machine:", "CPU flags:",
                                            "OpenBLAS:", "kernels:"))]
            res = parse_bench(out)
            # ssan-bench's own VmHWM: wait4 would also count the child it
            # forks for the sgemm peak and this (big) process before exec
            res["rss"] = float(re.search(r"^peak RSS: (\S+) MiB", out,
                                         re.M).group(1))
            engine.append(res)
            out, rss = run_child([sys.executable, os.path.abspath(__file__),
                                  args.config, "--twin-child", "--model",
                                  model, "--input", frames, "--logits",
                                  t_logits, "--threads", str(args.threads),
                                  "--windows", str(args.windows)])
            res = json.loads(out)
            twin.append({"ms": 1e3 * statistics.median(res["wall"]),
                         "cpu_ms": 1e3 * statistics.median(res["cpu"]),
                         "rss": res["rss"] or rss, "torch": res["torch"]})
            line = "run %d: engine %.1f ms/window (%.1f MiB), twin %.1f " \
                "ms/window (%.1f MiB): %.2fx" % (
                    r + 1, engine[-1]["ms"], engine[-1]["rss"],
                    twin[-1]["ms"], twin[-1]["rss"],
                    twin[-1]["ms"] / engine[-1]["ms"])
            if onnx:
                out, rss = run_child(["node", os.path.join(HERE,
                                                           "ort_bench.js"),
                                      onnx, frames, str(T), str(S),
                                      str(args.threads), str(args.windows),
                                      o_logits], env=node_env)
                res = json.loads(out)
                ort.append({"ms": 1e3 * statistics.median(res["wall"]),
                            "cpu_ms": 1e3 * statistics.median(res["cpu"]),
                            "rss": res["rss"] or rss,
                            "version": res["version"]})
                line += "; ONNX Runtime %.1f ms/window (%.1f MiB): %.2fx" % (
                    ort[-1]["ms"], ort[-1]["rss"],
                    ort[-1]["ms"] / engine[-1]["ms"])
            print(line, flush=True)
        a = np.fromfile(c_logits, dtype=np.float32)
        b = np.fromfile(t_logits, dtype=np.float32)
        diff = float(np.max(np.abs(a - b)))
        odiff = None
        if onnx:
            odiff = float(np.max(np.abs(
                np.fromfile(o_logits, dtype=np.float32) - b)))

    speed = [t["ms"] / e["ms"] for e, t in zip(engine, twin)]
    cpu_speed = [t["cpu_ms"] / e["cpu_ms"] for e, t in zip(engine, twin)]
    mem = [t["rss"] / e["rss"] for e, t in zip(engine, twin)]
    print("\n".join(head))
    print("config %s: %s (T %d, %dx%d), %d thread(s), %d timed windows "
          "after 1 warm-up, %d alternating runs, seeded random input" % (
              args.config, model, T, S, S, args.threads, args.windows,
              args.repeat))
    print("engine (ssan-bench)     ms/window %s; CPU ms %s" % (
        spread([e["ms"] for e in engine]),
        spread([e["cpu_ms"] for e in engine])))
    print("twin (PyTorch %s)  ms/window %s; CPU ms %s" % (
        twin[0]["torch"], spread([t["ms"] for t in twin]),
        spread([t["cpu_ms"] for t in twin])))
    if ort:
        print("ONNX Runtime %s (onnxruntime-node, CPU provider)  ms/window "
              "%s; CPU ms %s" % (ort[0]["version"],
                                 spread([o["ms"] for o in ort]),
                                 spread([o["cpu_ms"] for o in ort])))
    print("speed-up twin/engine:   wall %s; CPU %s" % (
        " ".join("%.2fx" % s for s in speed),
        " ".join("%.2fx" % s for s in cpu_speed)))
    if ort:
        print("speed-up ONNX Runtime/engine: wall %s; CPU %s" % (
            " ".join("%.2fx" % (o["ms"] / e["ms"])
                     for e, o in zip(engine, ort)),
            " ".join("%.2fx" % (o["cpu_ms"] / e["cpu_ms"])
                     for e, o in zip(engine, ort))))
    print("engine efficiency:      %s %% of the same run's sgemm peak "
          "(best window vs best sgemm %s %%; CPU-time basis %s %%); %.2f "
          "GFLOP/window" % (
              " ".join("%.1f" % e["eff"] for e in engine),
              " ".join("%.1f" % e["best"] for e in engine),
              " ".join("%.1f" % e["cpu_eff"] for e in engine),
              engine[0]["gflop"]))
    print("peak RSS:               engine %s MiB, twin %s MiB, twin/engine "
          "%s" % (spread([e["rss"] for e in engine]),
                  spread([t["rss"] for t in twin]),
                  " ".join("%.2fx" % m for m in mem)))
    if ort:
        print("peak RSS ONNX Runtime:  %s MiB, ONNX Runtime/engine %s" % (
            spread([o["rss"] for o in ort]),
            " ".join("%.2fx" % (o["rss"] / e["rss"])
                     for e, o in zip(engine, ort))))
    ok = diff <= TOLERANCE and (odiff is None or odiff <= TOLERANCE)
    print("logits vs the twin: engine max abs difference %.3g%s (%s, "
          "tolerance %g; %d classes, largest |logit| %.3g)" % (
              diff, "" if odiff is None
              else ", ONNX Runtime %.3g" % odiff, "ok" if ok else "FAIL",
              TOLERANCE, a.size, float(np.max(np.abs(b)))))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
