/* Tests of the window unit (plugin/ssanwindow.h), no GStreamer: the
 * frame-count rule of spec §4 against its formula, slot reuse, the choice of
 * L and stride by time, and the by-time sampling of variable-rate streams
 * against a brute-force reading of the rule. */
#include "ssanwindow.h"

#include "ssan/ssan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit-check.h"

#define NONE SSAN_WINDOW_TIME_NONE

static uint32_t rng_state = 12345;

static uint32_t
rng (void)
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return rng_state >> 8;
}

static ssan_window_request
request (int T, int L, int stride)
{
  ssan_window_request q;

  memset (&q, 0, sizeof (q));
  q.segments = T;
  q.window_frames = L;
  q.stride = stride;
  q.by_time = 1;
  return q;
}

/* Brute force: the most sampled frames any window-length span holds, over
 * the first 4L + 4 stride frames. */
static int
brute_slots (int L, int T, int stride)
{
  int n_max = 4 * L + 4 * stride, best = 0, n, m, i;
  char *sampled = calloc ((size_t)n_max, 1);

  for (n = L - 1; n < n_max; n += stride)
    for (i = 0; i < T; i++)
      sampled[n + 1 - L + ssan_sample_index (L, T, i)] = 1;
  for (n = L - 1; n < n_max; n++) {
    int held = 0;
    for (m = n + 1 - L; m <= n; m++)
      held += sampled[m];
    if (held > best)
      best = held;
  }
  free (sampled);
  return best;
}

/* By frames: every window of N frames is where the formula says, its slots
 * hold the frames the formula samples (the caller's pixels simulated by
 * frame numbers), the slot count is the brute-force minimum. */
static void
test_frames (int T, int L, int stride, int N)
{
  ssan_window_request q = request (T, L, stride);
  ssan_window_plan plan;
  ssan_window *w;
  int *content, n, t, windows = 0, bad = 0, expect;

  CHECK (ssan_window_plan_make (&q, &plan, NULL) == SSAN_WINDOW_OK,
      "plan T %d L %d stride %d", T, L, stride);
  w = ssan_window_new (&plan);
  CHECK (w != NULL, "new");
  if (w == NULL)
    return;
  CHECK (ssan_window_n_slots (w) == brute_slots (L, T, plan.stride),
      "T %d L %d stride %d: %d slots, brute force %d", T, L, stride,
      ssan_window_n_slots (w), brute_slots (L, T, plan.stride));
  content = malloc (sizeof (int) * (size_t)ssan_window_n_slots (w));
  for (n = 0; n < N; n++) {
    int slot, ready = ssan_window_push (w, 1000u * (uint64_t)n, &slot);
    uint64_t start, end;

    if (slot >= 0)
      content[slot] = n;
    if (!ready)
      continue;
    windows++;
    bad += (n + 1 - L) % plan.stride != 0;
    for (t = 0; t < T; t++)
      bad += content[ssan_window_slots (w)[t]]
             != n + 1 - L + ssan_sample_index (L, T, t);
    ssan_window_span (w, &start, &end);
    bad += start != 1000u * (uint64_t)(n + 1 - L) || end != 1000u * (uint64_t)n;
  }
  expect = N >= L ? (N - L) / plan.stride + 1 : 0;
  CHECK (windows == expect && bad == 0,
      "T %d L %d stride %d N %d: %d windows (expected %d), %d wrong", T, L,
      plan.stride, N, windows, expect, bad);
  free (content);
  ssan_window_free (w);
}

static void
test_frames_reset (void)
{
  ssan_window_request q = request (4, 8, 2);
  ssan_window_plan plan;
  ssan_window *w;
  int n, slot, first = -1;

  ssan_window_plan_make (&q, &plan, NULL);
  w = ssan_window_new (&plan);
  for (n = 0; n < 11; n++)
    ssan_window_push (w, NONE, &slot);
  ssan_window_reset (w);
  for (n = 0; n < 20 && first < 0; n++)
    if (ssan_window_push (w, NONE, &slot))
      first = n;
  CHECK (first == 7, "after a reset the first window ends on frame 7, not %d",
      first);
  ssan_window_free (w);
}

