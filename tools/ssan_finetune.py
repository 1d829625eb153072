"""Training on labelled video files: tools/train.py --train-list (see its
--help).  The recipe's defaults are the paper's where they fit (TSN segment
sampling with a random frame per segment, scale jitter and random crop,
Nesterov SGD with momentum 0.9, weight decay 5e-4, dropout 0.5, linear
warm-up, the learning rate divided by 10 when the validation loss stops
falling)."""

import collections
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as nnf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ssan_import  # noqa: E402
import ssan_video  # noqa: E402
from ssan_export import write_safetensors  # noqa: E402
from ssan_torch import SSAN, SSANConfig, load_model  # noqa: E402

SCALES = (1.0, 0.875, 0.75, 0.66)  # TSN's multi-scale crop


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


def add_arguments(ap):
    g = ap.add_argument_group(
        "labelled video files (--train-list: --out is then the model file)")
    g.add_argument("--train-list", metavar="FILE",
                   help="mmaction2 video list: 'path label' per line")
    g.add_argument("--val-list", metavar="FILE",
                   help="held-out list, scored after every epoch")
    g.add_argument("--data-root", metavar="DIR",
                   help="folder the list's paths are relative to (default: "
                   "the list's folder)")
    g.add_argument("--labels", metavar="FILE",
                   help="class names, one per line (list labels are indices "
                   "into it or names)")
    g.add_argument("--init", metavar="MODEL",
                   help="start from an ssan-1 model, or a torchvision / "
                   "mmaction2 checkpoint (.pth, through ssan_import)")
    g.add_argument("--arch", default=None,
                   help="without --init: resnet18/34/50/101 or custom "
                   "(default custom, basic, --layers, --width)")
    g.add_argument("--shift-blocks", default=None,
                   help="TSM: blocks to shift ('all': every block), added "
                   "to --init's (a shift has no weights)")
    g.add_argument("--segments", type=int, default=8, help="T")
    g.add_argument("--epochs", type=int, default=None)
    g.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd",
                   help="sgd: Nesterov, momentum 0.9 (the paper's)")
    g.add_argument("--dropout", type=float, default=0.5)
    g.add_argument("--warmup", type=float, default=0.05,
                   help="share of the steps with a linear warm-up")
    g.add_argument("--patience", type=int, default=3,
                   help="epochs without a lower validation loss (after the "
                   "warm-up) before the learning rate is divided by 10")
    g.add_argument("--flip", action="store_true",
                   help="mirror clips left-right (not for classes that "
                   "depend on direction)")
    g.add_argument("--resume", action="store_true",
                   help="continue from OUT.ckpt (written after every epoch "
                   "and kept: a finished run goes on to a larger --epochs "
                   "or --steps)")


def _fmt_rate(rate):
    num, den = rate
    g = math.gcd(num, den)
    num, den = num // g, den // g
    return str(num) if den == 1 else "%d/%d" % (num, den)


def _initial(args):
    """(state_dict, cfg) of --init, or (None, None)."""
    if not args.init:
        return None, None
    if args.init.endswith(".safetensors"):
        model, cfg = load_model(args.init)
        return model.state_dict(), cfg
    obj = ssan_import.read_checkpoint(args.init)
    mm = (isinstance(obj, collections.abc.Mapping) and "state_dict" in obj
          and any(str(k).startswith("backbone.") for k in obj["state_dict"]))
    if mm:
        cfg, tensors = ssan_import.import_mmaction2(args.init)
    else:
        cfg, tensors = ssan_import.import_torchvision(args.init)
    return tensors(), cfg


