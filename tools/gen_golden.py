#!/usr/bin/python3
"""Regenerates the golden parity data in tests/data/golden (deterministic).

  /usr/bin/python3 tools/gen_golden.py [OUTDIR]

For every case: <name>.safetensors (random model, see ssan_export.randomize),
<name>.input.f32 (B*T unit-normal frames) and <name>.logits.f32 (B x classes
window logits of the PyTorch twin, computed in float64 from the model as
read back from the file, so F16/BF16 rounding is included), plus cases.txt
with one line "name T B num_classes" per case, read by tests/test-parity.c.

Every case is also checked to be sensitive: perturbing its SSA modules (or
the last block when there is none), reversing frame order (with SSA or
temporal shifts) and, in TSM cases, dropping the shifts must move the
logits by far more than the test tolerance, so the test can fail.
"""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ssan_export import export, random_model  # noqa: E402
from ssan_torch import SSANConfig, load_model  # noqa: E402

# name, config, T, B, weight dtype, seed
CASES = [
    # basic block, SSA in layer1.0, T = 8, odd maps (37 -> 19 -> 10 -> 5 -> 3 -> 2)
    ("basic_l1_t8", dict(arch="custom", block="basic", layers=(1, 1, 1, 1),
                         width=4, input_size=37, ssa_blocks="layer1.0"),
     8, 1, "F32", 1),
    # SSA in stride-2 blocks of a basic net, reduction 4, B = 2, BF16
    ("basic_stride2_r4_b2", dict(arch="custom", block="basic",
                                 layers=(1, 1, 1, 1), width=8, input_size=45,
                                 ssa_blocks="layer2.0,layer3.0",
                                 ssa_reduction=4),
     3, 2, "BF16", 2),
    # bottleneck, SSA in layer1.0 and stride-2 layer2.0, F16 weights, B = 2
    ("bottleneck_l1l2_f16", dict(arch="custom", block="bottleneck",
                                 layers=(1, 1, 1, 1), width=4, input_size=50,
                                 ssa_blocks="layer1.0,layer2.0"),
     3, 2, "F16", 3),
    # bottleneck, SSA in a non-first block, reduction 4, T = 8, BF16 weights
    ("bottleneck_nonfirst_bf16", dict(arch="custom", block="bottleneck",
                                      layers=(1, 2, 1, 1), width=4,
                                      input_size=37, ssa_blocks="layer2.1",
                                      ssa_reduction=4),
     8, 1, "BF16", 4),
    # named arch: resnet18 at width 8, SSA in layer1.1 and layer2.0, F16
    ("resnet18_w8_f16", dict(arch="resnet18", width=8, input_size=45,
                             ssa_blocks="layer1.1,layer2.0"),
     3, 1, "F16", 5),
    # T = 1 (temporal softmax over one frame), B = 3, width 16, F16
    ("basic_w16_t1_b3", dict(arch="custom", block="basic",
                             layers=(1, 1, 1, 1), width=16, input_size=33,
                             ssa_blocks="layer1.0,layer2.0"),
     1, 3, "F16", 6),
    # no SSA at all (TSN), even maps
    ("basic_tsn_t8_b2", dict(arch="custom", block="basic",
                             layers=(1, 1, 1, 1), width=4, input_size=40),
     8, 2, "F32", 7),
    # SSA down to a 1x1 map (17 -> 9 -> 5 -> 3 -> 2 -> 1), every stage
    ("basic_all_stages_1x1", dict(arch="custom", block="basic",
                                  layers=(1, 1, 1, 1), width=4,
                                  input_size=17,
                                  ssa_blocks="layer1.0,layer2.0,layer3.0,"
                                             "layer4.0"),
     3, 2, "F32", 8),
    # bottleneck, multi-block stages, SSA in stride-2 layer3.0 and layer1.1,
    # T different from the model's segments (model trained with 8, run at 5)
    ("bottleneck_t5_of8", dict(arch="custom", block="bottleneck",
                               layers=(2, 1, 2, 1), width=4, input_size=41,
                               segments=8, ssa_blocks="layer1.1,layer3.0"),
     5, 1, "F32", 9),
    # TSM (spec section 1): every block shifted, no SSA, fold 2 of 8 in
    # layer1.0 (shift_div 4), B = 2
    ("basic_tsm_t8_b2", dict(arch="custom", block="basic",
                             layers=(1, 1, 1, 1), width=8, input_size=37,
                             shift_blocks="layer1.0,layer2.0,layer3.0,"
                                          "layer4.0", shift_div=4,
                             frame_rate="30000/1001", source="gen_golden"),
     8, 2, "F32", 10),
    # shift and SSA in the same blocks (layer1.0, layer2.0) and a shift
    # alone in the others, bottleneck with multi-block layer1, B = 2
    ("bottleneck_tsm_ssa_b2", dict(arch="custom", block="bottleneck",
                                   layers=(2, 1, 1, 1), width=8, input_size=41,
                                   ssa_blocks="layer1.0,layer2.0",
                                   shift_blocks="layer1.0,layer1.1,layer2.0,"
                                                "layer3.0,layer4.0"),
     4, 2, "F32", 11),
    # resnet18, shift in some blocks (layer1.0 also with SSA), run at T = 3
    # of the model's 8, F16
    ("resnet18_tsm_ssa_t3_f16", dict(arch="resnet18", width=8, input_size=45,
                                     segments=8, ssa_blocks="layer1.0",
                                     shift_blocks="layer1.0,layer2.1,"
                                                  "layer3.0,layer4.1",
                                     shift_div=2),
     3, 1, "F16", 12),
    # T = 1: every shifted channel reads zeros (both window edges at once)
    ("basic_tsm_t1_b3", dict(arch="custom", block="basic",
                             layers=(1, 1, 1, 1), width=8, input_size=33,
                             shift_blocks="layer1.0,layer3.0", shift_div=4),
     1, 3, "F32", 13),
]

