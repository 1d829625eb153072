/* Tests of the ROI unit (plugin/ssanroi.h), no GStreamer: crops of boxes
 * (the full-frame crop of spec §5, margins, clipping, refusals, never
 * outside the frame) and the tracked objects' table (new, known,
 * duplicates, drops, eviction of the longest unseen, a thousand ROIs per
 * frame) and the crop scaler. */
#include "ssanroi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit-check.h"

static void
check_crop (const char *what, int W, int H, int64_t bx, int64_t by, int64_t bw,
    int64_t bh, double margin, int S, int resize, int rc, int x, int y,
    int side)
{
  ssan_crop c = { -1, -1, -1 };
  int r = ssan_crop_for_box (W, H, bx, by, bw, bh, margin, S, resize, &c);

  CHECK (r == rc && (rc != 0 || (c.x == x && c.y == y && c.side == side)),
      "%s: rc %d crop %d,%d side %d (expected %d: %d,%d side %d)", what, r, c.x,
      c.y, c.side, rc, x, y, side);
}

static void
test_crop (void)
{
  ssan_crop c;
  int i, bad = 0;

  /* the element's full-frame crop */
  check_crop ("full frame, resize = S", 640, 480, 0, 0, 640, 480, 0.0, 48, 48,
      0, 80, 0, 480);
  check_crop ("full frame, 224 of 256", 640, 480, 0, 0, 640, 480, 0.0, 224, 256,
      0, 110, 30, 420);
  check_crop (
      "portrait full frame", 33, 101, 0, 0, 33, 101, 0.0, 7, 9, 0, 3, 37, 26);
  check_crop ("1x1 frame", 1, 1, 0, 0, 1, 1, 0.0, 224, 256, 0, 0, 0, 1);
  /* boxes */
  check_crop ("box", 640, 480, 100, 50, 200, 100, 0.0, 48, 48, 0, 150, 50, 100);
  check_crop (
      "margin 0.1", 640, 480, 100, 100, 100, 100, 0.1, 48, 48, 0, 90, 90, 120);
  check_crop (
      "clipped left", 640, 480, -50, 10, 100, 100, 0.0, 48, 48, 0, 0, 35, 50);
  check_crop ("margin clipped at the corner", 640, 480, 600, 440, 40, 40, 0.5,
      48, 48, 0, 580, 420, 60);
  check_crop ("outside", 640, 480, 700, 0, 10, 10, 0.0, 48, 48, -1, 0, 0, 0);
  check_crop ("touching the edge only", 640, 480, 640, 0, 10, 10, 0.0, 48, 48,
      -1, 0, 0, 0);
  check_crop ("zero width", 640, 480, 10, 10, 0, 10, 0.0, 48, 48, -1, 0, 0, 0);
  check_crop (
      "negative margin", 640, 480, 10, 10, 10, 10, -0.1, 48, 48, -1, 0, 0, 0);
  check_crop ("NaN margin", 640, 480, 10, 10, 10, 10, NAN, 48, 48, -1, 0, 0, 0);
  check_crop ("resize < S", 640, 480, 0, 0, 640, 480, 0.0, 48, 47, -1, 0, 0, 0);
  check_crop ("huge box", 640, 480, -(1LL << 40), 0, 1LL << 41, 10, 0.0, 48, 48,
      -1, 0, 0, 0);

  srand (3);
  for (i = 0; i < 100000; i++) {
    int W = 1 + rand () % 700, H = 1 + rand () % 500;
    int64_t bx = rand () % 1600 - 800, by = rand () % 1200 - 600;
    int64_t bw = 1 + rand () % 900, bh = 1 + rand () % 700;
    double m = (rand () % 100) / 100.0;
    int S = 1 + rand () % 256, resize = S + rand () % 64;

    if (ssan_crop_for_box (W, H, bx, by, bw, bh, m, S, resize, &c) == 0)
      bad += c.side < 1 || c.x < 0 || c.y < 0 || c.x + c.side > W
             || c.y + c.side > H;
  }
  CHECK (bad == 0, "%d random crops outside their frame", bad);
}