def build_model(args, init, labels, window_frames, rate):
    """The network to train: --init's weights (init: _initial's) where names
    and shapes match, a new fc for other classes, SSA modules of
    --ssa-blocks added as the identity (out_bn.weight 0, spec section
    2.7)."""
    sd, base = init
    ssa = [b for b in (args.ssa_blocks or "").split(",") if b]
    if base is not None:
        kw = dict(arch=base.arch, block=base.block, layers=base.layers,
                  width=base.width, mean=base.mean, std=base.std,
                  shift_div=base.shift_div,
                  ssa_reduction=base.ssa_reduction,
                  input_size=args.input_size or base.input_size)
        ssa = list(base.ssa_blocks) + [b for b in ssa
                                       if b not in base.ssa_blocks]
        kw["resize"] = (base.resize if kw["input_size"] == base.input_size
                        else None)
    else:
        arch = args.arch or "custom"
        kw = dict(arch=arch, width=args.width,
                  input_size=args.input_size or 112,
                  ssa_reduction=args.ssa_reduction)
        if arch == "custom":
            kw.update(block="basic",
                      layers=[int(v) for v in args.layers.split(",")])
    layers = SSANConfig(**dict(kw, ssa_blocks=())).layers
    order = ["layer%d.%d" % (i + 1, j)
             for i, n in enumerate(layers) for j in range(n)]
    shift = set(base.shift_blocks if base is not None else ())
    if args.shift_blocks == "all":
        shift.update(order)
    elif args.shift_blocks:
        shift.update(b for b in args.shift_blocks.split(",") if b)
    unknown = shift - set(order)
    if unknown:
        raise SystemExit("--shift-blocks: no block %r in this network"
                         % sorted(unknown)[0])
    kw["shift_blocks"] = [b for b in order if b in shift]
    if kw.get("resize") is None:
        kw["resize"] = int(round(kw["input_size"] * 256 / 224))
    source = "tools/train.py on %s" % os.path.basename(args.train_list)
    if args.init:
        source += ", from %s" % os.path.basename(args.init)
    cfg = SSANConfig(num_classes=len(labels), labels=labels,
                     segments=args.segments, ssa_blocks=ssa,
                     window_frames=max(window_frames, args.segments),
                     frame_rate=rate, source=source, **kw)
    model = SSAN(cfg, dropout=args.dropout)
    if sd is not None:
        own = model.state_dict()
        same_head = base.labels == labels
        taken = 0
        for k, v in sd.items():
            if k.startswith("fc.") and not same_head:
                continue
            if k in own and tuple(own[k].shape) == tuple(v.shape):
                own[k] = v.clone()
                taken += 1
        model.load_state_dict(own)
        log("init from %s: %d tensors taken%s; SSA in %s" % (
            args.init, taken, "" if same_head else ", new fc for %d classes"
            % len(labels), ",".join(ssa) or "no block"))
    return model, cfg


def _to_input(frames, cfg):
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    x = x.float().div_(255.0)
    mean = torch.tensor(cfg.mean).view(1, 3, 1, 1)
    std = torch.tensor(cfg.std).view(1, 3, 1, 1)
    return (x - mean) / std


def centre_clip(frames, cfg, T):
    """Spec sections 4-5 on a clip decoded with its shorter side at resize:
    T centre frames, the centre input_size crop."""
    f = frames[ssan_video.centre_indices(len(frames), T)]
    h, w = f.shape[1:3]
    s = cfg.input_size
    y0, x0 = (h - s) // 2, (w - s) // 2
    return _to_input(f[:, y0:y0 + s, x0:x0 + s], cfg)


def train_clip(frames, cfg, T, rng, flip):
    """TSN training sampling: a random frame per segment; one random scale
    (of the shorter side) and position for the whole clip, scaled to
    input_size."""
    f = frames[ssan_video.random_indices(len(frames), T, rng)]
    h, w = f.shape[1:3]
    side = max(1, int(round(min(h, w) * SCALES[rng.integers(len(SCALES))])))
    y0 = int(rng.integers(0, h - side + 1))
    x0 = int(rng.integers(0, w - side + 1))
    x = _to_input(f[:, y0:y0 + side, x0:x0 + side], cfg)
    if side != cfg.input_size:
        x = nnf.interpolate(x, size=(cfg.input_size, cfg.input_size),
                            mode="bilinear", align_corners=False,
                            antialias=side > cfg.input_size)
    if flip and rng.random() < 0.5:
        x = x.flip(3)
    return x


