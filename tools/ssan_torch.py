"""PyTorch twin of the SSAN network (shared/spec/ssan-model.md, sections 1-2,
TSM's temporal shift included).

This module is the reference the C engine is tested against and the network
the training recipe trains, so it follows the spec literally and uses the
spec's (torchvision-compatible) parameter names.  It also reads spec model
files (section 3) without the `safetensors` package.

    from ssan_torch import SSAN, load_model
    model, cfg = load_model("model.safetensors")
    logits = model(frames, T)        # frames (B*T, 3, S, S) -> (B, classes)
"""

import json
import math
import re
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as nnf

ARCHS = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BN_EPS = 1e-5

# Largest number of N x N attention entries materialised at once by the
# position branch (frames are processed in chunks below this size).
_POS_CHUNK_ELEMS = 1 << 25


class SSANConfig:
    """Model configuration, mirroring the spec's __metadata__ table."""

    def __init__(self, arch="custom", block=None, layers=None, width=64,
                 num_classes=2, segments=8, input_size=224, resize=None,
                 mean=IMAGENET_MEAN, std=IMAGENET_STD, ssa_blocks=(),
                 ssa_reduction=2, labels=None, window_frames=None,
                 shift_blocks=(), shift_div=8, frame_rate=None, source=None):
        if arch in ARCHS:
            block, layers = ARCHS[arch]
        elif arch == "custom":
            if block not in ("basic", "bottleneck"):
                raise ValueError("custom arch needs block basic or bottleneck")
            if layers is None or len(layers) != 4 or min(layers) < 1:
                raise ValueError("custom arch needs four block counts >= 1")
        else:
            raise ValueError("unknown arch %r" % arch)
        self.arch = arch
        self.block = block
        self.layers = tuple(int(n) for n in layers)
        self.width = int(width)
        self.num_classes = int(num_classes)
        self.segments = int(segments)
        self.input_size = int(input_size)
        self.resize = (int(resize) if resize is not None
                       else int(round(self.input_size * 256 / 224)))
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        if isinstance(ssa_blocks, str):
            ssa_blocks = [s for s in ssa_blocks.split(",") if s]
        self.ssa_blocks = tuple(ssa_blocks)
        self.ssa_reduction = int(ssa_reduction)
        self.labels = (list(labels) if labels is not None
                       else ["class %d" % i for i in range(self.num_classes)])
        if len(self.labels) != self.num_classes:
            raise ValueError("labels must have num_classes entries")
        self.window_frames = (int(window_frames) if window_frames is not None
                              else self.segments)
        if self.window_frames < self.segments:
            raise ValueError("window_frames must be >= segments")
        if isinstance(shift_blocks, str):
            shift_blocks = [s for s in shift_blocks.split(",") if s]
        self.shift_blocks = tuple(shift_blocks)
        self.shift_div = int(shift_div)
        if self.shift_div < 2:
            raise ValueError("shift_div must be >= 2")
        for name in self.shift_blocks:
            self._check_block(name, "shift")
        if len(set(self.shift_blocks)) != len(self.shift_blocks):
            raise ValueError("a shift block is named twice")
        self.frame_rate = _check_rate(frame_rate)
        self.source = None if source is None else str(source)
        for name in self.ssa_blocks:
            self._check_block(name, "ssa")
            planes = self.width * 2 ** (int(name[5]) - 1)
            if planes % self.ssa_reduction:
                raise ValueError("ssa_reduction must divide %s's width" % name)

    def _check_block(self, name, what):
        parts = name.split(".")
        if (len(parts) != 2 or parts[0] not in
                ("layer1", "layer2", "layer3", "layer4")
                or not parts[1].isdigit()
                or int(parts[1]) >= self.layers[int(parts[0][5]) - 1]):
            raise ValueError("%s block %r does not exist" % (what, name))

    def metadata(self):
        """The spec section 3 __metadata__ dictionary (string -> string)."""
        md = {
            "format": "ssan-1",
            "arch": self.arch,
            "width": str(self.width),
            "num_classes": str(self.num_classes),
            "segments": str(self.segments),
            "input_size": str(self.input_size),
            "resize": str(self.resize),
            "mean": ",".join(_fmt_float(v) for v in self.mean),
            "std": ",".join(_fmt_float(v) for v in self.std),
            "ssa_blocks": ",".join(self.ssa_blocks),
            "ssa_reduction": str(self.ssa_reduction),
            "labels": json.dumps(self.labels),
            "window_frames": str(self.window_frames),
        }
        if self.arch == "custom":
            md["block"] = self.block
            md["layers"] = ",".join(str(n) for n in self.layers)
        if self.shift_blocks:
            md["shift_blocks"] = ",".join(self.shift_blocks)
            md["shift_div"] = str(self.shift_div)
        if self.frame_rate is not None:
            md["frame_rate"] = self.frame_rate
        if self.source is not None:
            md["source"] = self.source
        return md

    @classmethod
    def from_metadata(cls, md):
        def need(key):
            if key not in md:
                raise ValueError("metadata key %r missing" % key)
            return md[key]

        if md.get("format") != "ssan-1":
            raise ValueError("metadata format is not ssan-1")
        arch = need("arch")
        kw = {}
        if arch == "custom":
            kw["block"] = need("block")
            kw["layers"] = [int(v) for v in need("layers").split(",")]
        for key in ("width", "resize", "ssa_reduction", "window_frames",
                    "shift_div"):
            if key in md:
                kw[key] = int(md[key])
        for key in ("mean", "std"):
            if key in md:
                kw[key] = [float(v) for v in md[key].split(",")]
        for key in ("ssa_blocks", "shift_blocks", "frame_rate", "source"):
            if key in md:
                kw[key] = md[key]
        if "labels" in md:
            kw["labels"] = json.loads(md["labels"])
        return cls(arch=arch, num_classes=int(need("num_classes")),
                   segments=int(need("segments")),
                   input_size=int(need("input_size")), **kw)