static void
test_objects (void)
{
  ssan_objects *t = ssan_objects_new (3, 1);
  ssan_objects_stats st;
  int slot, slot_a, slot_b, dropped[3], n, i, f, wrong = 0;
  int64_t ev = 0, id;

  CHECK (ssan_objects_new (0, 0) == NULL && ssan_objects_new (1, -1) == NULL,
      "bad arguments");

  ssan_objects_begin (t);
  CHECK (ssan_objects_see (t, 10, &slot_a, NULL) == SSAN_OBJECTS_NEW, "new");
  CHECK (ssan_objects_see (t, 11, &slot_b, NULL) == SSAN_OBJECTS_NEW
             && slot_b != slot_a,
      "second object, own slot");
  CHECK (ssan_objects_see (t, 10, &slot, NULL) == SSAN_OBJECTS_DUPLICATE
             && slot == slot_a,
      "an id twice in a frame");
  CHECK (ssan_objects_end (t, dropped) == 0 && ssan_objects_count (t) == 2,
      "nothing dropped");

  /* frame 2: only 10; 11 missing once (allowed) */
  ssan_objects_begin (t);
  CHECK (ssan_objects_see (t, 10, &slot, NULL) == SSAN_OBJECTS_KNOWN
             && slot == slot_a,
      "known");
  CHECK (ssan_objects_end (t, dropped) == 0, "missing once is kept");
  /* frame 3: 11 missing twice: dropped */
  ssan_objects_begin (t);
  ssan_objects_see (t, 10, &slot, NULL);
  n = ssan_objects_end (t, dropped);
  CHECK (n == 1 && dropped[0] == slot_b && ssan_objects_count (t) == 1
             && !ssan_objects_get_id (t, slot_b, &id),
      "missing twice: dropped (%d)", n);
  CHECK (ssan_objects_get_id (t, slot_a, &id) && id == 10, "get id");

  /* fill up, then a newcomer evicts the one seen longest ago */
  ssan_objects_begin (t);
  ssan_objects_see (t, 20, &slot, NULL);
  ssan_objects_see (t, 21, &slot, NULL);
  ssan_objects_see (t, 10, &slot, NULL);
  ssan_objects_end (t, NULL);
  ssan_objects_begin (t);
  ssan_objects_see (t, 10, &slot, NULL);
  ssan_objects_see (t, 21, &slot, NULL);
  CHECK (
      ssan_objects_see (t, 30, &slot, &ev) == SSAN_OBJECTS_REPLACED && ev == 20,
      "full: the longest unseen (20) is evicted, not %lld", (long long)ev);
  CHECK (ssan_objects_see (t, 31, &slot, NULL) == SSAN_OBJECTS_IGNORED
             && slot == -1,
      "full of objects seen this frame: the newcomer is ignored");
  ssan_objects_end (t, NULL);
  ssan_objects_get_stats (t, &st);
  CHECK (st.created == 5 && st.evicted == 1 && st.dropped == 1
             && st.ignored == 1 && st.duplicates == 1,
      "counters: created %llu evicted %llu dropped %llu ignored %llu dup %llu",
      (unsigned long long)st.created, (unsigned long long)st.evicted,
      (unsigned long long)st.dropped, (unsigned long long)st.ignored,
      (unsigned long long)st.duplicates);
  ssan_objects_clear (t);
  CHECK (ssan_objects_count (t) == 0, "clear");
  ssan_objects_free (t);

  /* a thousand ROIs per frame, new ids every frame, room for 8 */
  t = ssan_objects_new (8, 0);
  for (f = 0; f < 5; f++) {
    int got = 0;
    ssan_objects_begin (t);
    for (i = 0; i < 1000; i++) {
      ssan_objects_event e = ssan_objects_see (t, f * 1000 + i, &slot, NULL);
      got += e == SSAN_OBJECTS_NEW || e == SSAN_OBJECTS_REPLACED;
      wrong += (i < 8) != (e == SSAN_OBJECTS_NEW || e == SSAN_OBJECTS_REPLACED);
    }
    n = ssan_objects_end (t, NULL);
    wrong += got != 8 || n != 0 || ssan_objects_count (t) != 8;
  }
  ssan_objects_get_stats (t, &st);
  CHECK (wrong == 0 && st.created == 40 && st.ignored == 5 * 992,
      "1000 ROIs a frame: %d wrong, created %llu, ignored %llu", wrong,
      (unsigned long long)st.created, (unsigned long long)st.ignored);
  ssan_objects_free (t);
}

