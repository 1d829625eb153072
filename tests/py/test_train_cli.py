#!/usr/bin/python3
"""tools/train.py's command line: --out is required and an existing model
file is never replaced without --force (issue 13).  Each refusal must come
before any work, so the file is left exactly as it was."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = os.path.join(HERE, "..", "..", "tools", "train.py")


def run(*args):
    return subprocess.run([sys.executable, TRAIN] + list(args),
                          capture_output=True, text=True, timeout=120)


class TrainCli(unittest.TestCase):
    def test_out_required(self):
        r = run("--steps", "1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--out", r.stderr)

    def test_existing_file_kept_without_force(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "tsn-demo.safetensors")
            with open(path, "wb") as fh:
                fh.write(b"precious")
            r = run("--out", d, "--only", "tsn", "--steps", "1",
                    "--synth", "/nonexistent/ssan-synth")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(path + " exists", r.stderr)
            self.assertIn("--force", r.stderr)
            with open(path, "rb") as fh:
                self.assertEqual(fh.read(), b"precious")

    def test_force_gets_past_the_check(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "tsn-demo.safetensors")
            open(path, "wb").close()
            r = run("--out", d, "--only", "tsn", "--steps", "1", "--force",
                    "--synth", "/nonexistent/ssan-synth")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("/nonexistent/ssan-synth not found", r.stderr)

    def test_out_not_a_directory(self):
        with tempfile.NamedTemporaryFile() as f:
            r = run("--out", f.name, "--steps", "1",
                    "--synth", "/nonexistent/ssan-synth")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("--out %s" % f.name, r.stderr)


if __name__ == "__main__":
    unittest.main()
