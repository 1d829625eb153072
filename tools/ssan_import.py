#!/usr/bin/python3
"""Imports public ResNet checkpoints as ssan-1 models (spec section 3).

  ssan_import.py torchvision SRC.pth OUT.safetensors [--segments T]
      [--labels FILE] [--input-size S] [--force]
  ssan_import.py mmaction2 SRC.pth OUT.safetensors [--segments T]
      [--labels FILE] [--shift-div D] [--input-size S] [--force]
  ssan_import.py {torchvision,mmaction2} SRC.pth --info

torchvision: a ResNet-18/34/50/101 state_dict (as torchvision.models saves
it, e.g. resnet50-0676ba61.pth, or a fine-tuned one with its own fc) -> a
TSN model: the same network on every frame, logits averaged over T, ImageNet
normalisation, the checkpoint's fc and classes.

mmaction2: a checkpoint (torch.save'd dict with `state_dict` and `meta`) of
a TSN or TSM ResNet (backbone ResNet / ResNetTSM, head TSNHead / TSMHead):
keys backbone.conv1.conv.weight, backbone.conv1.bn.*,
backbone.layerX.Y.convK.conv.weight (TSM: the shifted conv1 of a block is
backbone.layerX.Y.conv1.conv.net.weight), backbone.layerX.Y.convK.bn.*,
backbone.layerX.Y.downsample.conv/bn.*, cls_head.fc_cls.*.  The blocks
whose conv1 is wrapped in a shift become shift_blocks (mmaction2's
shift_place='blockres', spec section 1); mmaction2's normalisation (mean
123.675, 116.28, 103.53, std 58.395, 57.12, 57.375 on 0-255 RGB) becomes
mean/std on pixel/255.  num_segments and shift_div are read from the
configuration text in `meta` when it is there (else 8 and 8; --segments and
--shift-div override).

Both: the test protocol of these models (shorter side 256, centre crop 224)
becomes resize/input_size; labels come from a label-map file (one class per
line, as mmaction2 ships for Kinetics-400 and Something-Something).  Anything
that cannot be mapped exactly -- another backbone or depth, a non-linear or
missing head, a caffe-style ResNet, shift_place='block', non-local blocks,
temporal pooling, a missing or extra tensor, a wrong shape -- is an error
naming the key, and nothing is written.  The checkpoint is unpickled with a
restricted unpickler: tensors and plain containers only, any other object
becomes an inert placeholder (no code from the file runs).
"""

import argparse
import collections
import collections.abc
import os
import pickle
import re
import sys
import types

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ssan_export import write_safetensors  # noqa: E402
from ssan_torch import SSAN, SSANConfig  # noqa: E402

DEPTHS = {  # (block, layers) -> arch
    ("basic", (2, 2, 2, 2)): "resnet18",
    ("basic", (3, 4, 6, 3)): "resnet34",
    ("bottleneck", (3, 4, 6, 3)): "resnet50",
    ("bottleneck", (3, 4, 23, 3)): "resnet101",
}
MMACTION_MEAN = (123.675, 116.28, 103.53)
MMACTION_STD = (58.395, 57.12, 57.375)
BN_PARTS = ("weight", "bias", "running_mean", "running_var")


class ImportError_(ValueError):
    """A checkpoint that cannot be mapped exactly (message names the key)."""


# ---- reading a checkpoint without running code from it ----

class _Inert:
    """Stands for any object of a class the unpickler does not allow."""

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state

    def __call__(self, *args, **kwargs):
        return _Inert(*args)


