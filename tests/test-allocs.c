/* No allocation per frame for moving boxes (inference-region=roi): the
 * same frames, windows and results with still and with moving boxes must
 * cost the same number of heap allocations (within one a frame: threads'
 * timing moves the count a little); a crop made anew (say a video
 * converter per box position) would cost dozens per sampled frame.
 *
 * Allocations are counted by malloc, calloc and realloc defined here in
 * front of the C library's (so every library in the process goes through
 * them); hence not in a sanitizer build, whose runtime owns malloc, and
 * skipped (exit 77) under valgrind, which takes malloc from them.  Prints
 * the counts. */
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <string.h>

#include "unit-check.h"

#define MODEL_L12 SSAN_TEST_DATA "/element_t4_l12_s32.safetensors"
#define FRAMES 300

extern void *__libc_malloc (size_t size);
extern void *__libc_calloc (size_t n, size_t size);
extern void *__libc_realloc (void *p, size_t size);

static volatile gint counting, n_allocs;

void *
malloc (size_t size)
{
  if (counting)
    g_atomic_int_inc (&n_allocs);
  return __libc_malloc (size);
}

void *
calloc (size_t n, size_t size)
{
  if (counting)
    g_atomic_int_inc (&n_allocs);
  return __libc_calloc (n, size);
}

void *
realloc (void *p, size_t size)
{
  if (counting)
    g_atomic_int_inc (&n_allocs);
  return __libc_realloc (p, size);
}

/* Allocations while FRAMES frames of 128x96 I420 with 4 tracked objects
 * go through (after a warm-up); boxes move and change size every frame
 * when moving. */
static gint
count_allocs (gboolean moving, guint64 *evaluated)
{
  GstElement *e = gst_element_factory_make ("ssanaction", NULL);
  GstVideoInfo info;
  GstHarness *h;
  gint n, k, got = 0;

  /* the harness starts the element: the model first */
  g_object_set (e, "model", MODEL_L12, NULL);
  gst_util_set_object_arg (G_OBJECT (e), "inference-region", "roi");
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, 128, 96);
  GST_VIDEO_INFO_FPS_N (&info) = 25;
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));

  for (n = 0; n < 60 + FRAMES; n++) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, info.size, NULL);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    for (k = 0; k < (gint)map.size; k++)
      map.data[k] = (guint8)(k * 7 + n * 3);
    gst_buffer_unmap (buf, &map);
    GST_BUFFER_PTS (buf) = n * 40 * GST_MSECOND;
    for (k = 0; k < 4; k++) {
      guint d = moving ? (guint)(n % 9) : 0, s = moving ? (guint)(n % 5) : 0;

      gst_buffer_add_video_region_of_interest_meta (
          buf, "person", (k % 2) * 64 + d, (k / 2) * 48 + d / 2, 40 + s, 36 + s)
          ->id
          = k + 1;
    }
    if (n == 60)
      g_atomic_int_set (&counting, 1);
    if (gst_harness_push (h, buf) != GST_FLOW_OK)
      break;
    gst_buffer_unref (gst_harness_pull (h));
  }
  g_atomic_int_set (&counting, 0);
  CHECK (n == 60 + FRAMES, "%s boxes: flow error at frame %d",
      moving ? "moving" : "still", n);
  got = g_atomic_int_get (&n_allocs);
  g_atomic_int_set (&n_allocs, 0);
  g_object_get (h->element, "windows-evaluated", evaluated, NULL);
  gst_harness_teardown (h);
  return got;
}

int
main (int argc, char **argv)
{
  guint64 ev_still, ev_moving;
  gint still, moving;

  gst_init (&argc, &argv);
  still = count_allocs (FALSE, &ev_still);
  moving = count_allocs (TRUE, &ev_moving);
  if (still == 0) {
    /* malloc is someone else's (valgrind's) */
    printf ("malloc not counted here: skipped\n");
    return 77;
  }
  printf ("%d frames, 4 objects, %" G_GUINT64_FORMAT
          " windows: %d allocations with still boxes (%.1f a frame), %d with "
          "moving boxes (%.1f a frame)\n",
      FRAMES, ev_moving, still, (double)still / FRAMES, moving,
      (double)moving / FRAMES);
  CHECK (ev_still == ev_moving,
      "windows: %" G_GUINT64_FORMAT " still, %" G_GUINT64_FORMAT " moving",
      ev_still, ev_moving);
  /* every thread counts: timing alone moves the count by tens on a busy
   * machine; a converter per box position cost 79 a frame */
  CHECK (moving <= still + FRAMES,
      "moving boxes cost %d more allocations over %d frames", moving - still,
      FRAMES);
  printf ("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
