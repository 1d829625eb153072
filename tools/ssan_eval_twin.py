#!/usr/bin/python3
"""The PyTorch twin's predictions on the clips of a labelled list, by the
protocol ssan-demo --eval --list uses through the element: one window per
clip spanning the whole clip, the centre frames of its T equal segments
(spec section 4), shorter side scaled to the model's resize and the centre
crop (section 5; frames scaled by GStreamer's videoscale, where the element
crops and scales in one GstVideoConverter pass, so values may differ by
interpolation).

  ssan_eval_twin.py --model M --list FILE [--data-root DIR] [--segments T]

Prints one line per clip of the list, in order: `INDEX TOP1 TOP2 ...` (the
top-5 class indices), or `INDEX skip REASON`."""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ssan_video  # noqa: E402
from ssan_finetune import centre_clip  # noqa: E402
from ssan_torch import load_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--list", required=True)
    ap.add_argument("--data-root")
    ap.add_argument("--segments", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("SSAN_TORCH_THREADS", "1")))
    try:
        model, cfg = load_model(args.model)
        items = ssan_video.read_list(args.list, cfg.labels, args.data_root)
    except (ValueError, OSError) as e:
        print("ssan_eval_twin: %s" % e, file=sys.stderr)
        return 1
    T = args.segments or cfg.segments
    k = min(5, cfg.num_classes)
    for i, (path, _) in enumerate(items):
        try:
            frames, _ = ssan_video.decode(path, cfg.resize)
        except ssan_video.VideoError as e:
            print("%d skip %s" % (i, str(e).replace("\n", " ")), flush=True)
            continue
        if len(frames) < T:
            print("%d skip %d frames, fewer than T = %d" % (i, len(frames), T))
            continue
        with torch.no_grad():
            logits = model(centre_clip(frames, cfg, T), T)[0]
        top = torch.topk(logits, k).indices.tolist()
        print("%d %s" % (i, " ".join(map(str, top))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
