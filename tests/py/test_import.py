#!/usr/bin/python3
"""tools/ssan_import.py against the real formats, built here (nothing can be
downloaded):

- torchvision: torchvision's own resnet18 and resnet50 (random weights,
  BatchNorm statistics from a pass over random frames), saved as
  torchvision saves them; the C engine's logits on the imported model must
  equal torchvision's forward averaged over T within 1e-3.
- mmaction2: TSN (ResNet-18) and TSM (ResNet-50, every block shifted, as
  mmaction2's tsm_r50 configs) checkpoints in mmaction2's key layout
  (ConvModule conv/bn, TemporalShift's conv1.conv.net, cls_head.fc_cls) with
  meta and an optimizer, checked against a forward written here from
  mmaction2's resnet.py / resnet_tsm.py / heads, independent of the twin.
- bad inputs: each a clear error naming the key or file, nothing written.

The engine runs through build/tools/ssan-infer (SSAN_BUILD: the build
folder)."""

import collections
import io
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools"))
import ssan_import  # noqa: E402

BUILD = os.environ.get("SSAN_BUILD", os.path.join(ROOT, "build"))
INFER = os.path.join(BUILD, "tools", "ssan-infer")
S = 64  # small frames keep the test quick; any size works
TOL = 1e-3


def calibrated(model, seed, frames=6):
    """Random weights as constructed, BatchNorm statistics from a pass over
    random frames (unit-scale activations), fc scaled to logits of order
    one, eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=gen))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
        model.train()
        model(torch.randn(frames, 3, S, S, generator=gen))
        model.eval()
        out = model(torch.randn(frames, 3, S, S, generator=gen))
        model.fc.weight.mul_(2.0 / float(out.std()))
    return model


def engine_logits(model_path, x):
    with tempfile.NamedTemporaryFile(suffix=".f32") as f:
        x.numpy().astype("<f4").tofile(f.name)
        out = subprocess.run([INFER, "--model", model_path, "--input", f.name,
                              "--threads", "1"],
                             capture_output=True, text=True, check=True)
    return np.array([[float(v) for v in line.split()]
                     for line in out.stdout.strip().split("\n")])


def run_import(*args):
    """ssan_import.main in this process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = ssan_import.main([str(a) for a in args])
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


# ---- mmaction2's layout and forward, from its sources, not the twin ----

def to_mmaction2(tv_sd, shifted):
    """torchvision ResNet state_dict -> mmaction2 backbone/cls_head keys;
    blocks in `shifted` get TemporalShift's conv1.conv.net."""
    out = collections.OrderedDict()
    for k, v in tv_sd.items():
        parts = k.split(".")
        if parts[0] == "conv1":
            nk = "backbone.conv1.conv." + parts[1]
        elif parts[0] == "bn1":
            nk = "backbone.conv1.bn." + parts[1]
        elif parts[0] == "fc":
            nk = "cls_head.fc_cls." + parts[1]
        else:
            blk = parts[0] + "." + parts[1]
            if parts[2] == "downsample":
                nk = "backbone.%s.downsample.%s.%s" % (
                    blk, "conv" if parts[3] == "0" else "bn", parts[4])
            elif parts[2].startswith("conv"):
                net = ".net" if parts[2] == "conv1" and blk in shifted else ""
                nk = "backbone.%s.%s.conv%s.%s" % (blk, parts[2], net,
                                                   parts[3])
            else:  # bnK
                nk = "backbone.%s.conv%s.bn.%s" % (blk, parts[2][2:], parts[3])
        out[nk] = v.clone()
    return out


def mm_shift(x, num_segments, shift_div):
    """TemporalShift.shift of mmaction2's resnet_tsm.py."""
    n, c, h, w = x.size()
    x = x.view(-1, num_segments, c, h * w)
    fold = c // shift_div
    left, mid, right = x[:, :, :fold], x[:, :, fold:2 * fold], x[:, :, 2 * fold:]
    blank = (left - left)[:, :1]
    left = torch.cat((left[:, 1:], blank), 1)
    blank = (mid - mid)[:, :1]
    mid = torch.cat((blank, mid[:, :-1]), 1)
    return torch.cat((left, mid, right), 2).view(n, c, h, w)


