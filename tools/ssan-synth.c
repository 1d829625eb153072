/* ssan-synth: writes clips of the synthetic action world as raw RGB8, the
 * training data of the bundled models.  The ssantestsrc element draws the
 * same clips: clip k of seed S here is clip k of ssantestsrc seed=S.
 *
 *   ssan-synth --seed 1 --clips 1000 --frames 32 --size 64 \
 *       --out train.u8 --labels train.txt
 */
#include "ssan/synth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage (FILE *f)
{
  fprintf (f,
      "usage: ssan-synth [options] --out FILE\n"
      "Writes N clips of the synthetic action world as raw RGB8 frames.\n"
      "\n"
      "  --seed S          seed (unsigned 64-bit integer, default 0)\n"
      "  --clips N         number of clips (default 1)\n"
      "  --first K         index of the first clip (default 0): the clips\n"
      "                    written are K .. K+N-1 of seed S\n"
      "  --frames F        frames per clip (default 32)\n"
      "  --size P          width = height = P pixels (default 64)\n"
      "  --width W         frame width (overrides --size)\n"
      "  --height H        frame height (overrides --size)\n"
      "  --class C         a class name (e.g. \"moving left\") or id, or\n"
      "                    'random' (default: each clip's own random class)\n"
      "                    or 'balanced' (clip k has class k mod %d)\n"
      "  --out FILE        raw output, '-' for stdout: clip after clip,\n"
      "                    frame after frame, row after row, R G B bytes;\n"
      "                    N*F*H*W*3 bytes in all\n"
      "  --labels FILE     one class id per line, one line per clip\n"
      "  --list-classes    print 'id<TAB>name' per class and exit\n"
      "  --help            this text\n"
      "\n"
      "Clip k of seed S draws its parameters from the PCG32 stream (S, k),\n"
      "whatever N or K: the same clip comes out of any run that includes it.\n",
      SSAN_SYNTH_N_CLASSES);
}

static int
parse_u64 (const char *s, unsigned long long *out)
{
  char *end;

  if (!s || !*s || *s == '-')
    return -1;
  errno = 0;
  *out = strtoull (s, &end, 10);
  return (errno || *end) ? -1 : 0;
}

static int
parse_int (const char *s, int lo, int hi, int *out)
{
  unsigned long long v;

  if (parse_u64 (s, &v) || v < (unsigned long long)lo
      || v > (unsigned long long)hi)
    return -1;
  *out = (int)v;
  return 0;
}