/* The crop scaler: a crop of side S is copied; a flat crop stays flat and
 * a ramp stays a ramp whatever the scale; every source pixel of a shrunk
 * crop counts (a one-pixel dot is not lost); crops larger than the
 * scaler's max_side are refused. */
static void
test_scaler (void)
{
  enum { W = 300, H = 200, S = 16 };
  static uint8_t src[H][W * 3], dst[S][S * 3 + 4];
  ssan_scaler *sc = ssan_scaler_new (W, S);
  ssan_crop c = { 7, 5, S };
  int x, y, k, bad = 0, side;

  CHECK (sc != NULL && ssan_scaler_new (0, S) == NULL
             && ssan_scaler_new (W, 0) == NULL,
      "new");
  for (y = 0; y < H; y++)
    for (x = 0; x < W * 3; x++)
      src[y][x] = (uint8_t)((x * 7 + y * 13) ^ (x >> 3));
  CHECK (ssan_scaler_run (
             sc, &src[0][0], sizeof (src[0]), &c, &dst[0][0], sizeof (dst[0]))
             == 0,
      "run");
  for (y = 0; y < S; y++)
    for (x = 0; x < S * 3; x++)
      bad += dst[y][x] != src[c.y + y][c.x * 3 + x];
  CHECK (bad == 0, "side S: %d bytes differ from a copy", bad);

  /* a horizontal ramp, shrunk and enlarged */
  for (y = 0; y < H; y++)
    for (x = 0; x < W; x++)
      for (k = 0; k < 3; k++)
        src[y][x * 3 + k] = (uint8_t)(k == 0 ? 100 : k == 1 ? x * 255 / W : 0);
  for (side = 4; side <= H; side += 17) {
    ssan_crop r = { 50, 0, side };
    double scale = (double)side / S;

    ssan_scaler_run (
        sc, &src[0][0], sizeof (src[0]), &r, &dst[0][0], sizeof (dst[0]));
    for (y = 0; y < S; y++)
      for (x = 0; x < S; x++) {
        /* the ramp at the output pixel's centre (edges repeat the crop's) */
        double cx = 50 + (x + 0.5) * scale - 0.5;
        double want;

        cx = cx < 50 ? 50 : cx > 50 + side - 1 ? 50 + side - 1 : cx;
        want = cx * 255.0 / W;
        bad += dst[y][x * 3] != 100 || dst[y][x * 3 + 2] != 0
               || fabs (dst[y][x * 3 + 1] - want) > 2.0;
      }
  }
  CHECK (bad == 0, "ramps: %d pixels off", bad);

  /* a dot in a shrunk crop (side 160 -> 16: 10 x 10 pixels each) */
  for (y = 0; y < H; y++)
    for (x = 0; x < W * 3; x++)
      src[y][x] = 0;
  src[45][45 * 3] = 255;
  c.x = 0;
  c.y = 0;
  c.side = 160;
  ssan_scaler_run (
      sc, &src[0][0], sizeof (src[0]), &c, &dst[0][0], sizeof (dst[0]));
  CHECK (dst[4][4 * 3] > 0, "a dot is not lost in shrinking");

  c.side = W + 1;
  dst[0][0] = 77;
  CHECK (ssan_scaler_run (
             sc, &src[0][0], sizeof (src[0]), &c, &dst[0][0], sizeof (dst[0]))
                 == -1
             && dst[0][0] == 77,
      "a crop above max_side is refused");
  c.side = 0;
  CHECK (ssan_scaler_run (
             sc, &src[0][0], sizeof (src[0]), &c, &dst[0][0], sizeof (dst[0]))
             == -1,
      "an empty crop is refused");
  ssan_scaler_free (sc);
}

int
main (void)
{
  test_crop ();
  test_scaler ();
  test_objects ();
  printf ("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