def mm_forward(sd, x, T, shift_div, head):
    """mmaction2 Recognizer2D forward: ResNet(TSM) backbone, TSN/TSMHead."""
    def conv_module(name, x, stride, pad, act, shift=False):
        w = sd[name + (".conv.net.weight" if shift else ".conv.weight")]
        if shift:
            x = mm_shift(x, T, shift_div)
        x = F.conv2d(x, w, stride=stride, padding=pad)
        x = F.batch_norm(x, sd[name + ".bn.running_mean"],
                         sd[name + ".bn.running_var"], sd[name + ".bn.weight"],
                         sd[name + ".bn.bias"], False, 0.0, 1e-5)
        return torch.relu(x) if act else x

    x = conv_module("backbone.conv1", x, 2, 3, True)
    x = F.max_pool2d(x, 3, 2, 1)
    bottleneck = "backbone.layer1.0.conv3.conv.weight" in sd
    for i in range(1, 5):
        j = 0
        while any(k.startswith("backbone.layer%d.%d." % (i, j)) for k in sd):
            b = "backbone.layer%d.%d" % (i, j)
            stride = 2 if i > 1 and j == 0 else 1
            shift = b + ".conv1.conv.net.weight" in sd
            if bottleneck:  # style='pytorch': the stride on the 3x3
                out = conv_module(b + ".conv1", x, 1, 0, True, shift)
                out = conv_module(b + ".conv2", out, stride, 1, True)
                out = conv_module(b + ".conv3", out, 1, 0, False)
            else:
                out = conv_module(b + ".conv1", x, stride, 1, True, shift)
                out = conv_module(b + ".conv2", out, 1, 1, False)
            if b + ".downsample.conv.weight" in sd:
                x = conv_module(b + ".downsample", x, stride, 0, False)
            x = torch.relu(out + x)
            j += 1
    feat = F.adaptive_avg_pool2d(x, 1).flatten(1)
    w, bias = sd["cls_head.fc_cls.weight"], sd["cls_head.fc_cls.bias"]
    if head == "tsn":  # TSNHead: consensus on features, then fc_cls
        return F.linear(feat.view(-1, T, feat.shape[1]).mean(1), w, bias)
    scores = F.linear(feat, w, bias)  # TSMHead: fc_cls, then consensus
    return scores.view(-1, T, scores.shape[1]).mean(1)


