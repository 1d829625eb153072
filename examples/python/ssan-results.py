#!/usr/bin/python3
"""Reads gst-ssan's action results from Python, two ways.

1. A pad probe reads the GstSsanActionMeta on each buffer through GObject
   introspection (the GstSsan-1.0 typelib of the meta library): one meta per
   ssanaction element, each holding that element's latest result.
2. The bus carries one "ssan-action" element message per result.

    GST_PLUGIN_PATH=build/plugin GI_TYPELIB_PATH=build/plugin \
    LD_LIBRARY_PATH=build/plugin examples/python/ssan-results.py \
        --model models/ssan-demo.safetensors

(or inside `meson devenv -C build`, or with gst-ssan installed: no
variables).  Prints every result once from each path, probe results first;
examples/c/ssan-results.c prints exactly the same lines.  The probe also
prints the ground truth ssantestsrc attaches (its GstSsanClipMeta, one per
actor) once per clip, when there is one.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSsan", "1.0")
from gi.repository import GstSsan, Gst  # noqa: E402


def line(path, element, result_id, window_index, class_id, label, confidence,
         labels):
    return "%s %s result %d window %d class %d %s %.6f [%s]" % (
        path, element, result_id, window_index, class_id, label or "-",
        confidence, ",".join(labels))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    Gst.init(None)
    pipeline = Gst.parse_launch(
        "ssantestsrc seed=%d num-buffers=%d ! video/x-raw,width=160,height=120"
        " ! ssanaction name=action model=\"%s\" threads=1 ! fakesink name=sink"
        % (args.seed, args.frames, args.model))

    probe_lines, truth_lines, seen = [], [], set()

    def on_buffer(pad, info):
        # every element's result; the same result rides on every buffer
        # until the element's next one
        for r in GstSsan.buffer_get_ssan_action_results(info.get_buffer()):
            if (r.element, r.result_id) in seen:
                continue
            seen.add((r.element, r.result_id))
            probe_lines.append(line(
                "probe", r.element, r.result_id, r.window_index, r.class_id,
                r.label, r.confidence, r.get_top_labels()))
        # ssantestsrc's ground truth, if the buffer carries it: one clip
        # meta per actor, printed once per clip
        for c in GstSsan.buffer_get_ssan_clip_metas(info.get_buffer()):
            if ("clip", c.clip_index) in seen:
                continue
            seen.add(("clip", c.clip_index))
            truth_lines.append(
                "truth clip %d class %d %s frames %d start %d end %d" % (
                    c.clip_index, c.class_id, c.label, c.n_frames,
                    c.clip_start, c.clip_end))
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name("sink").get_static_pad("sink").add_probe(
        Gst.PadProbeType.BUFFER, on_buffer)

    bus_lines = []
    bus = pipeline.get_bus()
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        sys.exit("could not start the pipeline")
    while True:
        msg = bus.timed_pop_filtered(
            Gst.CLOCK_TIME_NONE,
            Gst.MessageType.ELEMENT | Gst.MessageType.EOS
            | Gst.MessageType.ERROR)
        if msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            sys.exit("error: %s (%s)" % (err.message, debug))
        if msg.type == Gst.MessageType.EOS:
            break
        s = msg.get_structure()
        if s is None or s.get_name() != "ssan-action":
            continue
        labels = s.get_value("labels")
        bus_lines.append(line(
            "bus", s.get_string("element"), s.get_value("result-id"),
            s.get_value("window-index"), s.get_value("class-id"),
            s.get_string("label"), s.get_value("confidence"),
            [labels[i] for i in range(len(labels))]))
    pipeline.set_state(Gst.State.NULL)

    print("\n".join(probe_lines + truth_lines + bus_lines))


if __name__ == "__main__":
    main()
