#!/usr/bin/python3
"""Live parity check: random models through the PyTorch twin and ssan-infer.

  /usr/bin/python3 tools/check_parity.py [--infer build/tools/ssan-infer]
      [-n 10] [--seed 0] [--max-size 96]

Draws N random configurations (named ResNets and custom nets, widths 4-16,
SSA in random blocks, T 1-8, random input sizes, F32/F16/BF16 weights,
B 1-2, TSM shifts in 0-3 random blocks), writes each model and random frames to a temporary folder, runs the
twin (float64) and `ssan-infer --model M --input X.f32 --segments T`, and
prints the largest absolute logit difference per configuration.  Exits 1
if any configuration exceeds 1e-3 (1e-4 relative above 10), 77 (skip) when
torch is not installed.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError:
    print("torch/numpy not available: skipping")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ssan_export import export, random_model  # noqa: E402
from ssan_torch import ARCHS, SSANConfig, load_model  # noqa: E402


def random_config(rng):
    arch = rng.choice(["resnet18", "resnet34", "resnet50", "custom",
                       "custom"])
    kw = {"arch": arch}
    if arch == "custom":
        kw["block"] = rng.choice(["basic", "bottleneck"])
        kw["layers"] = [rng.randint(1, 2) for _ in range(4)]
        layers = kw["layers"]
    else:
        layers = ARCHS[arch][1]
    kw["width"] = rng.choice([4, 8, 16] if arch in ("custom", "resnet18")
                             else [4, 8])
    kw["ssa_reduction"] = rng.choice([1, 2, 4] if kw["width"] >= 4 else [1])
    blocks = ["layer%d.%d" % (i + 1, j) for i in range(4)
              for j in range(layers[i])]
    kw["ssa_blocks"] = ",".join(sorted(rng.sample(blocks,
                                                  rng.randint(0, 3))))
    kw["segments"] = rng.randint(1, 8)
    kw["num_classes"] = rng.randint(2, 12)
    return kw


def add_shift(kw, rng):
    """TSM shifts in random blocks (their own generator: the configurations
    drawn before shifts existed stay the same)."""
    layers = kw.get("layers") or ARCHS[kw["arch"]][1]
    blocks = ["layer%d.%d" % (i + 1, j) for i in range(4)
              for j in range(layers[i])]
    kw["shift_blocks"] = ",".join(sorted(rng.sample(blocks,
                                                    rng.randint(0, 3))))
    kw["shift_div"] = rng.choice([2, 4, 8])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--infer", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "build", "tools",
        "ssan-infer"))
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-size", type=int, default=96)
    ap.add_argument("--keep", help="keep models and inputs in this folder")
    args = ap.parse_args()
    torch.set_num_threads(2)
    rng = random.Random(args.seed)
    tmp = args.keep or tempfile.mkdtemp(prefix="ssan-parity-")
    os.makedirs(tmp, exist_ok=True)
    failed = 0
    for k in range(args.n):
        kw = random_config(rng)
        add_shift(kw, random.Random(args.seed * 1000003 + k))
        kw["input_size"] = rng.randint(17, args.max_size)
        T = rng.choice([kw["segments"], rng.randint(1, 8)])
        B = rng.randint(1, 2)
        dtype = rng.choice(["F32", "F32", "F16", "BF16"])
        cfg = SSANConfig(**kw)
        model_path = os.path.join(tmp, "m%d.safetensors" % k)
        in_path = os.path.join(tmp, "m%d.input.f32" % k)
        export(random_model(cfg, 100 + k), model_path, dtype)
        model, cfg = load_model(model_path, torch.float64)
        S = cfg.input_size
        x = torch.randn(B * T, 3, S, S,
                        generator=torch.Generator().manual_seed(k))
        x.numpy().astype("<f4").tofile(in_path)
        with torch.no_grad():
            want = model(x.to(torch.float64), T).numpy()
        res = subprocess.run([args.infer, "--model", model_path, "--input",
                              in_path, "--segments", str(T)],
                             capture_output=True, text=True)
        desc = ("%s%s w%d S=%d T=%d B=%d ssa=[%s] r%d shift=[%s]/%d %s" % (
            cfg.arch, "" if cfg.arch != "custom" else
            "(%s %s)" % (cfg.block, ",".join(map(str, cfg.layers))),
            cfg.width, S, T, B, ",".join(cfg.ssa_blocks), cfg.ssa_reduction,
            ",".join(cfg.shift_blocks), cfg.shift_div, dtype))
        if res.returncode != 0:
            print("FAIL %-90s ssan-infer: %s" % (desc, res.stderr.strip()))
            failed += 1
            continue
        got = np.array([[float(v) for v in line.split()]
                        for line in res.stdout.strip().split("\n")])
        if got.shape != want.shape:
            print("FAIL %-90s shape %s vs %s" % (desc, got.shape, want.shape))
            failed += 1
            continue
        diff = np.abs(got - want)
        allowed = np.maximum(1e-3, np.where(np.abs(want) > 10,
                                            1e-4 * np.abs(want), 0))
        ok = bool(np.all(diff <= allowed))
        failed += not ok
        print("%s %-90s max|logit| %6.3g max diff %.3g" % (
            "ok  " if ok else "FAIL", desc, np.abs(want).max(), diff.max()))
    print("%d passed, %d failed (files in %s)" % (args.n - failed, failed,
                                                 tmp))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