class _Payload:
    """Would create `path` when unpickled by a plain unpickler."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def mm_checkpoint(path, sd, config, extra_meta=None):
    meta = {"config": config, "mmaction_version": "0.24.1", "epoch": 50}
    meta.update(extra_meta or {})
    torch.save({"meta": meta, "state_dict": sd,
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.01}]}},
               path)


class Import(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.r18 = calibrated(torchvision.models.resnet18(num_classes=7), 1)
        cls.r18_path = os.path.join(cls.dir, "resnet18.pth")
        torch.save(cls.r18.state_dict(), cls.r18_path)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def out(self, name):
        return os.path.join(self.dir, name)

    def frames(self, n, seed):
        return torch.randn(n, 3, S, S, generator=torch.Generator()
                           .manual_seed(seed))

    def expect_error(self, needle, *args):
        out = [a for a in args if str(a).endswith(".safetensors")]
        rc, _, err = run_import(*args)
        print(err.strip())
        self.assertEqual(rc, 1, err)
        self.assertIn(needle, err)
        for o in out:
            self.assertFalse(os.path.exists(o), "%s was written" % o)
            self.assertFalse(os.path.exists(o + ".tmp"))
        return err

    # ---- torchvision ----

    def check_torchvision(self, model, src, T, B, seed):
        out = self.out(os.path.basename(src) + ".safetensors")
        rc, _, err = run_import("torchvision", src, out, "--segments", T,
                                "--input-size", S)
        self.assertEqual(rc, 0, err)
        x = self.frames(B * T, seed)
        with torch.no_grad():
            want = model(x).view(B, T, -1).mean(1).numpy()
        got = engine_logits(out, x)
        diff = float(np.abs(got - want).max())
        print("%s: engine vs torchvision max abs diff %.3g (|logit| max "
              "%.3g)" % (os.path.basename(src), diff, np.abs(want).max()))
        self.assertLess(diff, TOL)
        self.assertGreater(float(np.abs(want).max()), 0.5)

    def test_torchvision_resnet18(self):
        self.check_torchvision(self.r18, self.r18_path, 3, 2, 11)

    def test_torchvision_resnet50(self):
        model = calibrated(torchvision.models.resnet50(num_classes=5), 2)
        src = self.out("resnet50.pth")
        torch.save(model.state_dict(), src)
        self.check_torchvision(model, src, 2, 1, 12)

    def test_torchvision_info_and_labels(self):
        labels = self.out("labels7.txt")
        with open(labels, "w") as fh:
            fh.write("".join("act %d\n" % i for i in range(7)))
        rc, out, err = run_import("torchvision", self.r18_path, "--info",
                                  "--labels", labels)
        self.assertEqual(rc, 0, err)
        self.assertIn("resnet18 (basic, layers 2,2,2,2), 7 classes", out)
        self.assertIn("no temporal shift (TSN)", out)
        self.assertIn("act 0, act 1", out)

    # ---- mmaction2 ----

    def check_mmaction2(self, tv, name, shifted, head, T, config):
        sd = to_mmaction2(tv.state_dict(), shifted)
        src = self.out(name + ".pth")
        flag = self.out(name + "-payload")
        mm_checkpoint(src, sd, config, {"payload": _Payload(flag)})
        out = self.out(name + ".safetensors")
        rc, info, err = run_import("mmaction2", src, out, "--input-size", S)
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(flag), "the unpickler ran code")
        x = self.frames(2 * T, 21)
        with torch.no_grad():
            want = mm_forward(sd, x, T, 8, head).numpy()
        got = engine_logits(out, x)
        diff = float(np.abs(got - want).max())
        print("%s: engine vs mmaction2-style forward max abs diff %.3g"
              % (name, diff))
        self.assertLess(diff, TOL)
        return info, sd, x, want

    def test_mmaction2_tsn_r18(self):
        info, _, _, _ = self.check_mmaction2(
            self.r18, "tsn_r18", set(), "tsn", 3,
            "model = dict(type='Recognizer2D', backbone=dict(type='ResNet', "
            "depth=18), cls_head=dict(type='TSNHead', num_classes=7))\n"
            "test_pipeline = [dict(type='SampleFrames', clip_len=1, "
            "frame_interval=1, num_clips=3, test_mode=True)]\n")
        self.assertIn("segments 3, window 3 frames at unknown fps", info)
        self.assertIn("no temporal shift (TSN)", info)

    def test_mmaction2_tsm_r50(self):
        tv = calibrated(torchvision.models.resnet50(num_classes=6), 3)
        blocks = {"layer%d.%d" % (i + 1, j)
                  for i, n in enumerate((3, 4, 6, 3)) for j in range(n)}
        info, sd, x, want = self.check_mmaction2(
            tv, "tsm_r50", blocks, "tsm", 4,
            "model = dict(type='Recognizer2D', backbone=dict(type='ResNetTSM',"
            " depth=50, num_segments=4, shift_div=8, norm_eval=False),"
            " cls_head=dict(type='TSMHead', num_classes=6, num_segments=4))\n")
        self.assertIn("temporal shift (TSM) in 16 of 16 blocks, shift_div 8",
                      info)
        # the shift matters: without it the same weights give other logits
        plain = {k.replace(".conv.net.", ".conv."): v for k, v in sd.items()}
        with torch.no_grad():
            unshifted = mm_forward(plain, x, 4, 8, "tsm").numpy()
        self.assertGreater(float(np.abs(unshifted - want).max()), 100 * TOL)

    # ---- bad input ----

    def test_bad_inputs(self):
        d = self.out
        good = self.r18.state_dict()

        def saved(name, obj):
            path = d(name)
            torch.save(obj, path)
            return path

        self.expect_error("no such file", "torchvision", d("none.pth"),
                          d("a.safetensors"))
        with open(self.r18_path, "rb") as fh:
            data = fh.read()
        trunc = d("trunc.pth")
        with open(trunc, "wb") as fh:
            fh.write(data[:len(data) // 2])
        self.expect_error("not a readable PyTorch checkpoint", "torchvision",
                          trunc, d("b.safetensors"))
        mob = saved("mobilenet.pth", torchvision.models.mobilenet_v2(
            num_classes=3).state_dict())
        self.expect_error("'conv1.weight' missing: not a torchvision ResNet",
                          "torchvision", mob, d("c.safetensors"))
        sd = collections.OrderedDict(good)
        del sd["layer2.0.downsample.1.running_var"]
        self.expect_error("'layer2.0.downsample.1.running_var' missing",
                          "torchvision", saved("miss.pth", sd),
                          d("d.safetensors"))
        sd = collections.OrderedDict(good)
        sd["layer1.0.extra.weight"] = torch.zeros(3)
        self.expect_error("'layer1.0.extra.weight' has no place",
                          "torchvision", saved("extra.pth", sd),
                          d("e.safetensors"))
        sd = collections.OrderedDict(good)
        sd["layer3.1.conv2.weight"] = torch.zeros(256, 256, 1, 1)
        self.expect_error("'layer3.1.conv2.weight' has shape [256, 256, 1, 1]"
                          ", expected [256, 256, 3, 3]", "torchvision",
                          saved("shape.pth", sd), d("f.safetensors"))
        sd = collections.OrderedDict(good)
        sd["layer3.2.conv1.weight"] = sd["layer3.1.conv1.weight"]
        self.expect_error("with (2, 2, 3, 2) blocks per stage is not one of "
                          "ResNet-18/34/50/101", "torchvision",
                          saved("depth.pth", sd),
                          d("g.safetensors"))
        labels = d("labels3.txt")
        with open(labels, "w") as fh:
            fh.write("a\nb\nc\n")
        self.expect_error("3 lines, the checkpoint has 7 classes",
                          "torchvision", self.r18_path, d("h.safetensors"),
                          "--labels", labels)
        self.expect_error("use 'mmaction2'", "torchvision",
                          saved("mm-as-tv.pth",
                                to_mmaction2(good, set())),
                          d("i.safetensors"))

        mm = to_mmaction2(good, {"layer1.0"})
        self.expect_error("no 'state_dict'", "mmaction2", self.r18_path,
                          d("j.safetensors"))
        bad = collections.OrderedDict(mm)
        bad["backbone.conv1.conv.weight"] = torch.zeros(64, 3, 5, 7, 7)
        self.expect_error("(a 3D or other backbone?)", "mmaction2",
                          saved("r3d.pth", {"state_dict": bad}),
                          d("k.safetensors"))
        bad = collections.OrderedDict(
            (k.replace("layer2.0.conv1.conv.weight",
                       "layer2.0.net.conv1.conv.weight"), v)
            for k, v in mm.items())
        self.expect_error("shift_place='block'", "mmaction2",
                          saved("block.pth", {"state_dict": bad}),
                          d("l.safetensors"))
        bad = collections.OrderedDict(mm)
        del bad["cls_head.fc_cls.bias"]
        self.expect_error("'cls_head.fc_cls.bias' missing", "mmaction2",
                          saved("nohead.pth", {"state_dict": bad}),
                          d("m.safetensors"))
        bad = collections.OrderedDict(mm)
        bad["backbone.layer1.0.conv1.conv.weight"] = \
            bad["backbone.layer1.0.conv1.conv.net.weight"]
        self.expect_error("'backbone.layer1.0.conv1.conv.weight' has no place",
                          "mmaction2", saved("both.pth", {"state_dict": bad}),
                          d("n.safetensors"))
        path = d("caffe.pth")
        mm_checkpoint(path, mm, "backbone=dict(type='ResNetTSM', depth=18, "
                      "style='caffe')")
        self.expect_error("style='caffe'", "mmaction2", path,
                          d("o.safetensors"))

        existing = d("exists.safetensors")
        with open(existing, "wb") as fh:
            fh.write(b"keep")
        rc, _, err = run_import("torchvision", self.r18_path, existing)
        self.assertEqual(rc, 1)
        self.assertIn("exists (--force replaces it)", err)
        with open(existing, "rb") as fh:
            self.assertEqual(fh.read(), b"keep")

    def test_command_line(self):
        out = self.out("cli.safetensors")
        r = subprocess.run([sys.executable,
                            os.path.join(ROOT, "tools", "ssan_import.py"),
                            "torchvision", self.r18_path, out, "--segments",
                            "5", "--window-frames", "250", "--frame-rate",
                            "25"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        info = subprocess.run([INFER, "--model", out, "--info"],
                              capture_output=True, text=True, check=True)
        self.assertIn("arch: resnet18", info.stdout)
        self.assertIn("segments: 5", info.stdout)
        self.assertIn("input_size: 224", info.stdout)
        self.assertIn("resize: 256", info.stdout)
        self.assertIn("window_frames: 250", info.stdout)
        self.assertIn("frame_rate: 25\n", info.stdout)
        self.assertIn('source: "torchvision:resnet18.pth"', info.stdout)


if __name__ == "__main__":
    unittest.main()