def evaluate(model, clips, labels, cfg, T, batch=8):
    """(accuracy, mean loss) of the twin, TSN test protocol."""
    if not clips:
        return float("nan"), float("nan")
    model.eval()
    right, loss = 0, 0.0
    with torch.no_grad():
        for s in range(0, len(clips), batch):
            x = torch.cat([centre_clip(c, cfg, T) for c in clips[s:s + batch]])
            y = torch.tensor(labels[s:s + batch])
            out = model(x, T)
            right += int((out.argmax(1) == y).sum())
            loss += float(nnf.cross_entropy(out, y, reduction="sum"))
    model.train()
    return right / len(clips), loss / len(clips)


def _save_ckpt(path, state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def main(args):
    if not args.labels:
        raise SystemExit("--train-list needs --labels FILE")
    out = args.out
    if os.path.isdir(out):
        raise SystemExit("--out %s is a folder: with --train-list it names "
                         "the model file" % out)
    ckpt = out + ".ckpt"
    if args.resume and not os.path.exists(ckpt):
        raise SystemExit("--resume: %s does not exist" % ckpt)
    if os.path.lexists(out) and not args.force and not args.resume:
        raise SystemExit("%s exists: choose another --out or pass --force "
                         "to replace it" % out)
    if os.path.lexists(ckpt) and not args.resume and not args.force:
        raise SystemExit("%s exists: --resume continues from it, --force "
                         "starts over" % ckpt)
    if args.segments < 1:
        raise SystemExit("--segments must be >= 1")
    torch.set_num_threads(args.threads)
    try:
        labels = ssan_video.read_labels(args.labels)
        train_items = ssan_video.read_list(args.train_list, labels,
                                           args.data_root)
        val_items = (ssan_video.read_list(args.val_list, labels,
                                          args.data_root)
                     if args.val_list else [])
    except ssan_video.ListError as e:
        raise SystemExit(str(e))

    # decode once at the network's resize (cfg depends on --init; peek)
    try:
        init = _initial(args)
    except (ssan_import.ImportError_, ValueError, OSError) as e:
        raise SystemExit("--init %s: %s" % (args.init, e))
    base = init[1]
    size = args.input_size or (base.input_size if base else 112)
    resize = (base.resize if base and size == base.input_size
              else int(round(size * 256 / 224)))
    t0 = time.time()
    log("decoding %d training and %d held-out videos (shorter side %d)"
        % (len(train_items), len(val_items), resize))
    tr_clips, tr_labels, rates, tr_skip = ssan_video.load_items(
        train_items, resize)
    va_clips, va_labels, _, va_skip = ssan_video.load_items(val_items, resize)
    log("decoded in %.0f s: %d training clips (%d skipped), %d held-out (%d "
        "skipped)" % (time.time() - t0, len(tr_clips), len(tr_skip),
                      len(va_clips), len(va_skip)))
    if not tr_clips:
        raise SystemExit("no training video could be decoded (%d skipped)"
                         % len(tr_skip))
    torch.manual_seed(args.seed)  # the new fc and SSA modules
    known = [r for r in rates if r]
    rate = (collections.Counter(known).most_common(1)[0][0]
            if known else None)
    window = int(np.median([len(c) for c in tr_clips]))
    model, cfg = build_model(args, init, labels, window,
                             _fmt_rate(rate) if rate else None)
    T = args.segments
    log("model: %s %s layers %s width %d, T %d, input %d (resize %d), SSA %s,"
        " shift %d blocks, %d classes, window %d frames at %s fps" % (
            cfg.arch, cfg.block, ",".join(map(str, cfg.layers)), cfg.width, T,
            cfg.input_size, cfg.resize, ",".join(cfg.ssa_blocks) or "none",
            len(cfg.shift_blocks), cfg.num_classes, cfg.window_frames,
            cfg.frame_rate or "unknown"))

    per_epoch = max(1, math.ceil(len(tr_clips) / args.batch))
    if args.steps is not None:
        steps = args.steps
    else:
        steps = (args.epochs or 20) * per_epoch
    if args.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=args.lr,
                              momentum=0.9, nesterov=True,
                              weight_decay=args.weight_decay)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr,
                                weight_decay=args.weight_decay)
    warm = max(1, int(steps * args.warmup))
    scale = 1.0  # plateau decay
    best_loss, bad_epochs = float("inf"), 0
    step, epoch, best = 0, 0, (-1.0, None)
    rng = np.random.default_rng(args.seed)
    if args.resume:
        st = torch.load(ckpt, map_location="cpu")
        if st["metadata"] != cfg.metadata():
            raise SystemExit("%s was written for another model or data "
                             "(metadata differ): --force starts over" % ckpt)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        step, epoch, scale = st["step"], st["epoch"], st["scale"]
        best_loss, bad_epochs = st["best_loss"], st["bad_epochs"]
        best = (st["best_acc"], st["best_model"])
        rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        log("resumed from %s at step %d (epoch %d)" % (ckpt, step, epoch))

    model.train()
    t_run, step0 = time.time(), step
    loss_sum, loss_n = 0.0, 0
    log_every = max(1, min(per_epoch, 50))
    while step < steps:
        order = rng.permutation(len(tr_clips))
        for s in range(0, len(order), args.batch):
            if step >= steps:
                break
            idx = order[s:s + args.batch]
            x = torch.cat([train_clip(tr_clips[i], cfg, T, rng, args.flip)
                           for i in idx])
            y = torch.tensor([tr_labels[i] for i in idx])
            lr = args.lr * scale * min(1.0, (step + 1) / warm)
            for g in opt.param_groups:
                g["lr"] = lr
            loss = nnf.cross_entropy(model(x, T), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            loss_sum += float(loss)
            loss_n += 1
            if step % log_every == 0 or step == steps:
                el = time.time() - t_run
                eta = el / (step - step0) * (steps - step)
                log("step %d/%d (epoch %d) loss %.3f lr %.3g | %.0f s, ETA "
                    "%.0f s" % (step, steps, epoch + 1, loss_sum / loss_n, lr,
                                el, eta))
                loss_sum, loss_n = 0.0, 0
        epoch += 1
        acc, vloss = evaluate(model, va_clips, va_labels, cfg, T)
        if va_clips:
            if vloss < best_loss - 1e-4:
                best_loss, bad_epochs = vloss, 0
            elif step > warm:
                bad_epochs += 1
                if bad_epochs >= args.patience and scale > 1e-3:
                    scale *= 0.1
                    bad_epochs = 0
                    log("validation loss flat for %d epochs: learning rate "
                        "x0.1" % args.patience)
            if acc > best[0]:
                best = (acc, {k: v.clone() for k, v in
                              model.state_dict().items()})
            log("epoch %d: held-out top-1 %.1f %% over %d clips, loss %.3f"
                % (epoch, 100 * acc, len(va_clips), vloss))
        _save_ckpt(ckpt, dict(
            model=model.state_dict(), optimizer=opt.state_dict(), step=step,
            epoch=epoch, scale=scale, best_loss=best_loss,
            bad_epochs=bad_epochs, best_acc=best[0], best_model=best[1],
            rng=rng.bit_generator.state, torch_rng=torch.get_rng_state(),
            metadata=cfg.metadata()))
    if best[1] is not None:
        model.load_state_dict(best[1])
        log("exporting the epoch with the best held-out top-1 (%.1f %%)"
            % (100 * best[0]))
    sd = {k: v for k, v in model.state_dict().items()}
    write_safetensors(out, sd, cfg.metadata())
    log("wrote %s (%d steps, %.1f min); skipped videos: %d training, %d "
        "held-out" % (out, step, (time.time() - t0) / 60, len(tr_skip),
                      len(va_skip)))