_RATE = re.compile(r"[1-9][0-9]*(/[1-9][0-9]*)?\Z")


def _check_rate(rate):
    """frame_rate as the spec writes it ("30", "30000/1001") or None; a
    (num, den) pair or a positive integer is formatted so."""
    if rate is None:
        return None
    if isinstance(rate, tuple):
        num, den = (int(v) for v in rate)
        rate = str(num) if den == 1 else "%d/%d" % (num, den)
    elif isinstance(rate, int):
        rate = str(rate)
    if not isinstance(rate, str) or not _RATE.match(rate):
        raise ValueError("frame_rate %r is not N or N/D with integers > 0"
                         % (rate,))
    return rate


def _fmt_float(v):
    s = repr(float(v))
    return s[:-2] if s.endswith(".0") else s


class SSA(nn.Module):
    """Separable self-attention, spec section 2."""

    def __init__(self, channels, reduction=2):
        super().__init__()
        cr = channels // reduction
        self.theta = nn.Conv2d(channels, cr, 1)
        self.phi = nn.Conv2d(channels, cr, 1)
        self.g = nn.Conv2d(channels, cr, 1)
        self.theta_t = nn.Conv3d(cr, cr, (3, 1, 1), padding=(1, 0, 0))
        self.phi_t = nn.Conv3d(cr, cr, (3, 1, 1), padding=(1, 0, 0))
        self.out = nn.Conv2d(cr, channels, 1, bias=False)
        self.out_bn = nn.BatchNorm2d(channels, eps=BN_EPS)
        nn.init.zeros_(self.out_bn.weight)

    def forward(self, f, T):
        bt, _, h, w = f.shape
        b = bt // T
        n = h * w
        q = self.theta(f).flatten(2)          # (BT, C', N)
        k = self.phi(f).flatten(2)
        v = self.g(f).flatten(2)
        cr = q.shape[1]

        # Position branch: A^p[:, i] = sum_j softmax_j(q_i . k_j / sqrt(C')) v_j
        chunk = max(1, _POS_CHUNK_ELEMS // (n * n))
        ap = []
        for s in range(0, bt, chunk):
            qs, ks, vs = q[s:s + chunk], k[s:s + chunk], v[s:s + chunk]
            sp = torch.softmax(
                torch.bmm(qs.transpose(1, 2), ks) / math.sqrt(cr), dim=-1)
            ap.append(torch.bmm(vs, sp.transpose(1, 2)))
        ap = torch.cat(ap, 0)

        # Channel branch: A^c = softmax_row(Q K^T / sqrt(N)) V
        sc = torch.softmax(torch.bmm(q, k.transpose(1, 2)) / math.sqrt(n),
                           dim=-1)
        a = ap + torch.bmm(sc, v)

        # Temporal branch on A laid out (B, C', T, H, W); value = spatial V.
        a = a.view(b, T, cr, h, w).transpose(1, 2)
        qt = self.theta_t(a).transpose(1, 2).reshape(b, T, cr * n)
        kt = self.phi_t(a).transpose(1, 2).reshape(b, T, cr * n)
        st = torch.softmax(
            torch.bmm(qt, kt.transpose(1, 2)) / math.sqrt(cr * n), dim=-1)
        y = torch.bmm(st, v.reshape(b, T, cr * n)).view(bt, cr, h, w)
        return f + self.out_bn(self.out(y))


def temporal_shift(x, T, fold):
    """Spec section 1 (TSM): per window of T frames, channels [0, fold) take
    frame t+1 (zeros at t = T-1), channels [fold, 2 fold) frame t-1 (zeros
    at t = 0), the rest stay."""
    if fold == 0:
        return x
    bt, c, h, w = x.shape
    v = x.view(bt // T, T, c, h, w)
    out = torch.zeros_like(v)
    out[:, :-1, :fold] = v[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = v[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = v[:, :, 2 * fold:]
    return out.view(bt, c, h, w)


def _conv(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)


def _bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, ssa_reduction=None, fold=0):
        super().__init__()
        self.fold = fold
        self.conv1 = _conv(cin, planes, 3, stride)
        self.bn1 = _bn(planes)
        self.conv2 = _conv(planes, planes, 3)
        self.bn2 = _bn(planes)
        self.ssa = SSA(planes, ssa_reduction) if ssa_reduction else None
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride=stride, bias=False),
                _bn(planes))

    def forward(self, x, T):
        out = torch.relu(self.bn1(self.conv1(
            temporal_shift(x, T, self.fold))))
        if self.ssa is not None:
            out = self.ssa(out, T)
        out = self.bn2(self.conv2(out))
        idt = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + idt)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, ssa_reduction=None, fold=0):
        super().__init__()
        self.fold = fold
        self.conv1 = _conv(cin, planes, 1)
        self.bn1 = _bn(planes)
        self.conv2 = _conv(planes, planes, 3, stride)
        self.bn2 = _bn(planes)
        self.conv3 = _conv(planes, planes * 4, 1)
        self.bn3 = _bn(planes * 4)
        self.ssa = SSA(planes, ssa_reduction) if ssa_reduction else None
        self.downsample = None
        if stride != 1 or cin != planes * 4:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, planes * 4, 1, stride=stride, bias=False),
                _bn(planes * 4))

    def forward(self, x, T):
        out = torch.relu(self.bn1(self.conv1(
            temporal_shift(x, T, self.fold))))
        if self.ssa is not None:
            out = self.ssa(out, T)
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        idt = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + idt)


