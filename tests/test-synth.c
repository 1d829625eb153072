/* Tests of the synthetic action world (include/ssan/synth.h): determinism,
 * the reversal pairs, the canvas, sizes, classes, geometry, bad arguments. */
#include "ssan/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit-check.h"

static uint64_t
fnv1a (uint64_t h, const uint8_t *p, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* hash_clips (1234, 11, 4, 48, 36) of this version of the world */
#define GOLDEN_HASH 0x9cc52ef7f85bc76dULL

/* Hash of every frame of clips 0..n_clips-1 of seed at w x h. */
static uint64_t
hash_clips (uint64_t seed, int n_clips, int n_frames, int w, int h)
{
  uint8_t *buf = malloc ((size_t)w * h * 3);
  uint64_t hash = FNV_INIT;
  ssan_synth_clip clip;
  int k, t;

  if (!buf)
    return 0;
  for (k = 0; k < n_clips; k++) {
    if (ssan_synth_clip_init (&clip, seed, (uint64_t)k, -1, n_frames) != 0) {
      free (buf);
      return 0;
    }
    for (t = 0; t < n_frames; t++) {
      if (ssan_synth_render (&clip, t, w, h, buf, (size_t)w * 3) != 0) {
        free (buf);
        return 0;
      }
      hash = fnv1a (hash, buf, (size_t)w * h * 3);
    }
  }
  free (buf);
  return hash;
}

static void
test_names (void)
{
  static const char *expected[SSAN_SYNTH_N_CLASSES] = { "moving left",
    "moving right", "moving up", "moving down", "approaching", "receding",
    "rotating clockwise", "rotating counter-clockwise", "appearing",
    "disappearing", "staying still" };
  int i;

  CHECK (SSAN_SYNTH_N_CLASSES == 11, "11 classes");
  for (i = 0; i < SSAN_SYNTH_N_CLASSES; i++) {
    CHECK (ssan_synth_class_name (i)
               && strcmp (ssan_synth_class_name (i), expected[i]) == 0,
        "class %d is '%s'", i, expected[i]);
    CHECK (ssan_synth_class_from_name (expected[i]) == i, "from name %d", i);
  }
  CHECK (ssan_synth_class_name (-1) == NULL, "name(-1)");
  CHECK (ssan_synth_class_name (11) == NULL, "name(11)");
  CHECK (ssan_synth_class_from_name ("Moving left") == -1, "case matters");
  CHECK (ssan_synth_class_from_name (NULL) == -1, "NULL name");
}

static void
test_determinism (void)
{
  uint64_t a = hash_clips (1234, 11, 4, 48, 36);
  uint64_t b = hash_clips (1234, 11, 4, 48, 36);
  uint64_t c = hash_clips (1235, 11, 4, 48, 36);

  CHECK (a != 0 && a == b, "same seed, same pixels (%016llx %016llx)",
      (unsigned long long)a, (unsigned long long)b);
  CHECK (a != c, "another seed, other pixels");
  /* Golden value: the pixels of this world must not change silently, on
   * any machine or compiler.  Update it only with a deliberate change of
   * the world (and retrain the bundled models). */
  CHECK (a == GOLDEN_HASH, "golden hash: got %016llx, expected %016llx",
      (unsigned long long)a, (unsigned long long)GOLDEN_HASH);
}

static int
frames_equal (const ssan_synth_clip *a, int ta, const ssan_synth_clip *b,
    int tb, int w, int h)
{
  size_t n = (size_t)w * h * 3;
  uint8_t *fa = malloc (n), *fb = malloc (n);
  int eq = fa && fb && ssan_synth_render (a, ta, w, h, fa, (size_t)w * 3) == 0
           && ssan_synth_render (b, tb, w, h, fb, (size_t)w * 3) == 0
           && memcmp (fa, fb, n) == 0;

  free (fa);
  free (fb);
  return eq;
}

static void
test_reversal_pairs (void)
{
  static const int lengths[] = { 1, 2, 7, 32 };
  int pair, li, k, t, ok;

  for (pair = 0; pair < 5; pair++) {
    for (li = 0; li < 4; li++) {
      for (k = 0; k < 3; k++) {
        ssan_synth_clip fwd, bwd;
        int n = lengths[li];

        ssan_synth_clip_init (&fwd, 77, (uint64_t)k, 2 * pair, n);
        ssan_synth_clip_init (&bwd, 77, (uint64_t)k, 2 * pair + 1, n);
        ok = 1;
        for (t = 0; t < n && ok; t++)
          ok = frames_equal (&fwd, t, &bwd, n - 1 - t, 40, 30);
        CHECK (ok, "class %d frame t == class %d frame n-1-t (n=%d, clip %d)",
            2 * pair, 2 * pair + 1, n, k);
        if (n > 1)
          CHECK (!frames_equal (&fwd, 0, &fwd, n - 1, 40, 30),
              "class %d changes over the clip (n=%d, clip %d)", 2 * pair, n, k);
      }
    }
  }
}

static void
test_random_class (void)
{
  int seen[SSAN_SYNTH_N_CLASSES] = { 0 };
  int k, c, all = 1;

  for (k = 0; k < 440; k++) {
    ssan_synth_clip r, f;

    ssan_synth_clip_init (&r, 5, (uint64_t)k, -1, 16);
    seen[r.class_id]++;
    ssan_synth_clip_init (&f, 5, (uint64_t)k, r.class_id, 16);
    if (k < 40)
      CHECK (frames_equal (&r, 3, &f, 3, 24, 24),
          "random clip %d equals the same clip with its class forced", k);
  }
  for (c = 0; c < SSAN_SYNTH_N_CLASSES; c++)
    all = all && seen[c] >= 20 && seen[c] <= 60;
  CHECK (all, "random classes roughly uniform over 440 clips");
}

static void
test_sizes (void)
{
  static const int sizes[][2] = { { 1, 1 }, { 1, 7 }, { 7, 1 }, { 2, 2 },
    { 17, 9 }, { 9, 17 }, { 63, 65 }, { 1000, 3 }, { 1920, 1080 } };
  ssan_synth_clip clip;
  size_t i;

  ssan_synth_clip_init (&clip, 9, 4, SSAN_SYNTH_ROTATING_CW, 5);
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    int w = sizes[i][0], h = sizes[i][1];
    size_t stride = (size_t)w * 3 + 5;
    uint8_t *buf = malloc (stride * h + 16);
    int ok;

    if (!buf)
      continue;
    memset (buf, 0xab, stride * h + 16);
    ok = ssan_synth_render (&clip, 2, w, h, buf, stride) == 0;
    CHECK (ok, "renders %dx%d", w, h);
    /* the padding after each row and past the end is untouched */
    ok = 1;
    for (int y = 0; y < h; y++)
      for (size_t j = (size_t)w * 3; j < stride; j++)
        ok = ok && buf[(size_t)y * stride + j] == 0xab;
    for (int j = 0; j < 16; j++)
      ok = ok && buf[stride * h + j] == 0xab;
    CHECK (ok, "%dx%d writes nothing outside its pixels", w, h);
    free (buf);
  }
}