_ALLOWED = {
    ("collections", "OrderedDict"), ("collections", "defaultdict"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
    ("builtins", "complex"), ("builtins", "range"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch", "Size"), ("torch", "device"),
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module == "torch" and (name.endswith("Storage")
                                  or name in ("float32", "float16",
                                              "bfloat16", "float64",
                                              "int64", "uint8")):
            return super().find_class(module, name)
        return type(name, (_Inert,), {})


class _PickleModule(types.ModuleType):
    """pickle, with the restricted unpickler."""
    Unpickler = _Unpickler

    @staticmethod
    def load(f, **kw):
        return _Unpickler(f, **kw).load()

    def __getattr__(self, name):
        return getattr(pickle, name)


def read_checkpoint(path):
    if not os.path.isfile(path):
        raise ImportError_("%s: no such file" % path)
    # torch 1.13's torch.load replaces any pickle_module by pickle unless
    # weights_only (whose unpickler refuses the objects mmaction2 keeps in
    # meta), so its module-level pickle is swapped while it loads
    saved = torch.serialization.pickle
    torch.serialization.pickle = _PickleModule("pickle")
    try:
        return torch.load(path, map_location="cpu")
    except Exception as e:  # torch raises many kinds for a damaged file
        raise ImportError_("%s: not a readable PyTorch checkpoint (truncated "
                           "or damaged?): %s: %s"
                           % (path, type(e).__name__, e)) from None
    finally:
        torch.serialization.pickle = saved


def _tensors(obj, path, where):
    if not isinstance(obj, collections.abc.Mapping) or not obj:
        raise ImportError_("%s: %s is not a dictionary of tensors"
                           % (path, where))
    for k, v in obj.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise ImportError_("%s: %s: entry %r is not a tensor"
                               % (path, where, k))
    return {k: v for k, v in obj.items()
            if not k.endswith("num_batches_tracked")}


# ---- mapping ----

def _stage_blocks(keys, prefix):
    """Block counts per stage from the keys 'prefix layerI.J.conv1...'."""
    counts = []
    for i in range(1, 5):
        n = 0
        while any(k.startswith("%slayer%d.%d." % (prefix, i, n))
                  for k in keys):
            n += 1
        counts.append(n)
    return tuple(counts)


def _arch(sd, path, prefix, conv_w):
    """(arch, block, layers) from the keys; conv_w(block, k) gives the name
    of block's convK weight."""
    keys = set(sd)
    for k in keys:
        m = re.match(re.escape(prefix) + r"layer([1-4])\.(\d+)\.", k)
        if k.startswith(prefix + "layer") and m is None:
            raise ImportError_("%s: key %r: not a block of a ResNet stage "
                               "(another backbone?)" % (path, k))
    layers = _stage_blocks(keys, prefix)
    block = ("bottleneck" if conv_w("layer1.0", 3) in keys else "basic")
    arch = DEPTHS.get((block, layers))
    if arch is None:
        raise ImportError_(
            "%s: a %s ResNet with %s blocks per stage is not one of "
            "ResNet-18/34/50/101 (spec section 1)" % (path, block, layers))
    return arch


def _fill(cfg, sd, path, mapping):
    """mapping: spec key -> source key.  Checks that every source tensor is
    used exactly once, every spec tensor present with its exact shape."""
    model = SSAN(cfg)
    want = {k: v for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}
    out = collections.OrderedDict()
    used = set()
    for key, ref in want.items():
        src = mapping(key)
        if src not in sd:
            raise ImportError_("%s: tensor %r missing%s" % (
                path, src, "" if src == key else " (spec tensor %s)" % key))
        t = sd[src]
        if tuple(t.shape) != tuple(ref.shape):
            raise ImportError_("%s: tensor %r has shape %s, expected %s"
                               % (path, src, list(t.shape), list(ref.shape)))
        if not t.is_floating_point():
            raise ImportError_("%s: tensor %r is %s, not floating point"
                               % (path, src, t.dtype))
        if not torch.isfinite(t).all():
            raise ImportError_("%s: tensor %r holds NaN or infinite values"
                               % (path, src))
        out[key] = t.detach().to(torch.float32).contiguous()
        used.add(src)
    extra = sorted(set(sd) - used)
    if extra:
        raise ImportError_("%s: tensor %r has no place in a %s model (%d "
                           "unused tensors)" % (path, extra[0], cfg.arch,
                                                len(extra)))
    return out


def _read_labels(path, n):
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ImportError_("labels file %s: %s" % (path, e)) from None
    labels = text.split("\n")
    if labels and labels[-1] == "":
        labels.pop()
    labels = [s.rstrip("\r") for s in labels]
    for i, s in enumerate(labels):
        if not s.strip():
            raise ImportError_("labels file %s: line %d is empty"
                               % (path, i + 1))
    if len(labels) != n:
        raise ImportError_("labels file %s: %d lines, the checkpoint has %d "
                           "classes" % (path, len(labels), n))
    return labels


def _size_kw(input_size):
    return dict(input_size=input_size,
                resize=int(round(input_size * 256 / 224)))


def import_torchvision(path, segments=8, labels=None, input_size=224):
    obj = read_checkpoint(path)
    if isinstance(obj, collections.abc.Mapping) and "state_dict" in obj \
            and isinstance(obj["state_dict"], collections.abc.Mapping):
        obj = obj["state_dict"]
    sd = _tensors(obj, path, "the checkpoint")
    if "conv1.weight" not in sd:
        hint = (" (an mmaction2 checkpoint? use 'mmaction2')"
                if any(k.startswith("backbone.") for k in sd) else "")
        raise ImportError_("%s: tensor 'conv1.weight' missing: not a "
                           "torchvision ResNet state_dict%s" % (path, hint))
    if tuple(sd["conv1.weight"].shape[1:]) != (3, 7, 7) \
            or sd["conv1.weight"].shape[0] != 64:
        raise ImportError_("%s: tensor 'conv1.weight' has shape %s, a "
                           "torchvision ResNet's is [64, 3, 7, 7]"
                           % (path, list(sd["conv1.weight"].shape)))
    arch = _arch(sd, path, "", lambda b, k: "%s.conv%d.weight" % (b, k))
    if "fc.weight" not in sd or sd["fc.weight"].dim() != 2:
        raise ImportError_("%s: tensor 'fc.weight' missing or not a matrix: "
                           "the head is not a single Linear layer" % path)
    n = int(sd["fc.weight"].shape[0])
    cfg = SSANConfig(arch=arch, width=64, num_classes=n, segments=segments,
                     labels=_read_labels(labels, n),
                     source="torchvision:%s" % os.path.basename(path),
                     **_size_kw(input_size))
    return cfg, (lambda: _fill(cfg, sd, path, lambda k: k))


def _config_text(obj):
    """The configuration text mmaction2 stores in meta (0.x: 'config',
    1.x: 'cfg'), or ''."""
    meta = obj.get("meta") if isinstance(obj, collections.abc.Mapping) \
        else None
    if not isinstance(meta, collections.abc.Mapping):
        return ""
    for key in ("cfg", "config"):
        if isinstance(meta.get(key), str):
            return meta[key]
    return ""


def _config_int(text, key):
    vals = set(re.findall(r"\b%s\s*=\s*(\d+)" % key, text))
    if len(vals) > 1:
        raise ImportError_("configuration in meta: %s has several values %s; "
                           "give it on the command line" % (key, sorted(vals)))
    return int(vals.pop()) if vals else None


def import_mmaction2(path, segments=None, labels=None, shift_div=None,
                     input_size=224):
    obj = read_checkpoint(path)
    if not isinstance(obj, collections.abc.Mapping) or "state_dict" not in obj:
        raise ImportError_("%s: no 'state_dict' in the checkpoint: not an "
                           "mmaction2 checkpoint" % path)
    sd = _tensors(obj["state_dict"], path, "state_dict")
    cfgtext = _config_text(obj)
    if re.search(r"style\s*=\s*['\"]caffe['\"]", cfgtext):
        raise ImportError_("%s: configuration in meta has style='caffe' "
                           "(stride on the 1x1 conv): spec section 1 is "
                           "torchvision's layout" % path)
    for k in sd:
        if not (k.startswith("backbone.") or k.startswith("cls_head.")):
            raise ImportError_("%s: tensor %r is neither backbone nor "
                               "cls_head" % (path, k))
        if ".non_local_block." in k or re.match(
                r"backbone\.layer\d+\.\d+\.block\.", k):
            raise ImportError_("%s: tensor %r: non-local blocks have no "
                               "place in spec section 1" % (path, k))
        if re.match(r"backbone\.layer\d+\.\d+\.net\.", k):
            raise ImportError_("%s: tensor %r: shift_place='block' (whole "
                               "block shifted, identity too) is not spec "
                               "section 1's 'blockres'" % (path, k))
        if re.match(r"backbone\.layer\d+\.net\.", k):
            raise ImportError_("%s: tensor %r: temporal pooling is not in "
                               "spec section 1" % (path, k))
    if "backbone.conv1.conv.weight" not in sd:
        raise ImportError_("%s: tensor 'backbone.conv1.conv.weight' missing: "
                           "not an mmaction2 ResNet (2D) backbone" % path)
    stem = sd["backbone.conv1.conv.weight"]
    if stem.dim() != 4 or tuple(stem.shape) != (64, 3, 7, 7):
        raise ImportError_("%s: tensor 'backbone.conv1.conv.weight' has shape "
                           "%s, an mmaction2 2D ResNet's is [64, 3, 7, 7] "
                           "(a 3D or other backbone?)"
                           % (path, list(stem.shape)))
    shifted = set()
    for k in sd:
        m = re.match(r"backbone\.(layer\d+\.\d+)\.conv1\.conv\.net\.weight$", k)
        if m:
            shifted.add(m.group(1))

    def conv_w(blk, k):
        base = "backbone.%s.conv%d.conv" % (blk, k)
        return base + (".net.weight" if k == 1 and blk in shifted
                       else ".weight")

    arch = _arch(sd, path, "backbone.", conv_w)
    for head in ("cls_head.fc_cls.weight", "cls_head.fc_cls.bias"):
        if head not in sd:
            raise ImportError_("%s: tensor %r missing: the head is not "
                               "mmaction2's TSNHead/TSMHead" % (path, head))
    if sd["cls_head.fc_cls.weight"].dim() != 2:
        raise ImportError_("%s: tensor 'cls_head.fc_cls.weight' is not a "
                           "matrix" % path)
    n = int(sd["cls_head.fc_cls.weight"].shape[0])
    if segments is None:
        segments = (_config_int(cfgtext, "num_segments")
                    or _config_int(cfgtext, "num_clips") or 8)
    if shift_div is None:
        shift_div = _config_int(cfgtext, "shift_div") or 8
    order = [("layer%d.%d" % (i + 1, j)) for i, nb in
             enumerate(SSANConfig(arch=arch).layers) for j in range(nb)]
    cfg = SSANConfig(
        arch=arch, width=64, num_classes=n, segments=segments,
        mean=[round(v / 255, 10) for v in MMACTION_MEAN],
        std=[round(v / 255, 10) for v in MMACTION_STD],
        shift_blocks=[b for b in order if b in shifted], shift_div=shift_div,
        labels=_read_labels(labels, n),
        source="mmaction2:%s" % os.path.basename(path), **_size_kw(input_size))

    def mapping(key):
        if key.startswith("fc."):
            return "cls_head.fc_cls." + key[3:]
        m = re.match(r"(layer\d+\.\d+)\.(conv|bn)(\d)\.(\w+)$", key)
        if m:
            blk, kind, k, part = m.groups()
            if kind == "conv":
                return conv_w(blk, int(k))
            return "backbone.%s.conv%s.bn.%s" % (blk, k, part)
        m = re.match(r"(layer\d+\.\d+)\.downsample\.([01])\.(\w+)$", key)
        if m:
            blk, i, part = m.groups()
            return "backbone.%s.downsample.%s.%s" % (
                blk, "conv" if i == "0" else "bn", part)
        if key == "conv1.weight":
            return "backbone.conv1.conv.weight"
        m = re.match(r"bn1\.(\w+)$", key)
        if m:
            return "backbone.conv1.bn." + m.group(1)
        raise AssertionError(key)

    return cfg, (lambda: _fill(cfg, sd, path, mapping))


def describe(cfg, src):
    lines = ["%s: %s (%s, layers %s), %d classes" % (
        src, cfg.arch, cfg.block, ",".join(map(str, cfg.layers)),
        cfg.num_classes)]
    lines.append("segments %d, window %d frames at %s fps, input %d (resize "
                 "%d), mean %s, std %s" % (
        cfg.segments, cfg.window_frames, cfg.frame_rate or "unknown",
        cfg.input_size, cfg.resize,
        ",".join("%.6g" % v for v in cfg.mean),
        ",".join("%.6g" % v for v in cfg.std)))
    if cfg.shift_blocks:
        lines.append("temporal shift (TSM) in %d of %d blocks, shift_div %d: "
                     "%s" % (len(cfg.shift_blocks), sum(cfg.layers),
                             cfg.shift_div, ",".join(cfg.shift_blocks)))
    else:
        lines.append("no temporal shift (TSN)")
    shown = cfg.labels[:5]
    lines.append("labels: %s%s" % (", ".join(shown),
                                   ", ..." if cfg.num_classes > 5 else ""))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", choices=("torchvision", "mmaction2"))
    ap.add_argument("src", metavar="SRC.pth")
    ap.add_argument("out", metavar="OUT.safetensors", nargs="?")
    ap.add_argument("--info", action="store_true",
                    help="print what the checkpoint holds; write nothing")
    ap.add_argument("--segments", type=int,
                    help="T (default: mmaction2's num_segments, else 8)")
    ap.add_argument("--labels", help="label map: one class name per line")
    ap.add_argument("--shift-div", type=int,
                    help="mmaction2 TSM: shift_div (default: from meta, 8)")
    ap.add_argument("--input-size", type=int, default=224,
                    help="crop side (resize = round(S*256/224)); 224 is "
                    "what these models were trained at")
    ap.add_argument("--window-frames", type=int,
                    help="source frames a window spans (window_frames: the "
                    "element's default window; e.g. a Kinetics clip's 250)")
    ap.add_argument("--frame-rate",
                    help="frame rate of the training clips: 30, 30000/1001")
    ap.add_argument("--force", action="store_true",
                    help="replace OUT if it exists")
    args = ap.parse_args(argv)
    if not args.info and args.out is None:
        ap.error("OUT.safetensors is required (or --info)")
    if args.segments is not None and args.segments < 1:
        ap.error("--segments must be >= 1")
    if args.out and not args.info and os.path.lexists(args.out) \
            and not args.force:
        print("ssan_import: %s exists (--force replaces it)" % args.out,
              file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    try:
        if args.source == "torchvision":
            if args.shift_div is not None:
                ap.error("--shift-div is for mmaction2 TSM checkpoints")
            cfg, tensors = import_torchvision(
                args.src, args.segments or 8, args.labels, args.input_size)
        else:
            cfg, tensors = import_mmaction2(
                args.src, args.segments, args.labels, args.shift_div,
                args.input_size)
        if args.window_frames is not None or args.frame_rate is not None:
            cfg = SSANConfig.from_metadata(dict(
                cfg.metadata(), **{k: str(v) for k, v in (
                    ("window_frames", args.window_frames),
                    ("frame_rate", args.frame_rate)) if v is not None}))
        sd = tensors()
        print(describe(cfg, args.src))
        if args.info:
            return 0
        try:
            write_safetensors(args.out, sd, cfg.metadata())
        except OSError as e:
            if os.path.exists(args.out + ".tmp"):
                os.unlink(args.out + ".tmp")
            raise ImportError_("%s: %s" % (args.out, e.strerror)) from None
        print("wrote %s" % args.out)
    except ImportError_ as e:
        print("ssan_import: %s" % e, file=sys.stderr)
        return 1
    except ValueError as e:  # SSANConfig's checks
        print("ssan_import: %s: %s" % (args.src, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