static void
check_plan (const char *what, ssan_window_request q, int mode, int L,
    int stride, int scaled)
{
  ssan_window_plan p;
  ssan_window_status s = ssan_window_plan_make (&q, &p, NULL);

  CHECK (s == SSAN_WINDOW_OK && (int)p.mode == mode && p.L == L
             && p.stride == stride && p.scaled == scaled,
      "%s: status %d mode %d L %d stride %d scaled %d (expected %d %d %d %d)",
      what, s, p.mode, p.L, p.stride, p.scaled, mode, L, stride, scaled);
}

static void
test_plan (void)
{
  ssan_window_request q = request (8, 0, 0);
  ssan_window_plan p;
  int bad = 0;

  q.model_window_frames = 32;
  check_plan ("model's L, no rates", q, SSAN_WINDOW_BY_FRAMES, 32, 4, 0);
  q.model_rate_num = 30;
  q.model_rate_den = 1;
  q.stream_rate_num = 30;
  q.stream_rate_den = 1;
  check_plan ("same rate", q, SSAN_WINDOW_BY_FRAMES, 32, 4, 0);
  q.stream_rate_num = 60;
  q.stream_rate_den = 2;
  check_plan ("same rate as 60/2", q, SSAN_WINDOW_BY_FRAMES, 32, 4, 0);
  q.stream_rate_num = 15;
  q.stream_rate_den = 1;
  check_plan ("15 fps on 30", q, SSAN_WINDOW_BY_FRAMES, 16, 2, 1);
  q.stream_rate_num = 60;
  check_plan ("60 fps on 30", q, SSAN_WINDOW_BY_FRAMES, 64, 8, 1);
  q.stream_rate_num = 30000;
  q.stream_rate_den = 1001;
  check_plan ("29.97 fps on 30", q, SSAN_WINDOW_BY_FRAMES, 32, 4, 1);
  q.stream_rate_num = 5;
  q.stream_rate_den = 1;
  /* 32 * 5 / 30 = 5.3 -> at least T; 4 * 5 / 30 = 0.67 -> 1 */
  check_plan ("5 fps on 30: L at least T", q, SSAN_WINDOW_BY_FRAMES, 8, 1, 1);
  q.stream_rate_num = 2;
  check_plan (
      "2 fps on 30: stride at least 1", q, SSAN_WINDOW_BY_FRAMES, 8, 1, 1);

  /* round half up: 9 * 15 / 30 = 4.5 -> 5, 3 * 15 / 30 = 1.5 -> 2 */
  q = request (1, 0, 3);
  q.model_window_frames = 9;
  q.model_rate_num = 30;
  q.model_rate_den = 1;
  q.stream_rate_num = 15;
  q.stream_rate_den = 1;
  check_plan ("halves round up", q, SSAN_WINDOW_BY_FRAMES, 5, 2, 1);
  q.model_rate_num = 30000;
  q.model_rate_den = 1001;
  q.stream_rate_num = 2997;
  q.stream_rate_den = 100;
  /* 9 * (2997 / 100) / (30000 / 1001) = 8.99 -> 9 */
  check_plan ("fractional rates", q, SSAN_WINDOW_BY_FRAMES, 9, 3, 1);

  q = request (8, 24, 0);
  q.model_window_frames = 32;
  q.model_rate_num = 30;
  q.model_rate_den = 1;
  q.stream_rate_num = 15;
  q.stream_rate_den = 1;
  check_plan ("explicit L: frames as set", q, SSAN_WINDOW_BY_FRAMES, 24, 3, 0);
  q.window_frames = 0;
  q.stride = 6;
  check_plan ("explicit stride is scaled", q, SSAN_WINDOW_BY_FRAMES, 16, 3, 1);
  q.stride = 0;
  q.by_time = 0;
  check_plan ("by-time off", q, SSAN_WINDOW_BY_FRAMES, 32, 4, 0);
  q.by_time = 1;
  q.model_rate_num = 0;
  check_plan ("model rate unknown", q, SSAN_WINDOW_BY_FRAMES, 32, 4, 0);

  q.model_rate_num = 30;
  q.stream_rate_num = 0;
  q.stream_rate_den = 1;
  check_plan ("variable rate", q, SSAN_WINDOW_BY_TIME, 32, 4, 0);
  ssan_window_plan_make (&q, &p, NULL);
  CHECK (p.duration == 1066666667 && p.step == 133333333,
      "variable rate: D %llu step %llu ns", (unsigned long long)p.duration,
      (unsigned long long)p.step);
  q.model_rate_num = 0;
  check_plan (
      "variable rate, model rate unknown", q, SSAN_WINDOW_BY_FRAMES, 32, 4, 0);

  q = request (8, 0, 0);
  q.model_window_frames = 4096;
  q.model_rate_num = 30;
  q.model_rate_den = 1;
  q.stream_rate_num = 60;
  q.stream_rate_den = 1;
  CHECK (ssan_window_plan_make (&q, &p, &bad) == SSAN_WINDOW_ERR_LENGTH
             && bad == 8192,
      "L 4096 at 60 fps on 30 is 8192 frames, too long (bad %d)", bad);
  q = request (8, 4, 0);
  CHECK (ssan_window_plan_make (&q, &p, &bad) == SSAN_WINDOW_ERR_LENGTH
             && bad == 4,
      "L < T refused");
  q = request (0, 0, 0);
  CHECK (ssan_window_plan_make (&q, &p, NULL) == SSAN_WINDOW_ERR_SEGMENTS,
      "T 0 refused");
  q = request (8, 0, SSAN_WINDOW_MAX_STRIDE + 1);
  CHECK (ssan_window_plan_make (&q, &p, NULL) == SSAN_WINDOW_ERR_STRIDE,
      "stride too large refused");
}