static void
test_canvas (void)
{
  static const int sizes[][2]
      = { { 1, 1 }, { 33, 17 }, { 320, 240 }, { 300, 301 } };
  size_t i;

  for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    int w = sizes[i][0], h = sizes[i][1], k, t, ok = 1;
    size_t n = (size_t)w * h * 3;
    ssan_synth_canvas *cv = ssan_synth_canvas_new (w, h);
    uint8_t *a = malloc (n), *b = malloc (n);

    CHECK (cv != NULL, "canvas %dx%d", w, h);
    if (!cv || !a || !b)
      goto next;
    /* clips change under the canvas: it must redraw its background */
    for (k = 0; k < 4 && ok; k++) {
      ssan_synth_clip clip;
      ssan_synth_clip_init (&clip, 31, (uint64_t)k, -1, 6);
      for (t = 0; t < 6 && ok; t += 5) {
        ok = ssan_synth_canvas_render (cv, &clip, t, a, (size_t)w * 3) == 0
             && ssan_synth_render (&clip, t, w, h, b, (size_t)w * 3) == 0
             && memcmp (a, b, n) == 0;
      }
    }
    CHECK (ok, "canvas %dx%d gives the pixels of ssan_synth_render", w, h);
  next:
    ssan_synth_canvas_free (cv);
    free (a);
    free (b);
  }
  CHECK (ssan_synth_canvas_new (0, 5) == NULL, "canvas 0x5 refused");
  CHECK (ssan_synth_canvas_new (5, SSAN_SYNTH_MAX_SIDE + 1) == NULL,
      "canvas too large refused");
}