int
main (int argc, char **argv)
{
  unsigned long long seed = 0, first = 0, n_clips = 1, k;
  int frames = 32, width = 64, height = 64, class_id = -1, balanced = 0;
  const char *out_path = NULL, *labels_path = NULL;
  FILE *out = NULL, *labels = NULL;
  ssan_synth_canvas *canvas = NULL;
  uint8_t *frame = NULL;
  size_t frame_bytes;
  int i, t, ret = 1;

  /* each option takes a value: two arguments a step */
  for (i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = 0;

    if (!strcmp (a, "--help") || !strcmp (a, "-h")) {
      usage (stdout);
      return 0;
    } else if (!strcmp (a, "--list-classes")) {
      for (t = 0; t < SSAN_SYNTH_N_CLASSES; t++)
        printf ("%d\t%s\n", t, ssan_synth_class_name (t));
      return 0;
    } else if (!v) {
      fprintf (stderr, "ssan-synth: %s needs a value (see --help)\n", a);
      return 2;
    } else if (!strcmp (a, "--seed")) {
      bad = parse_u64 (v, &seed);
    } else if (!strcmp (a, "--clips")) {
      bad = parse_u64 (v, &n_clips);
    } else if (!strcmp (a, "--first")) {
      bad = parse_u64 (v, &first);
    } else if (!strcmp (a, "--frames")) {
      bad = parse_int (v, 1, 1 << 20, &frames);
    } else if (!strcmp (a, "--size")) {
      bad = parse_int (v, 1, SSAN_SYNTH_MAX_SIDE, &width);
      height = width;
    } else if (!strcmp (a, "--width")) {
      bad = parse_int (v, 1, SSAN_SYNTH_MAX_SIDE, &width);
    } else if (!strcmp (a, "--height")) {
      bad = parse_int (v, 1, SSAN_SYNTH_MAX_SIDE, &height);
    } else if (!strcmp (a, "--class")) {
      if (!strcmp (v, "random"))
        class_id = -1;
      else if (!strcmp (v, "balanced"))
        balanced = 1;
      else if ((class_id = ssan_synth_class_from_name (v)) < 0)
        bad = parse_int (v, 0, SSAN_SYNTH_N_CLASSES - 1, &class_id);
    } else if (!strcmp (a, "--out")) {
      out_path = v;
    } else if (!strcmp (a, "--labels")) {
      labels_path = v;
    } else {
      fprintf (stderr, "ssan-synth: unknown option %s (see --help)\n", a);
      return 2;
    }
    if (bad) {
      fprintf (stderr, "ssan-synth: bad value for %s: '%s'\n", a, v);
      return 2;
    }
  }
  if (!out_path) {
    fprintf (stderr, "ssan-synth: --out is required (see --help)\n");
    return 2;
  }
  if (first + n_clips < first) {
    fprintf (stderr, "ssan-synth: --first + --clips overflows\n");
    return 2;
  }

  frame_bytes = (size_t)width * (size_t)height * 3u;
  frame = malloc (frame_bytes);
  canvas = ssan_synth_canvas_new (width, height);
  if (!frame || !canvas) {
    fprintf (stderr, "ssan-synth: out of memory (%zu bytes)\n", frame_bytes);
    goto done;
  }
  out = strcmp (out_path, "-") ? fopen (out_path, "wb") : stdout;
  if (!out) {
    fprintf (
        stderr, "ssan-synth: cannot open %s: %s\n", out_path, strerror (errno));
    goto done;
  }
  if (labels_path && !(labels = fopen (labels_path, "w"))) {
    fprintf (stderr, "ssan-synth: cannot open %s: %s\n", labels_path,
        strerror (errno));
    goto done;
  }

  for (k = first; k < first + n_clips; k++) {
    ssan_synth_clip clip;
    int c = balanced ? (int)(k % SSAN_SYNTH_N_CLASSES) : class_id;

    if (ssan_synth_clip_init (&clip, seed, k, c, frames) != 0) {
      fprintf (stderr, "ssan-synth: cannot set up clip %llu\n", k);
      goto done;
    }
    for (t = 0; t < frames; t++) {
      if (ssan_synth_canvas_render (canvas, &clip, t, frame, (size_t)width * 3u)
          != 0) {
        fprintf (
            stderr, "ssan-synth: cannot render clip %llu frame %d\n", k, t);
        goto done;
      }
      if (fwrite (frame, 1, frame_bytes, out) != frame_bytes) {
        fprintf (stderr, "ssan-synth: write error on %s: %s\n", out_path,
            strerror (errno));
        goto done;
      }
    }
    if (labels && fprintf (labels, "%d\n", clip.class_id) < 0) {
      fprintf (stderr, "ssan-synth: write error on %s\n", labels_path);
      goto done;
    }
  }
  ret = 0;

done:
  if (out && out != stdout && fclose (out) != 0 && ret == 0) {
    fprintf (stderr, "ssan-synth: cannot close %s\n", out_path);
    ret = 1;
  }
  if (out == stdout && fflush (stdout) != 0 && ret == 0)
    ret = 1;
  if (labels && fclose (labels) != 0 && ret == 0) {
    fprintf (stderr, "ssan-synth: cannot close %s\n", labels_path);
    ret = 1;
  }
  ssan_synth_canvas_free (canvas);
  free (frame);
  return ret;
}