/* Brute-force reading of the by-time rule over a whole list of PTS (no
 * backwards steps): for each frame, which window (if any) is reported and
 * the frames it samples. */
typedef struct expect_window {
  int frame; /* frame it completes on, -1: none */
  int samples[64];
  uint64_t start, end;
} expect_window;

static void
brute_time (const ssan_window_plan *p, const uint64_t *pts, int N,
    int *report_of_frame, expect_window *out, int *n_out, uint64_t *empty,
    uint64_t *merged)
{
  uint64_t s0 = NONE, D = p->duration, last_off;
  int T = p->T, n, i, j, k;

  last_off = (uint64_t)((unsigned __int128)D * (2 * T - 1) / (2 * T));
  for (n = 0; n < N; n++)
    report_of_frame[n] = -1;
  *n_out = 0;
  *empty = *merged = 0;
  for (n = 0; n < N && s0 == NONE; n++)
    if (pts[n] != NONE)
      s0 = pts[n];
  if (s0 == NONE)
    return;
  for (k = 0;; k++) {
    uint64_t s = s0 + (uint64_t)k * p->step;
    int complete = -1, any = 0, last_in = -1;
    expect_window e;

    if (s > pts[N - 1])
      break;
    for (n = 0; n < N; n++) {
      if (pts[n] == NONE)
        continue;
      if (pts[n] >= s && pts[n] < s + D) {
        if (!any)
          e.start = pts[n];
        any = 1;
        last_in = n;
      }
      if (pts[n] >= s + last_off) {
        complete = n;
        break;
      }
    }
    if (!any) {
      /* counted once its end is behind the stream */
      if (complete >= 0 || pts[N - 1] >= s + D)
        (*empty)++;
      continue;
    }
    if (complete < 0)
      continue;
    e.frame = complete;
    e.end = pts[last_in];
    for (i = 0; i < T; i++) {
      uint64_t c = s + (uint64_t)((unsigned __int128)D * (2 * i + 1) / (2 * T));
      uint64_t best = UINT64_MAX;
      e.samples[i] = -1;
      for (j = 0; j <= complete; j++) {
        uint64_t d;
        if (pts[j] == NONE || pts[j] < s || pts[j] >= s + D)
          continue;
        d = pts[j] > c ? pts[j] - c : c - pts[j];
        if (d < best) {
          best = d;
          e.samples[i] = j;
        }
      }
    }
    if (report_of_frame[complete] >= 0) {
      (*merged)++;
      out[report_of_frame[complete]] = e;
    } else {
      report_of_frame[complete] = *n_out;
      out[(*n_out)++] = e;
    }
  }
}