static int
near (const uint8_t *p, const float rgb[3], int tol)
{
  int c;

  for (c = 0; c < 3; c++) {
    int d = (int)p[c] - (int)(rgb[c] + 0.5f);
    if (d < -tol || d > tol)
      return 0;
  }
  return 1;
}

/* The actor is where its parameters say, its centre pixel in its colour,
 * and stays in the action square. */
static void
test_geometry (void)
{
  const int w = 160, h = 120, side = 120;
  uint8_t *buf = malloc ((size_t)w * h * 3);
  int k, bad_place = 0, bad_colour = 0, checked = 0;

  if (!buf)
    return;
  for (k = 0; k < 220; k++) {
    ssan_synth_clip c;
    int n = 9, t;

    ssan_synth_clip_init (&c, 42, (uint64_t)k, k % SSAN_SYNTH_N_CLASSES, n);
    for (t = 0; t < n; t++) {
      int tf = (c.class_id < 10 && (c.class_id & 1)) ? n - 1 - t : t;
      double f = (double)tf / (n - 1);
      double x = c.x0 + c.dx * f, y = c.y0 + c.dy * f;
      double r = c.r0 + (c.r1 - c.r0) * f;
      double lim = SSAN_SYNTH_ACTION_HALF + 1e-9;
      double alpha = 1.0;
      int px, py;

      if (x - r - c.jitter < -lim || x + r + c.jitter > lim
          || y - r - c.jitter < -lim || y + r + c.jitter > lim)
        bad_place++;
      if (c.fade_in_end > c.fade_in_start)
        alpha = (f - c.fade_in_start) / (c.fade_in_end - c.fade_in_start);
      if (alpha < 1.0 || r * side < (c.has_marker ? 16.0 : 10.0))
        continue;
      px = (int)(x * side + w * 0.5);
      py = (int)(y * side + h * 0.5);
      ssan_synth_render (&c, t, w, h, buf, (size_t)w * 3);
      checked++;
      if (!near (buf + ((size_t)py * w + px) * 3, c.rgb, 16))
        bad_colour++;
    }
  }
  CHECK (bad_place == 0, "%d actor positions outside the action square",
      bad_place);
  CHECK (checked > 500 && bad_colour == 0,
      "%d of %d actor centres not in the actor's colour", bad_colour, checked);
  free (buf);

  /* the directions the class names promise (y grows downwards) */
  for (k = 0; k < 30; k++) {
    ssan_synth_clip c;
    ssan_synth_clip_init (&c, 8, (uint64_t)k, SSAN_SYNTH_MOVING_LEFT, 8);
    CHECK (c.dx < -0.2 && c.dy > -0.07 && c.dy < 0.07, "left: dx %f", c.dx);
    ssan_synth_clip_init (&c, 8, (uint64_t)k, SSAN_SYNTH_MOVING_UP, 8);
    CHECK (c.dy < -0.2 && c.dx > -0.07 && c.dx < 0.07, "up: dy %f", c.dy);
    ssan_synth_clip_init (&c, 8, (uint64_t)k, SSAN_SYNTH_APPROACHING, 8);
    CHECK (c.r1 > 2.0 * c.r0 && c.dx == 0.0 && c.dy == 0.0, "approaching");
    ssan_synth_clip_init (&c, 8, (uint64_t)k, SSAN_SYNTH_ROTATING_CW, 8);
    /* a visible turn, but under half a turn: the direction is unambiguous */
    CHECK (c.da > 1.0 && c.da < 2.5 && c.has_marker && c.r0 == c.r1,
        "clockwise: da %f", c.da);
    ssan_synth_clip_init (&c, 8, (uint64_t)k, SSAN_SYNTH_APPEARING, 8);
    CHECK (c.fade_in_end > c.fade_in_start && c.fade_in_end <= 1.0,
        "appearing fades in");
    ssan_synth_clip_init (&c, 8, (uint64_t)k, SSAN_SYNTH_STAYING_STILL, 8);
    CHECK (c.dx == 0.0 && c.dy == 0.0 && c.da == 0.0 && c.r0 == c.r1
               && c.fade_in_end == c.fade_in_start,
        "staying still");
  }
}