# the test's tolerance; perturbations must exceed it by far
TOL = 1e-3


def _ssa_or_last(model):
    mods = [m for m in model.modules() if type(m).__name__ == "SSA"]
    return mods or [model.layer4[-1]]


def generate(outdir):
    os.makedirs(outdir, exist_ok=True)
    manifest = []
    total = 0
    for name, kw, T, B, dtype, seed in CASES:
        kw = dict(kw)
        kw.setdefault("segments", T)
        kw.setdefault("num_classes", 7)
        cfg = SSANConfig(**kw)
        path = os.path.join(outdir, name + ".safetensors")
        export(random_model(cfg, seed), path, dtype)
        model, cfg = load_model(path, torch.float64)

        gen = torch.Generator().manual_seed(1000 + seed)
        S = cfg.input_size
        x = torch.randn(B * T, 3, S, S, generator=gen).to(torch.float32)
        x.numpy().astype("<f4").tofile(os.path.join(outdir,
                                                    name + ".input.f32"))
        with torch.no_grad():
            xd = x.to(torch.float64)
            logits = model(xd, T)
            # sensitivity checks
            for m in _ssa_or_last(model):
                for p in m.parameters():
                    p.add_(0.05 * torch.randn(p.shape, generator=gen,
                                              dtype=torch.float64))
            d_perturb = float((model(xd, T) - logits).abs().max())
            model, _ = load_model(path, torch.float64)
            rev = xd.view(B, T, 3, S, S).flip(1).reshape(B * T, 3, S, S)
            d_reverse = float((model(rev, T) - logits).abs().max())
            # a shift the engine skipped would be seen
            d_noshift = 0.0
            if cfg.shift_blocks:
                for blk in model.modules():
                    if hasattr(blk, "fold"):
                        blk.fold = 0
                d_noshift = float((model(xd, T) - logits).abs().max())
        logits.to(torch.float32).numpy().astype("<f4").tofile(
            os.path.join(outdir, name + ".logits.f32"))
        # without SSA, TSN's mean over frames ignores their order, so a
        # TSM model's reversal sensitivity is that of its shift directions
        ordered = bool(cfg.ssa_blocks or cfg.shift_blocks)
        if (d_perturb < 100 * TOL
                or (ordered and T > 1 and d_reverse < 10 * TOL)
                or (cfg.shift_blocks and d_noshift < 100 * TOL)):
            raise SystemExit("%s: not sensitive enough (perturb %.3g, "
                             "reverse %.3g, no shift %.3g)"
                             % (name, d_perturb, d_reverse, d_noshift))
        size = sum(os.path.getsize(os.path.join(outdir, name + ext))
                   for ext in (".safetensors", ".input.f32", ".logits.f32"))
        total += size
        print("%-26s T=%d B=%d S=%-3d |logit| max %.3g, perturb %.3g, "
              "reverse %.3g, no shift %.3g, %d KiB"
              % (name, T, B, S, float(logits.abs().max()), d_perturb,
                 d_reverse, d_noshift, size // 1024))
        manifest.append("%s %d %d %d" % (name, T, B, cfg.num_classes))
    with open(os.path.join(outdir, "cases.txt"), "w") as fh:
        fh.write("# name T B num_classes (generated by tools/gen_golden.py)\n")
        fh.write("\n".join(manifest) + "\n")
    print("total %d KiB in %s" % (total // 1024, outdir))


def main():
    torch.set_num_threads(2)
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = (sys.argv[1] if len(sys.argv) > 1
              else os.path.join(here, "..", "tests", "data", "golden"))
    generate(outdir)


if __name__ == "__main__":
    main()