/* The by-time mode against brute force on a stream whose PTS are drawn by
 * kind: 0 regular at the model's rate, 1 jittered, 2 with bursts, repeated
 * PTS, gaps longer than a window and frames without PTS. */
static void
test_time (int T, int L, int stride, int kind, int N)
{
  ssan_window_request q = request (T, L, stride);
  ssan_window_plan plan;
  ssan_window_stats st;
  ssan_window *w;
  uint64_t *pts = malloc (sizeof (uint64_t) * (size_t)N), t = 5000000;
  uint64_t period = 33333333, empty, merged;
  int *report_of = malloc (sizeof (int) * (size_t)N);
  expect_window *ex = malloc (sizeof (expect_window) * (size_t)N);
  int *content, n_ex, n, i, seen = 0, bad = 0, untimed = 0;

  q.model_rate_num = 30;
  q.model_rate_den = 1;
  q.stream_rate_num = 0;
  q.stream_rate_den = 1;
  CHECK (ssan_window_plan_make (&q, &plan, NULL) == SSAN_WINDOW_OK
             && plan.mode == SSAN_WINDOW_BY_TIME,
      "by time");
  for (n = 0; n < N; n++) {
    pts[n] = t;
    if (kind == 0)
      t += period;
    else if (kind == 1)
      t += period / 2 + rng () % period;
    else {
      uint32_t r = rng () % 100;
      if (r < 20)
        t += 0; /* same PTS again */
      else if (r < 40)
        t += rng () % 1000000;
      else if (r < 44)
        t += plan.duration + rng () % (3 * plan.duration);
      else
        t += rng () % (2 * period);
      if (r >= 97 && n > 0) {
        pts[n] = NONE;
        untimed++;
      }
    }
  }
  brute_time (&plan, pts, N, report_of, ex, &n_ex, &empty, &merged);

  w = ssan_window_new (&plan);
  CHECK (w != NULL, "new (by time)");
  if (w == NULL)
    goto done;
  content = malloc (sizeof (int) * (size_t)ssan_window_n_slots (w));
  for (n = 0; n < N; n++) {
    int slot, ready = ssan_window_push (w, pts[n], &slot);

    if (slot >= 0)
      content[slot] = n;
    if (ready != (report_of[n] >= 0)) {
      bad++;
      continue;
    }
    if (ready) {
      const expect_window *e = &ex[report_of[n]];
      uint64_t start, end;

      seen++;
      for (i = 0; i < T; i++)
        bad += content[ssan_window_slots (w)[i]] != e->samples[i];
      ssan_window_span (w, &start, &end);
      bad += start != e->start || end != e->end;
    }
  }
  ssan_window_get_stats (w, &st);
  CHECK (bad == 0 && seen == n_ex && st.windows == (uint64_t)n_ex,
      "T %d L %d stride %d kind %d: %d of %d windows right, %d wrong", T, L,
      stride, kind, seen, n_ex, bad);
  CHECK (st.untimed == (uint64_t)untimed && st.merged == merged
             && st.empty == empty && st.restarts == 0,
      "kind %d: untimed %llu (%d), merged %llu (%llu), empty %llu (%llu)", kind,
      (unsigned long long)st.untimed, untimed, (unsigned long long)st.merged,
      (unsigned long long)merged, (unsigned long long)st.empty,
      (unsigned long long)empty);
  free (content);
  ssan_window_free (w);
done:
  free (pts);
  free (report_of);
  free (ex);
}

