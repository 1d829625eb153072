#!/usr/bin/python3
"""tools/train.py on labelled video files (WebM made here with ssantestsrc):
decoding through GStreamer, the frame rate and labels recorded in the model,
a missing and a damaged video skipped with a warning and counted, resumable
checkpoints, and the list errors (label not in the labels file, empty list,
no labels file) each a clear message with nothing written.  Short runs from
the bundled demo model (--init), so the test takes seconds; how well the
recipe learns is scripts/video-e2e.sh's job."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
BUILD = os.environ.get("SSAN_BUILD", os.path.join(ROOT, "build"))
TRAIN = os.path.join(ROOT, "tools", "train.py")
INFER = os.path.join(BUILD, "tools", "ssan-infer")
DEMO = os.path.join(ROOT, "models", "ssan-demo.safetensors")
CLASSES = ("moving left", "moving right", "appearing")


def make_clip(path, action, seed, frames=24, rate="25/1"):
    env = dict(os.environ)
    env.setdefault("GST_PLUGIN_PATH", os.path.join(BUILD, "plugin"))
    subprocess.run(["gst-launch-1.0", "-q", "ssantestsrc", "seed=%d" % seed,
                    "action=%s" % action, "num-buffers=%d" % frames,
                    "clip-frames=%d" % frames, "!",
                    "video/x-raw,width=96,height=72,framerate=%s" % rate,
                    "!", "videoconvert", "!", "vp8enc", "deadline=1", "!",
                    "webmmux", "!", "filesink", "location=%s" % path],
                   check=True, env=env)


def train(*args):
    return subprocess.run([sys.executable, TRAIN, "--threads", "1"]
                          + [str(a) for a in args],
                          capture_output=True, text=True, timeout=600)


class TrainVideos(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.dir = cls.tmp.name
        os.mkdir(os.path.join(d, "clips"))
        with open(os.path.join(d, "labels.txt"), "w") as fh:
            fh.write("\n".join(CLASSES) + "\n")
        lines = {"train": [], "val": []}
        for k, action in enumerate(CLASSES):
            for i in range(3):
                name = "clips/t%d-%d.webm" % (k, i)
                make_clip(os.path.join(d, name), action, 100 + 10 * k + i)
                # labels as indices and as names (no spaces)
                lines["train"].append("%s %d" % (name, k))
            name = "clips/v%d.webm" % k
            make_clip(os.path.join(d, name), action, 500 + k)
            lines["val"].append("%s %d" % (name, k))
        lines["train"].append("clips/missing.webm 0")
        with open(os.path.join(d, "clips", "damaged.webm"), "wb") as fh:
            fh.write(b"\x1aE\xdf\xa3" + b"\0" * 200)
        lines["train"].append("clips/damaged.webm 1")
        for split, ls in lines.items():
            with open(os.path.join(d, split + ".txt"), "w") as fh:
                fh.write("# %s list\n" % split + "\n".join(ls) + "\n")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def p(self, name):
        return os.path.join(self.dir, name)

    def common(self, out):
        return ["--train-list", self.p("train.txt"), "--val-list",
                self.p("val.txt"), "--labels", self.p("labels.txt"),
                "--init", DEMO, "--batch", "3", "--out", out]

    def test_train_resume_and_model(self):
        out = self.p("m.safetensors")
        r = train(*self.common(out), "--epochs", 1)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("missing.webm: no such file", r.stderr)
        self.assertIn("skipped", r.stderr)
        self.assertIn("9 training clips (2 skipped), 3 held-out (0 skipped)",
                      r.stdout)
        self.assertIn("epoch 1: held-out top-1", r.stdout)
        self.assertIn("ETA", r.stdout)
        self.assertIn("skipped videos: 2 training, 0 held-out", r.stdout)
        self.assertTrue(os.path.exists(out + ".ckpt"))
        info = subprocess.run([INFER, "--model", out, "--info"],
                              capture_output=True, text=True, check=True)
        self.assertIn("frame_rate: 25\n", info.stdout)
        self.assertIn('labels: ["moving left", "moving right", "appearing"]',
                      info.stdout)
        self.assertIn("num_classes: 3", info.stdout)
        self.assertIn("window_frames: 24", info.stdout)
        self.assertIn("ssa_blocks: layer1.0,layer2.0", info.stdout)
        self.assertIn('source: "tools/train.py on train.txt, from '
                      'ssan-demo.safetensors"', info.stdout)

        r = train(*self.common(out), "--epochs", 2)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("exists", r.stderr)
        r = train(*self.common(out), "--epochs", 2, "--resume")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("resumed from %s.ckpt at step 3 (epoch 1)" % out,
                      r.stdout)
        self.assertIn("epoch 2: held-out top-1", r.stdout)
        self.assertNotIn("epoch 1: held-out", r.stdout)
        self.assertIn("(6 steps,", r.stdout)
        self.check_demo_eval(out)

    def check_demo_eval(self, model):
        """ssan-demo --eval --list through ssanaction, the twin beside."""
        with open(self.p("eval.txt"), "w") as fh:
            fh.write("v0.webm 0\nv1.webm moving\nmissing.webm 2\n"
                     "v2.webm 2\n")
        env = dict(os.environ)
        env.setdefault("GST_PLUGIN_PATH", os.path.join(BUILD, "plugin"))
        demo = [os.path.join(BUILD, "tools", "ssan-demo"), "--eval",
                "--model", model, "--threads", "1", "--data-root",
                self.p("clips")]
        r = subprocess.run(demo + ["--list", self.p("eval.txt")], env=env,
                           capture_output=True, text=True, timeout=600)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("line 2: label 'moving' is not one of the model's 3 "
                      "classes", r.stderr)
        with open(self.p("eval.txt"), "w") as fh:
            fh.write("v0.webm 0\nv1.webm 1\nmissing.webm 2\nv2.webm 2\n")
        r = subprocess.run(demo + ["--list", self.p("eval.txt")], env=env,
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("warning: skipped", r.stderr)
        self.assertIn("missing.webm", r.stderr)
        self.assertIn("protocol: one window per clip", r.stdout)
        self.assertIn("confusion (element;", r.stdout)
        self.assertRegex(r.stdout, r"twin \(.*\): top-1 [0-9.]+ %, top-5 "
                         r"100.0 % over 3 clips; agrees with the element on "
                         r"[0-3]/3")
        self.assertRegex(r.stdout.strip().split("\n")[-1],
                         r"^top-1 [0-9]+\.[0-9] % over 3 clips$")

    def test_shift_added_to_init(self):
        out = self.p("tsm.safetensors")
        r = train(*self.common(out), "--epochs", 1, "--ssa-blocks", "",
                  "--shift-blocks", "layer2.0,layer1.0")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        info = subprocess.run([INFER, "--model", out, "--info"],
                              capture_output=True, text=True, check=True)
        self.assertIn("shift_blocks: layer1.0,layer2.0\n", info.stdout)
        # the demo model's own SSA blocks stay
        self.assertIn("ssa_blocks: layer1.0,layer2.0\n", info.stdout)

    def expect_refusal(self, needle, *args):
        out = self.p("refused.safetensors")
        r = train(*args, "--out", out)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(needle, r.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(out + ".ckpt"))

    def test_bad_lists(self):
        with open(self.p("bad-label.txt"), "w") as fh:
            fh.write("clips/t0-0.webm 0\nclips/t0-1.webm 3\n")
        self.expect_refusal("bad-label.txt, line 2: label 3 is not in the "
                            "labels file (3 classes: 0..2)",
                            "--train-list", self.p("bad-label.txt"),
                            "--labels", self.p("labels.txt"))
        with open(self.p("bad-name.txt"), "w") as fh:
            fh.write("clips/t0-0.webm jumping\n")
        self.expect_refusal("label 'jumping' is not in the labels file",
                            "--train-list", self.p("bad-name.txt"),
                            "--labels", self.p("labels.txt"))
        with open(self.p("empty.txt"), "w") as fh:
            fh.write("# nothing\n\n")
        self.expect_refusal("empty.txt has no videos", "--train-list",
                            self.p("empty.txt"), "--labels",
                            self.p("labels.txt"))
        self.expect_refusal("--train-list needs --labels FILE",
                            "--train-list", self.p("train.txt"))
        self.expect_refusal("--shift-blocks: no block 'layer1.1' in this "
                            "network", "--train-list", self.p("train.txt"),
                            "--labels", self.p("labels.txt"), "--init", DEMO,
                            "--shift-blocks", "layer1.1")
        with open(self.p("truncated.pth"), "wb") as fh:
            fh.write(b"PK\x03\x04" + b"\0" * 100)
        self.expect_refusal("--init %s: %s: not a readable PyTorch checkpoint"
                            % (self.p("truncated.pth"),
                               self.p("truncated.pth")),
                            "--train-list", self.p("train.txt"), "--labels",
                            self.p("labels.txt"), "--init",
                            self.p("truncated.pth"))
        with open(self.p("none.txt"), "w") as fh:
            fh.write("clips/missing.webm 0\n")
        self.expect_refusal("no training video could be decoded (1 skipped)",
                            "--train-list", self.p("none.txt"), "--labels",
                            self.p("labels.txt"))


if __name__ == "__main__":
    unittest.main()
