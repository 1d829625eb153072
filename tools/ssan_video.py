"""Labelled video files for training and evaluation (tools/train.py,
ssan-demo's twin figures): mmaction2's annotation lists, label maps, and
frames decoded through GStreamer (any file decodebin plays).

    labels = read_labels("labels.txt")          # one class name per line
    items = read_list("train.txt", labels, data_root=None)
    frames, rate = decode("clip.webm", 64)      # uint8 (N, H, W, 3)

A list line is `path label`: the label an integer index into the labels
file (mmaction2's format) or a class name without spaces; paths are relative
to --data-root, else to the list's folder.  Blank lines and lines starting
with # are skipped.
"""

import os
import sys

import numpy as np

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstPbutils", "1.0")
    from gi.repository import Gst, GstPbutils
except (ImportError, ValueError) as _e:  # reported when a video is decoded
    Gst = None
    _GST_ERROR = _e


class ListError(ValueError):
    """A list or labels file that cannot be used (message names file and
    line)."""


class VideoError(Exception):
    """A video that cannot be decoded (missing, unreadable, no video)."""


def read_labels(path):
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise ListError("labels file %s: %s" % (path, e)) from None
    if lines and lines[-1] == "":
        lines.pop()
    labels = [s.rstrip("\r") for s in lines]
    for i, s in enumerate(labels):
        if not s.strip():
            raise ListError("labels file %s: line %d is empty" % (path, i + 1))
    if not labels:
        raise ListError("labels file %s is empty" % path)
    if len(set(labels)) != len(labels):
        raise ListError("labels file %s names a class twice" % path)
    return labels


def read_list(path, labels, data_root=None):
    """[(video path, class index)]; ListError on any bad line or an empty
    list."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise ListError("list %s: %s" % (path, e)) from None
    root = data_root if data_root is not None else \
        os.path.dirname(os.path.abspath(path))
    index = {name: i for i, name in enumerate(labels)}
    items = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2:
            raise ListError("list %s, line %d: expected 'path label', got %r"
                            % (path, n, line))
        video, label = parts
        if label.isdigit():
            k = int(label)
            if k >= len(labels):
                raise ListError("list %s, line %d: label %d is not in the "
                                "labels file (%d classes: 0..%d)"
                                % (path, n, k, len(labels), len(labels) - 1))
        elif label in index:
            k = index[label]
        else:
            raise ListError("list %s, line %d: label %r is not in the labels "
                            "file" % (path, n, label))
        items.append((os.path.join(root, video), k))
    if not items:
        raise ListError("list %s has no videos" % path)
    return items


def _init():
    if Gst is None:
        raise VideoError("GStreamer Python bindings missing (python3-gst-1.0): "
                         "%s" % _GST_ERROR)
    if not Gst.is_initialized():
        Gst.init(None)


def probe(path):
    """(width, height, (fps_num, fps_den) or None) of the first video
    stream."""
    _init()
    if not os.path.isfile(path):
        raise VideoError("%s: no such file" % path)
    if not os.access(path, os.R_OK):
        raise VideoError("%s: not readable" % path)
    uri = Gst.filename_to_uri(os.path.abspath(path))
    try:
        info = GstPbutils.Discoverer.new(60 * Gst.SECOND).discover_uri(uri)
    except Exception as e:  # GLib.Error
        raise VideoError("%s: %s" % (path, getattr(e, "message", e))) from None
    streams = info.get_video_streams()
    if not streams:
        raise VideoError("%s: no video stream" % path)
    v = streams[0]
    rate = None
    if v.get_framerate_num() > 0 and v.get_framerate_denom() > 0:
        rate = (v.get_framerate_num(), v.get_framerate_denom())
    return v.get_width(), v.get_height(), rate


def decode(path, short_side, max_frames=100000):
    """All frames, scaled (aspect kept, square pixels) so that the shorter
    side is short_side, as uint8 (N, H, W, 3) RGB, and the frame rate
    (num, den) or None."""
    w, h, rate = probe(path)
    if w <= 0 or h <= 0:
        raise VideoError("%s: no frame size" % path)
    if w <= h:
        tw, th = short_side, max(1, round(h * short_side / w))
    else:
        tw, th = max(1, round(w * short_side / h)), short_side
    pipe = Gst.parse_launch(
        "filesrc name=src ! decodebin ! videoconvert ! videoscale ! "
        "video/x-raw,format=RGB,width=%d,height=%d,pixel-aspect-ratio=1/1 ! "
        "appsink name=sink sync=false max-buffers=8" % (tw, th))
    pipe.get_by_name("src").set_property("location", path)
    sink = pipe.get_by_name("sink")
    bus = pipe.get_bus()
    frames = []
    err = None
    pipe.set_state(Gst.State.PLAYING)
    try:
        while len(frames) < max_frames:
            sample = sink.emit("try-pull-sample", Gst.SECOND)
            msg = bus.pop_filtered(Gst.MessageType.ERROR)
            if msg is not None:
                e, dbg = msg.parse_error()
                err = e.message
                break
            if sample is None:
                if sink.get_property("eos"):
                    break
                continue
            buf = sample.get_buffer()
            ok, m = buf.map(Gst.MapFlags.READ)
            if not ok:
                err = "cannot map a decoded frame"
                break
            try:
                stride = len(m.data) // th
                a = np.frombuffer(m.data, np.uint8).reshape(th, stride)
                frames.append(a[:, :tw * 3].reshape(th, tw, 3).copy())
            finally:
                buf.unmap(m)
            if rate is None:
                s = sample.get_caps().get_structure(0)
                ok, num, den = s.get_fraction("framerate")
                if ok and num > 0 and den > 0:
                    rate = (num, den)
    finally:
        pipe.set_state(Gst.State.NULL)
    if err is not None:
        raise VideoError("%s: %s" % (path, err))
    if not frames:
        raise VideoError("%s: no frames decoded" % path)
    return np.stack(frames), rate


def centre_indices(n, T):
    """Spec section 4: the centre frame of each of T equal segments of n."""
    return [n * (2 * i + 1) // (2 * T) for i in range(T)]


def random_indices(n, T, rng):
    """TSN training: a random frame of each of T equal segments of n."""
    out = []
    for i in range(T):
        a, b = n * i // T, max(n * (i + 1) // T, n * i // T + 1)
        out.append(min(n - 1, int(rng.integers(a, b))))
    return out


def load_items(items, short_side, warn=None):
    """Decodes every video of items; (clips, labels, rates, skipped) where
    skipped lists (path, reason) of the videos that could not be decoded
    (each also reported through warn)."""
    warn = warn or (lambda m: print("warning: " + m, file=sys.stderr,
                                    flush=True))
    clips, labels, rates, skipped = [], [], [], []
    for path, k in items:
        try:
            frames, rate = decode(path, short_side)
        except VideoError as e:
            skipped.append((path, str(e)))
            warn("skipped %s" % e)
            continue
        clips.append(frames)
        labels.append(k)
        rates.append(rate)
    return clips, labels, rates, skipped
