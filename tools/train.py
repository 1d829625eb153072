#!/usr/bin/python3
"""Trains the bundled demo models on the synthetic action world.

  /usr/bin/python3 tools/train.py --out DIR [--force]
      [--synth build/tools/ssan-synth] [--infer build/tools/ssan-infer]

Renders training and held-out clips with the project's own `ssan-synth`
(the same C code as the ssantestsrc element), trains a small SSAN and,
with the identical recipe, a TSN baseline (same network without SSA
modules), and exports both to DIR/ssan-demo.safetensors and
DIR/tsn-demo.safetensors (spec section 3, class names in `labels`); an
existing file there is never replaced without --force (checked before any
work, so `--out models` cannot silently overwrite the bundled models).  Finally
both are scored on test clips, with the PyTorch twin and (when --infer is
found) through the C engine.  Progress goes to stdout: step, loss, held-out
accuracy, time left.

Seeds (clip k of seed S is clip k of `ssantestsrc seed=S`):
  TRAIN_SEED  clips 0, 1, 2, ... (balanced: clip k has class k mod 11), a
              pool of fresh clips rendered as training goes (ClipStream);
              the last clip index used is printed at the end
  VAL_SEED    held-out clips scored during training
  TEST_SEED   test clips scored once at the end (reported in models/README.md)
No other seed is used; every other seed is unseen by the models.

Sampling (spec section 4, TSN): a clip of 32 frames is cut into T = 8
segments; training takes a random frame of each segment, evaluation the
centre frame floor(L (2i+1) / 2T).  Preprocessing (spec section 5): frames are
rendered square at input_size, so resize = input_size and the centre crop is
the whole frame; the synth's geometry, texture and noise are resolution
independent, and a quarter of the training clips is rendered at 4:3 and
higher resolution and scaled down like the element does, for robustness.
Augmentation uses the world's symmetries: a clip played backwards is the
other class of its reversal pair (exactly, see include/ssan/synth.h), a
horizontal mirror swaps left/right and clockwise/counter-clockwise, a
vertical mirror up/down and clockwise/counter-clockwise.

Hard classes get more of the batch: clips are drawn with a weight per
class of its running training loss plus a floor (--loss-floor), so once
the easy classes are learned, the batch goes to the pairs that are not yet
(the rotations need this: from uniform sampling alone they stay at chance
within the step budget).  No class gets more than a third of a batch
(--max-class-share; see class_shares for why).  Only training loss steers
it; held-out and test clips play no part.
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import torch
import torch.nn.functional as nnf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ssan_finetune  # noqa: E402
from ssan_export import export  # noqa: E402
from ssan_torch import SSAN, SSANConfig, load_model  # noqa: E402

TRAIN_SEED = 2718281
VAL_SEED = 3141592
TEST_SEED = 1618033

CLIP_FRAMES = 32
SEGMENTS = 8
INPUT_SIZE = 48
N_CLASSES = 11

ARCH = dict(arch="custom", block="basic", layers=(1, 1, 1, 1), width=16,
            segments=SEGMENTS, input_size=INPUT_SIZE, resize=INPUT_SIZE,
            ssa_reduction=2, window_frames=CLIP_FRAMES)
SSA_BLOCKS = "layer1.0,layer2.0"

# label permutations of the world's symmetries
PAIR = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 10]            # played backwards
HFLIP = [1, 0, 2, 3, 4, 5, 7, 6, 8, 9, 10]           # mirrored left-right
VFLIP = [0, 1, 3, 2, 4, 5, 7, 6, 8, 9, 10]           # mirrored up-down

HERE = os.path.dirname(os.path.abspath(__file__))


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


def class_names(synth):
    out = subprocess.run([synth, "--list-classes"], check=True,
                         capture_output=True, text=True).stdout
    names = [line.split("\t", 1)[1] for line in out.strip().split("\n")]
    if len(names) != N_CLASSES:
        raise SystemExit("ssan-synth lists %d classes, expected %d"
                         % (len(names), N_CLASSES))
    return names


def render(synth, seed, first, count, width, height, tmp):
    """Clips first..first+count-1 of seed (balanced classes) as uint8
    (count, CLIP_FRAMES, height, width, 3) and their class ids."""
    out = os.path.join(tmp, "clips.u8")
    lab = os.path.join(tmp, "labels.txt")
    subprocess.run([synth, "--seed", str(seed), "--first", str(first),
                    "--clips", str(count), "--frames", str(CLIP_FRAMES),
                    "--width", str(width), "--height", str(height),
                    "--class", "balanced", "--out", out, "--labels", lab],
                   check=True)
    clips = np.fromfile(out, dtype=np.uint8).reshape(
        count, CLIP_FRAMES, height, width, 3)
    labels = np.loadtxt(lab, dtype=np.int64).reshape(count)
    os.unlink(out)
    os.unlink(lab)
    return clips, labels


def scale_down(clips, size):
    """Spec section 5 on non-square, larger renders: centre square crop of
    the shorter side, scaled to size with an anti-aliased filter."""
    n, f, h, w, _ = clips.shape
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    out = np.empty((n, f, size, size, 3), np.uint8)
    for i in range(n):
        x = torch.from_numpy(clips[i, :, y0:y0 + s, x0:x0 + s]).permute(
            0, 3, 1, 2).float()
        x = nnf.interpolate(x, size=(size, size), mode="bilinear",
                            align_corners=False, antialias=True)
        out[i] = x.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    return out


def make_set(synth, seed, count, hires_every, tmp, first=0):
    """Clips first..first+count-1 of seed at INPUT_SIZE; every
    hires_every-th block of 110 clips is rendered at 4:3 and higher
    resolution, then scaled down."""
    parts, labels = [], []
    block = 110
    for start in range(first, first + count, block):
        n = min(block, first + count - start)
        k = start // block
        if hires_every and k % hires_every == hires_every - 1:
            w, h = ((160, 120), (224, 168), (128, 96))[(k // hires_every) % 3]
            c, lab = render(synth, seed, start, n, w, h, tmp)
            c = scale_down(c, INPUT_SIZE)
        else:
            c, lab = render(synth, seed, start, n, INPUT_SIZE, INPUT_SIZE, tmp)
        parts.append(c)
        labels.append(lab)
    return np.concatenate(parts), np.concatenate(labels)


class ClipStream:
    """Training clips of TRAIN_SEED, never short of fresh ones: a pool of
    `pool` clips whose oldest `chunk` are replaced by the next unseen clips
    (rendered by a background thread) every `every` training steps.  The
    replacement depends on the step count only, so a run is reproducible."""

    def __init__(self, synth, pool, chunk, every, tmp):
        self.synth, self.chunk, self.every = synth, chunk, every
        self.tmp = os.path.join(tmp, "stream")
        os.makedirs(self.tmp, exist_ok=True)
        self.clips, self.labels = make_set(synth, TRAIN_SEED, pool, 4, tmp)
        self.n_slots = pool // chunk
        self.slot = 0
        self.next_first = pool
        self._start()

    def _start(self):
        first = self.next_first
        self.next_first += self.chunk

        def work():
            self.result = make_set(self.synth, TRAIN_SEED, self.chunk, 4,
                                   self.tmp, first)

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def step(self, step):
        if step == 0 or step % self.every:
            return
        self.thread.join()
        c, lab = self.result
        s = self.slot * self.chunk
        self.clips[s:s + self.chunk] = c
        self.labels[s:s + self.chunk] = lab
        self.slot = (self.slot + 1) % self.n_slots
        self._start()

    def close(self):
        self.thread.join()
        os.rmdir(self.tmp)

    def clips_used(self):
        return self.next_first - self.chunk


def centre_indices():
    return [CLIP_FRAMES * (2 * i + 1) // (2 * SEGMENTS)
            for i in range(SEGMENTS)]


def to_input(frames, cfg):
    """uint8 (..., S, S, 3) -> normalised float (N, 3, S, S)."""
    x = torch.from_numpy(frames).reshape(-1, INPUT_SIZE, INPUT_SIZE, 3)
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(cfg.mean).view(1, 3, 1, 1)
    std = torch.tensor(cfg.std).view(1, 3, 1, 1)
    return (x - mean) / std


def train_batch(clips, labels, idx, rng, cfg):
    seg = CLIP_FRAMES // SEGMENTS
    frames, ys = [], []
    for i in idx:
        t = np.arange(SEGMENTS) * seg + rng.integers(0, seg, SEGMENTS)
        y = int(labels[i])
        if rng.random() < 0.5:
            t = CLIP_FRAMES - 1 - t
            y = PAIR[y]
        f = clips[i, t]
        if rng.random() < 0.5:
            f = f[:, :, ::-1]
            y = HFLIP[y]
        if rng.random() < 0.5:
            f = f[:, ::-1]
            y = VFLIP[y]
        frames.append(np.ascontiguousarray(f))
        ys.append(y)
    return to_input(np.stack(frames), cfg), torch.tensor(ys)


def predict(model, clips, cfg, batch=32):
    model.eval()
    preds = []
    with torch.no_grad():
        for s in range(0, len(clips), batch):
            x = to_input(clips[s:s + batch][:, centre_indices()], cfg)
            preds.append(model(x, SEGMENTS).argmax(1))
    model.train()
    return torch.cat(preds).numpy()


def report(preds, labels, names, title):
    lines = ["%s: %d clips, accuracy %.1f %%" % (
        title, len(labels), 100.0 * np.mean(preds == labels))]
    conf = np.zeros((N_CLASSES, N_CLASSES), np.int64)
    for p, y in zip(preds, labels):
        conf[y, p] += 1
    for c in range(N_CLASSES):
        n = conf[c].sum()
        lines.append("  %-28s %5.1f %%  (%d/%d)" % (
            names[c], 100.0 * conf[c, c] / max(n, 1), conf[c, c], n))
    for a in range(0, 10, 2):
        sel = (labels == a) | (labels == a + 1)
        lines.append("  pair %-23s %5.1f %%" % (
            names[a] + " / " + names[a + 1],
            100.0 * np.mean(preds[sel] == labels[sel])))
    lines.append("  confusion (rows: true class, columns: predicted):")
    for c in range(N_CLASSES):
        lines.append("    %2d " % c + " ".join("%3d" % v for v in conf[c]))
    return "\n".join(lines)


def class_shares(class_loss, floor, cap):
    """Expected share of each class in a batch: its running training loss
    plus floor, normalised, with no class above cap (the excess goes to the
    others in proportion).  The cap matters: batch norm normalises with the
    batch's statistics in training, and a batch made mostly of one class
    shifts them so far that the class's loss rises (measured on a trained
    model: "staying still" alone in a batch, loss 14; at 4 of 16 clips, 0.01),
    which would draw even more of the batch to it."""
    w = class_loss + floor
    capped = np.zeros(len(w), bool)
    while True:
        q = np.where(capped, cap,
                     w * (1 - cap * capped.sum()) / w[~capped].sum())
        over = (q > cap) & ~capped
        if not over.any():
            return q
        capped |= over


def train(name, cfg, val, args, n_runs_left, tmp):
    """Trains for args.steps steps, warm-up then cosine learning rate."""
    steps, lr = args.steps, args.lr
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = SSAN(cfg)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr,
                            weight_decay=args.weight_decay)
    warm = max(1, steps // 20)

    def lr_at(s):
        if s < warm:
            return lr * (s + 1) / warm
        return lr * 0.5 * (1 + math.cos(math.pi * (s - warm)
                                        / (steps - warm)))

    stream = ClipStream(args.synth, args.pool_clips, args.chunk_clips,
                        args.refresh_steps, tmp)
    t0 = time.time()
    loss_sum, loss_n = 0.0, 0
    class_loss = np.full(N_CLASSES, math.log(N_CLASSES))
    eval_every = max(1, steps // args.evals)
    for step in range(steps):
        stream.step(step)
        share = class_shares(class_loss, args.loss_floor,
                             args.max_class_share)
        counts = np.bincount(stream.labels, minlength=N_CLASSES)
        p = (share / np.maximum(counts, 1))[stream.labels]
        idx = rng.choice(len(stream.clips), args.batch, replace=False,
                         p=p / p.sum())
        x, y = train_batch(stream.clips, stream.labels, idx, rng, cfg)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        losses = nnf.cross_entropy(model(x, SEGMENTS), y, reduction="none")
        loss = losses.mean()
        for c, v in zip(y.tolist(), losses.tolist()):
            class_loss[c] += 0.02 * (v - class_loss[c])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_sum += float(loss)
        loss_n += 1
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            acc = np.mean(predict(model, val[0], cfg) == val[1])
            el = time.time() - t0
            left = el / (step + 1) * (steps - step - 1)
            left_all = left + (n_runs_left - 1) * el / (step + 1) * steps \
                * (args.tsn_cost if name == "ssan" else 1.0)
            log("%s step %d/%d (%d clips seen) loss %.3f held-out %.1f %% "
                "lr %.2g | %.0f s, ~%.0f s left (all: ~%.0f s)" % (
                    name, step + 1, steps, stream.clips_used(),
                    loss_sum / loss_n, 100 * acc, lr_at(step), el, left,
                    left_all))
            loss_sum, loss_n = 0.0, 0
    clips_used = stream.clips_used()
    stream.close()
    return model, time.time() - t0, clips_used


def eval_c(infer, path, clips, cfg, tmp):
    """Predictions of the C engine (ssan-infer) on the test clips."""
    inp = os.path.join(tmp, "test.f32")
    to_input(clips[:, centre_indices()], cfg).numpy().astype("<f4").tofile(inp)
    out = subprocess.run([infer, "--model", path, "--input", inp,
                          "--segments", str(SEGMENTS)], check=True,
                         capture_output=True, text=True).stdout
    os.unlink(inp)
    logits = np.array([[float(v) for v in line.split()]
                       for line in out.strip().split("\n")])
    return logits.argmax(1)


def main():
    global INPUT_SIZE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    build = os.path.join(HERE, "..", "build", "tools")
    ap.add_argument("--synth", default=os.path.join(build, "ssan-synth"))
    ap.add_argument("--infer", default=os.path.join(build, "ssan-infer"))
    ap.add_argument("--out", required=True, metavar="DIR",
                    help="directory for the exported models (created); "
                    "with --train-list: the model file")
    ap.add_argument("--force", action="store_true",
                    help="replace model files that already exist in DIR")
    ap.add_argument("--only", choices=("ssan", "tsn"))
    ap.add_argument("--ssa-blocks", default=SSA_BLOCKS)
    ap.add_argument("--width", type=int, default=ARCH["width"])
    ap.add_argument("--layers", default=",".join(map(str, ARCH["layers"])))
    ap.add_argument("--ssa-reduction", type=int, default=ARCH["ssa_reduction"])
    ap.add_argument("--input-size", type=int, default=None,
                    help="side of the square network input (synthetic: and "
                    "resize; default %d; videos: the --init model's, else "
                    "112)" % INPUT_SIZE)
    ap.add_argument("--pool-clips", type=int, default=4400,
                    help="training clips held at once")
    ap.add_argument("--chunk-clips", type=int, default=1100,
                    help="fresh clips replacing the oldest ones ...")
    ap.add_argument("--refresh-steps", type=int, default=160,
                    help="... every this many steps")
    ap.add_argument("--val-clips", type=int, default=330)
    ap.add_argument("--test-clips", type=int, default=1100)
    ap.add_argument("--steps", type=int, default=None,
                    help="training steps (synthetic: default 9000; videos: "
                    "default --epochs of the training list)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=None,
                    help="peak learning rate (synthetic: 3e-3, AdamW; "
                    "videos: 0.01)")
    ap.add_argument("--weight-decay", type=float, default=None,
                    help="synthetic: 1e-4; videos: 5e-4")
    ap.add_argument("--evals", type=int, default=15,
                    help="held-out evaluations per run")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--loss-floor", type=float, default=0.03,
                    help="class sampling weight = running class loss + this "
                    "(large: uniform classes)")
    ap.add_argument("--max-class-share", type=float, default=1 / 3,
                    help="no class gets more of a batch than this")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tsn-cost", type=float, default=0.65,
                    help="TSN step time relative to SSAN (ETA only)")
    ssan_finetune.add_arguments(ap)
    args = ap.parse_args()
    if args.train_list:
        if args.lr is None:
            args.lr = 0.01
        if args.weight_decay is None:
            args.weight_decay = 5e-4
        return ssan_finetune.main(args)
    if args.lr is None:
        args.lr = 3e-3
    if args.weight_decay is None:
        args.weight_decay = 1e-4
    if args.steps is None:
        args.steps = 9000
    if args.input_size is None:
        args.input_size = INPUT_SIZE
    names_out = [n for n in ("ssan", "tsn") if not args.only or n == args.only]
    outs = [os.path.join(args.out, "%s-demo.safetensors" % n)
            for n in names_out]
    if not args.force:
        for path in outs:
            if os.path.lexists(path):
                raise SystemExit("%s exists: choose another --out or pass "
                                 "--force to replace it" % path)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        raise SystemExit("--out %s: %s" % (args.out, e.strerror))

    if not 1.0 / N_CLASSES <= args.max_class_share <= 1.0:
        raise SystemExit("--max-class-share must be between 1/%d and 1"
                         % N_CLASSES)
    if args.loss_floor <= 0:
        raise SystemExit("--loss-floor must be positive")
    torch.set_num_threads(args.threads)
    for tool in (args.synth,):
        if not os.access(tool, os.X_OK):
            raise SystemExit("%s not found: build the project first "
                             "(meson setup build && ninja -C build)" % tool)
    INPUT_SIZE = args.input_size
    names = class_names(args.synth)
    t_all = time.time()
    tmp = tempfile.mkdtemp(prefix="ssan-train-")

    log("rendering %d held-out clips (seed %d) and %d test clips (seed %d); "
        "training clips (seed %d) are rendered as training goes" % (
            args.val_clips, VAL_SEED, args.test_clips, TEST_SEED, TRAIN_SEED))
    val = make_set(args.synth, VAL_SEED, args.val_clips, 0, tmp)
    test = make_set(args.synth, TEST_SEED, args.test_clips, 0, tmp)
    log("data ready in %.0f s" % (time.time() - t_all))

    runs = [("ssan", args.ssa_blocks), ("tsn", "")]
    if args.only:
        runs = [r for r in runs if r[0] == args.only]
    arch = dict(ARCH, width=args.width, ssa_reduction=args.ssa_reduction,
                input_size=INPUT_SIZE, resize=INPUT_SIZE,
                layers=tuple(int(v) for v in args.layers.split(",")))
    summary = []
    for k, (name, blocks) in enumerate(runs):
        cfg = SSANConfig(ssa_blocks=blocks, num_classes=N_CLASSES,
                         labels=names, **arch)
        model, secs, used = train(name, cfg, val, args, len(runs) - k, tmp)
        path = os.path.join(args.out, "%s-demo.safetensors" % name)
        export(model.eval(), path)
        log("%s: trained in %.0f s, exported %s" % (name, secs, path))
        model, cfg = load_model(path)
        summary.append("%s (%s), trained %d steps (batch %d, training clips "
                       "0..%d of seed %d) in %.1f min" % (
                           name, path, args.steps, args.batch, used - 1,
                           TRAIN_SEED, secs / 60))
        summary.append(report(predict(model, test[0], cfg), test[1], names,
                              "  twin, test seed %d" % TEST_SEED))
        if os.access(args.infer, os.X_OK):
            summary.append(report(eval_c(args.infer, path, test[0], cfg, tmp),
                                  test[1], names,
                                  "  C engine (ssan-infer), test seed %d"
                                  % TEST_SEED))
    os.rmdir(tmp)
    log("done in %.1f min" % ((time.time() - t_all) / 60))
    print("\n".join(summary))


if __name__ == "__main__":
    main()