class SSAN(nn.Module):
    """ResNet backbone + SSA modules + TSN average consensus (spec 1-2)."""

    def __init__(self, cfg, dropout=0.0):
        super().__init__()
        self.cfg = cfg
        blk = BasicBlock if cfg.block == "basic" else Bottleneck
        w = cfg.width
        self.conv1 = nn.Conv2d(3, w, 7, stride=2, padding=3, bias=False)
        self.bn1 = _bn(w)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = w
        for i, nblocks in enumerate(cfg.layers):
            planes = w * 2 ** i
            blocks = []
            for j in range(nblocks):
                stride = 2 if (i > 0 and j == 0) else 1
                name = "layer%d.%d" % (i + 1, j)
                red = cfg.ssa_reduction if name in cfg.ssa_blocks else None
                fold = (cin // cfg.shift_div if name in cfg.shift_blocks
                        else 0)
                blocks.append(blk(cin, planes, stride, red, fold))
                cin = planes * blk.expansion
            setattr(self, "layer%d" % (i + 1), nn.ModuleList(blocks))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.fc = nn.Linear(cin, cfg.num_classes)

    def frame_logits(self, x, T):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        for i in range(4):
            for blk in getattr(self, "layer%d" % (i + 1)):
                x = blk(x, T)
        x = x.mean(dim=(2, 3))
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc(x)

    def forward(self, x, T=None):
        """x: (B*T, 3, S, S), frame t of window b at b*T + t -> (B, classes)."""
        T = T or self.cfg.segments
        if x.dim() != 4 or x.shape[0] % T:
            raise ValueError("input must be (B*T, 3, S, S)")
        logits = self.frame_logits(x, T)
        return logits.view(x.shape[0] // T, T, -1).mean(dim=1)


# ---- safetensors reading (spec section 3) ----

_DTYPES = {"F32": (np.float32, 4), "F16": (np.float16, 2),
           "BF16": (np.uint16, 2), "F64": (np.float64, 8),
           "I64": (np.int64, 8)}


def read_safetensors(path):
    """Returns (tensors: dict name -> float32/int64 numpy array, metadata)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 8:
        raise ValueError("%s: too short" % path)
    (hlen,) = struct.unpack("<Q", data[:8])
    if hlen > len(data) - 8:
        raise ValueError("%s: header length past end of file" % path)
    header = json.loads(data[8:8 + hlen].decode("utf-8"))
    base = 8 + hlen
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, d in header.items():
        if d["dtype"] not in _DTYPES:
            raise ValueError("%s: tensor %s: dtype %s" % (path, name, d["dtype"]))
        npdt, size = _DTYPES[d["dtype"]]
        begin, end = d["data_offsets"]
        shape = tuple(d["shape"])
        count = int(np.prod(shape)) if shape else 1
        if count * size != end - begin or base + end > len(data):
            raise ValueError("%s: tensor %s: bad offsets" % (path, name))
        arr = np.frombuffer(data, dtype=npdt, count=count, offset=base + begin)
        if d["dtype"] == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        elif d["dtype"] in ("F16", "F64"):
            arr = arr.astype(np.float32)
        tensors[name] = arr.reshape(shape).copy()
    return tensors, meta


def load_model(path, dtype=torch.float32):
    """Loads a spec model file into an SSAN module (eval mode)."""
    tensors, meta = read_safetensors(path)
    cfg = SSANConfig.from_metadata(meta)
    model = SSAN(cfg)
    sd = model.state_dict()
    want = {k for k in sd if not k.endswith("num_batches_tracked")}
    have = {k for k in tensors if not k.endswith("num_batches_tracked")}
    if want != have:
        raise ValueError("%s: missing %s, unexpected %s" % (
            path, sorted(want - have)[:5], sorted(have - want)[:5]))
    for k in want:
        if tuple(sd[k].shape) != tensors[k].shape:
            raise ValueError("%s: tensor %s: shape %s, expected %s" % (
                path, k, tensors[k].shape, tuple(sd[k].shape)))
        sd[k] = torch.from_numpy(tensors[k])
    model.load_state_dict(sd)
    return model.to(dtype).eval(), cfg
