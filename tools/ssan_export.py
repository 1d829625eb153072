#!/usr/bin/python3
"""Writes SSAN models as spec-conformant safetensors files (spec section 3)
and runs the PyTorch twin on raw frames.

  ssan_export.py random --arch resnet50 --segments 8 --input-size 224 \\
      --ssa-blocks layer1.0,layer2.0 --classes 10 --seed 1 -o out.safetensors
  ssan_export.py infer --model M.safetensors --input X.f32 [--segments T]

`random` (the default sub-command, so `ssan_export.py --arch ... -o F` works
too) writes a randomly initialised model whose BatchNorm statistics are
calibrated on random frames and whose SSA out_bn weights are non-zero, so that
every part of the network, SSA included, shapes the logits.  `infer` prints
window logits exactly like `ssan-infer --model M --input X.f32`: B lines of
num_classes `%.9g` values separated by single spaces.

From Python: export(model, path, dtype="F32") writes a trained SSAN module.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ssan_torch import SSAN, SSANConfig, load_model  # noqa: E402

WEIGHT_DTYPES = ("F32", "F16", "BF16")


def _tensor_bytes(t, dtype):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.int64:
        return "I64", t.numpy().astype("<i8").tobytes()
    t = t.to(torch.float32)
    if dtype == "F16":
        return "F16", t.numpy().astype("<f2").tobytes()
    if dtype == "BF16":
        # Round to nearest even, as torch does.
        return "BF16", t.to(torch.bfloat16).view(torch.int16).numpy() \
            .astype("<i2").tobytes()
    return "F32", t.numpy().astype("<f4").tobytes()


def write_safetensors(path, tensors, metadata, dtype="F32"):
    """tensors: ordered dict name -> torch tensor; floats stored as dtype."""
    if dtype not in WEIGHT_DTYPES:
        raise ValueError("dtype must be one of %s" % (WEIGHT_DTYPES,))
    header = {"__metadata__": dict(metadata)}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        dt, blob = _tensor_bytes(t, dtype)
        header[name] = {"dtype": dt, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    hdr = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hdr += b" " * (-len(hdr) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<Q", len(hdr)))
        fh.write(hdr)
        for blob in blobs:
            fh.write(blob)
    os.replace(tmp, path)


def export(model, path, dtype="F32"):
    """Writes a (trained) SSAN module with its config as spec metadata."""
    write_safetensors(path, model.state_dict(), model.cfg.metadata(), dtype)


def randomize(model, seed, calib_windows=2):
    """Deterministic random weights with non-trivial BatchNorm parameters
    and statistics, non-zero SSA out_bn, and unit-scale logits."""
    cfg = model.cfg
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)
            elif name.endswith("weight"):      # BatchNorm gamma
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            else:                              # biases, BatchNorm beta
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
        # Running statistics from a pass over random frames (train-mode
        # batch statistics), then perturbed so they are not exact.
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        model.train()
        T = cfg.segments
        x = torch.randn(calib_windows * T, 3, cfg.input_size, cfg.input_size,
                        generator=gen)
        model(x, T)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = 0.1
                m.running_mean.add_(0.1 * torch.randn(m.running_mean.shape,
                                                      generator=gen))
                m.running_var.mul_(0.8 + 0.4 * torch.rand(
                    m.running_var.shape, generator=gen))
        model.eval()
        logits = model(torch.randn(x.shape, generator=gen), T)
        scale = float(logits.std()) if logits.numel() > 1 else 1.0
        if scale > 0:
            model.fc.weight.mul_(2.0 / scale)
            model.fc.bias.mul_(2.0 / scale)
    return model


def random_model(cfg, seed):
    return randomize(SSAN(cfg), seed)


def read_frames(path, size):
    raw = np.fromfile(path, dtype="<f4")
    per = 3 * size * size
    if raw.size == 0 or raw.size % per:
        raise ValueError("%s: size is not a whole number of %dx%d frames"
                         % (path, size, size))
    return torch.from_numpy(raw.astype(np.float32).reshape(-1, 3, size, size))


def format_logits(logits):
    return "\n".join(" ".join("%.9g" % v for v in row)
                     for row in logits.tolist())


def _parse_list(s, conv=str):
    return [conv(v) for v in s.split(",") if v]


def main_random(args):
    labels = _parse_list(args.labels) if args.labels else None
    cfg = SSANConfig(
        arch=args.arch, block=args.block,
        layers=_parse_list(args.layers, int) if args.layers else None,
        width=args.width, num_classes=args.classes, segments=args.segments,
        input_size=args.input_size, resize=args.resize,
        ssa_blocks=args.ssa_blocks, ssa_reduction=args.ssa_reduction,
        labels=labels, window_frames=args.window_frames,
        shift_blocks=args.shift_blocks, shift_div=args.shift_div,
        frame_rate=args.frame_rate, source=args.source)
    model = random_model(cfg, args.seed)
    export(model, args.output, args.dtype)


def main_infer(args):
    dtype = torch.float64 if args.float64 else torch.float32
    model, cfg = load_model(args.model, dtype)
    T = args.segments or cfg.segments
    x = read_frames(args.input, cfg.input_size)
    if x.shape[0] % T:
        raise ValueError("%s: %d frames is not a multiple of T=%d"
                         % (args.input, x.shape[0], T))
    with torch.no_grad():
        logits = model(x.to(dtype), T)
    print(format_logits(logits))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("random", "infer", "-h", "--help"):
        argv.insert(0, "random")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("random", help="write a randomly initialised model")
    r.add_argument("--arch", default="resnet18",
                   help="resnet18/34/50/101 or custom")
    r.add_argument("--block", help="basic or bottleneck (custom)")
    r.add_argument("--layers", help="four block counts, e.g. 1,1,1,1 (custom)")
    r.add_argument("--width", type=int, default=64)
    r.add_argument("--classes", type=int, default=10)
    r.add_argument("--segments", type=int, default=8)
    r.add_argument("--input-size", type=int, default=224)
    r.add_argument("--resize", type=int)
    r.add_argument("--ssa-blocks", default="")
    r.add_argument("--ssa-reduction", type=int, default=2)
    r.add_argument("--labels", help="comma-separated class names")
    r.add_argument("--window-frames", type=int)
    r.add_argument("--shift-blocks", default="",
                   help="TSM: blocks whose residual branch is shifted")
    r.add_argument("--shift-div", type=int, default=8)
    r.add_argument("--frame-rate", help="e.g. 30 or 30000/1001")
    r.add_argument("--source", help="free text: where the weights came from")
    r.add_argument("--dtype", choices=WEIGHT_DTYPES, default="F32")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("-o", "--output", required=True)

    i = sub.add_parser("infer", help="print window logits like ssan-infer")
    i.add_argument("--model", required=True)
    i.add_argument("--input", required=True)
    i.add_argument("--segments", type=int, default=0)
    i.add_argument("--float64", action="store_true",
                   help="compute in double precision")

    args = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("SSAN_TORCH_THREADS", "2")))
    try:
        if args.cmd == "random":
            main_random(args)
        else:
            main_infer(args)
    except (ValueError, OSError) as e:
        print("ssan_export: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