static void
test_bad_arguments (void)
{
  ssan_synth_clip c;
  uint8_t px[3 * 4];
  int idx[2] = { 0, 5 };

  CHECK (ssan_synth_clip_init (NULL, 0, 0, 0, 8) == -1, "NULL clip");
  CHECK (ssan_synth_clip_init (&c, 0, 0, 11, 8) == -1, "class 11");
  CHECK (ssan_synth_clip_init (&c, 0, 0, -2, 8) == -1, "class -2");
  CHECK (ssan_synth_clip_init (&c, 0, 0, 0, 0) == -1, "0 frames");
  CHECK (ssan_synth_clip_init (&c, 0, 0, 0, 4) == 0, "good clip");
  CHECK (ssan_synth_render (&c, 4, 2, 2, px, 6) == -1, "frame 4 of 4");
  CHECK (ssan_synth_render (&c, -1, 2, 2, px, 6) == -1, "frame -1");
  CHECK (ssan_synth_render (&c, 0, 0, 2, px, 6) == -1, "width 0");
  CHECK (ssan_synth_render (&c, 0, 2, 2, px, 5) == -1, "stride too small");
  CHECK (ssan_synth_render (&c, 0, 2, 2, NULL, 6) == -1, "NULL pixels");
  CHECK (ssan_synth_render (NULL, 0, 2, 2, px, 6) == -1, "NULL clip");
  CHECK (ssan_synth_render (&c, 0, SSAN_SYNTH_MAX_SIDE + 1, 1, px, 6) == -1,
      "too wide");
  c.shape = 99;
  CHECK (ssan_synth_render (&c, 0, 2, 2, px, 6) == -1, "corrupt clip");
  CHECK (ssan_synth_render_frames (1, 2, -1, 5, idx, 2, 2, 2, px, NULL) == -1,
      "frame index 5 of 5");
  idx[1] = 4;
  CHECK (ssan_synth_render_frames (1, 2, -1, 5, idx, 1, 2, 2, px, NULL) == 0,
      "render_frames");
}

/* Actor grids: the expected grids for 640x480, cells that tile the frame
 * exactly, refusals. */
static void
test_layout (void)
{
  static const int expect[][3]
      = { { 1, 1, 1 }, { 2, 2, 1 }, { 3, 2, 2 }, { 4, 2, 2 }, { 5, 3, 2 },
          { 6, 3, 2 }, { 9, 3, 3 }, { 12, 4, 3 }, { 64, 10, 7 } };
  size_t i;
  int cols, rows, k, x, y, w, h;

  for (i = 0; i < sizeof (expect) / sizeof (expect[0]); i++) {
    long area = 0;
    int ok = 1;

    CHECK (ssan_synth_layout (expect[i][0], 640, 480, &cols, &rows) == 0
               && cols == expect[i][1] && rows == expect[i][2],
        "%d actors in 640x480: %dx%d, expected %dx%d", expect[i][0], cols, rows,
        expect[i][1], expect[i][2]);
    for (k = 0; k < cols * rows; k++) {
      ssan_synth_cell (cols, rows, 640, 480, k, &x, &y, &w, &h);
      area += (long)w * h;
      ok &= x == (k % cols) * 640 / cols && y == (k / cols) * 480 / rows
            && w >= 1 && h >= 1;
    }
    CHECK (ok && area == 640L * 480, "%d actors: cells tile the frame",
        expect[i][0]);
  }
  CHECK (
      ssan_synth_layout (0, 64, 64, &cols, &rows) == -1
          && ssan_synth_layout (SSAN_SYNTH_MAX_ACTORS + 1, 64, 64, &cols, &rows)
                 == -1
          && ssan_synth_layout (4, 1, 1, &cols, &rows) == -1
          && ssan_synth_layout (4, 0, 64, &cols, &rows) == -1
          && ssan_synth_layout (1, 1, 1, &cols, &rows) == 0,
      "layout refusals");
}

int
main (void)
{
  test_names ();
  test_determinism ();
  test_reversal_pairs ();
  test_random_class ();
  test_sizes ();
  test_canvas ();
  test_geometry ();
  test_bad_arguments ();
  test_layout ();
  printf ("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