/* Regular timestamps at the model's rate: the time rule samples the frames
 * the frame rule does. */
static void
test_time_regular (void)
{
  ssan_window_request q = request (8, 32, 4);
  ssan_window_plan plan;
  ssan_window *w;
  int n, slot, content[512], bad = 0, windows = 0, t;

  q.model_rate_num = 30;
  q.model_rate_den = 1;
  ssan_window_plan_make (&q, &plan, NULL);
  w = ssan_window_new (&plan);
  for (n = 0; n < 300; n++) {
    /* 30 fps in ns, as GStreamer stamps it */
    uint64_t p = (uint64_t)n * 1000000000ull / 30;
    int ready = ssan_window_push (w, p, &slot);
    if (slot >= 0)
      content[slot] = n;
    if (!ready)
      continue;
    /* window k starts on frame 4k; segment t's centre is frame 4t + 2 of
     * it, the frame the frame rule takes too */
    for (t = 0; t < 8; t++)
      bad += content[ssan_window_slots (w)[t]] != 4 * windows + 4 * t + 2;
    windows++;
  }
  CHECK (bad == 0 && windows > 60,
      "regular 30 fps by time: %d windows, %d "
      "samples off",
      windows, bad);
  ssan_window_free (w);
}

static void
test_time_restart (void)
{
  ssan_window_request q = request (2, 4, 2);
  ssan_window_plan plan;
  ssan_window_stats st;
  ssan_window *w;
  int n, slot, ready = 0, first = -1;

  q.model_rate_num = 10;
  q.model_rate_den = 1;
  ssan_window_plan_make (&q, &plan, NULL);
  w = ssan_window_new (&plan);
  for (n = 0; n < 10; n++)
    ssan_window_push (w, 1000000000ull + (uint64_t)n * 100000000, &slot);
  /* back to 0: the windows restart from there, D = 0.4 s, last centre at
   * 0.3 s */
  for (n = 0; n < 10 && first < 0; n++) {
    ready = ssan_window_push (w, (uint64_t)n * 100000000, &slot);
    if (ready)
      first = n;
  }
  ssan_window_get_stats (w, &st);
  CHECK (st.restarts == 1 && first == 3,
      "restart on a PTS going back: %llu restarts, first window on frame %d",
      (unsigned long long)st.restarts, first);
  ssan_window_free (w);
}

int
main (void)
{
  static const int cfg[][3] = { { 8, 8, 1 }, { 8, 32, 4 }, { 8, 32, 0 },
    { 1, 1, 1 }, { 3, 10, 7 }, { 4, 9, 20 }, { 8, 32, 1 }, { 5, 17, 3 },
    { 16, 16, 16 }, { 2, 100, 33 } };
  size_t i;
  int kind;

  for (i = 0; i < sizeof (cfg) / sizeof (cfg[0]); i++) {
    test_frames (cfg[i][0], cfg[i][1], cfg[i][2], 5 * cfg[i][1] + 3);
    test_frames (cfg[i][0], cfg[i][1], cfg[i][2], cfg[i][1] - 1);
  }
  test_frames_reset ();
  test_plan ();
  for (kind = 0; kind < 3; kind++)
    for (i = 0; i < sizeof (cfg) / sizeof (cfg[0]); i++)
      test_time (cfg[i][0], cfg[i][1], cfg[i][2], kind, 400);
  test_time_regular ();
  test_time_restart ();

  printf ("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
