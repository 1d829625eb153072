/* gst-ssan — sliding windows over a stream of frames (model spec §4).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ssanwindow.h"

#include "ssan/ssan.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000ULL

/* A window of the by-time mode, from its start until it is complete. */
typedef struct tw_window {
  uint64_t start;     /* s_k, ns */
  uint64_t first_pts; /* first and last frame in it so far */
  uint64_t last_pts;
  int has_frame;
} tw_window;

struct ssan_window {
  ssan_window_plan plan;
  int n_slots;
  ssan_window_stats stats;

  int *cur_slots; /* [T]: the window reported by the last push */
  uint64_t cur_start, cur_end;

  /* by frames */
  int *sample_idx;   /* [T] */
  int *slot_of;      /* [L]: slot of frame n at n % L, -1 if not sampled */
  uint64_t *pts;     /* [L]: PTS of frame n at n % L */
  uint64_t n_frames; /* since the last reset */
  uint64_t n_sampled;

  /* by time */
  uint64_t *offset;   /* [T]: centre time of segment i minus the start */
  int capacity;       /* live windows at most */
  tw_window *win;     /* [capacity], ring from head */
  int *cand_slot;     /* [capacity * T]: nearest frame so far, -1: none */
  uint64_t *cand_pts; /* [capacity * T] */
  int head, n_live;
  int *refs;      /* [n_slots]: candidacies + report pins per slot */
  int *free_list; /* [n_slots] stack of unreferenced slots */
  int n_free;
  int reported; /* cur_slots hold pins */
  int started;
  uint64_t next_start, last_pts;
};

/* round (a * b / c) for c > 0, or UINT64_MAX when it does not fit. */
static uint64_t
muldiv_round (uint64_t a, uint64_t b, uint64_t c)
{
  unsigned __int128 q = ((unsigned __int128)a * b + c / 2) / c;

  return q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
}

/* max (lo, round (x * f / r)) with f = fn / fd and r = rn / rd. */
static int64_t
scale_frames (int x, int lo, const ssan_window_request *q)
{
  uint64_t num = (uint64_t)q->stream_rate_num * (uint64_t)q->model_rate_den;
  uint64_t den = (uint64_t)q->stream_rate_den * (uint64_t)q->model_rate_num;
  uint64_t v = muldiv_round ((uint64_t)x, num, den);

  if (v > INT32_MAX)
    return INT32_MAX;
  return (int64_t)v < lo ? lo : (int64_t)v;
}

ssan_window_status
ssan_window_plan_make (
    const ssan_window_request *req, ssan_window_plan *plan, int *bad_length)
{
  ssan_window_plan p;
  int model_rate, stream_rate;

  memset (&p, 0, sizeof (p));
  if (req->segments < 1 || req->segments > SSAN_WINDOW_MAX_SEGMENTS)
    return SSAN_WINDOW_ERR_SEGMENTS;
  p.T = req->segments;
  if (req->window_frames > 0)
    p.base_L = req->window_frames;
  else
    p.base_L = req->model_window_frames > p.T ? req->model_window_frames : p.T;
  p.L = p.base_L;
  if (req->window_frames < 0 || p.base_L < p.T
      || p.base_L > SSAN_WINDOW_MAX_FRAMES)
    goto bad_length;
  if (req->stride < 0 || req->stride > SSAN_WINDOW_MAX_STRIDE)
    return SSAN_WINDOW_ERR_STRIDE;
  p.base_stride = req->stride > 0 ? req->stride : p.base_L / p.T;
  if (p.base_stride < 1)
    p.base_stride = 1;
  p.stride = p.base_stride;
  p.mode = SSAN_WINDOW_BY_FRAMES;

  model_rate = req->model_rate_num > 0 && req->model_rate_den > 0;
  stream_rate = req->stream_rate_num > 0 && req->stream_rate_den > 0;
  if (req->by_time && model_rate && stream_rate) {
    int same
        = (uint64_t)req->stream_rate_num * (uint64_t)req->model_rate_den
          == (uint64_t)req->model_rate_num * (uint64_t)req->stream_rate_den;

    if (!same && req->window_frames == 0) {
      int64_t L = scale_frames (p.base_L, p.T, req);
      int64_t stride = scale_frames (p.base_stride, 1, req);

      if (L > SSAN_WINDOW_MAX_FRAMES) {
        p.L = (int)L;
        goto bad_length;
      }
      if (stride > SSAN_WINDOW_MAX_STRIDE)
        return SSAN_WINDOW_ERR_STRIDE;
      p.L = (int)L;
      p.stride = (int)stride;
      p.scaled = 1;
    }
  } else if (req->by_time && model_rate) {
    uint64_t per_frame_num = NS_PER_S * (uint64_t)req->model_rate_den;

    p.mode = SSAN_WINDOW_BY_TIME;
    p.duration = muldiv_round (
        (uint64_t)p.L, per_frame_num, (uint64_t)req->model_rate_num);
    p.step = muldiv_round (
        (uint64_t)p.stride, per_frame_num, (uint64_t)req->model_rate_num);
    /* keeps s + D and k * step far from overflowing */
    if (p.duration == 0 || p.duration > UINT64_MAX / 4)
      goto bad_length;
    if (p.step == 0 || p.step > UINT64_MAX / 4)
      return SSAN_WINDOW_ERR_STRIDE;
  }

  *plan = p;
  return SSAN_WINDOW_OK;

bad_length:
  if (bad_length)
    *bad_length = p.L;
  return SSAN_WINDOW_ERR_LENGTH;
}

/* Spec §4: frame n (counted from the start of the window sequence) is
 * sampled by some window k >= 0 iff n = k * stride + idx[i] for some i. */
static int
frames_is_sampled (const ssan_window *w, uint64_t n)
{
  int i;

  for (i = 0; i < w->plan.T; i++) {
    uint64_t idx = (uint64_t)w->sample_idx[i];
    if (n >= idx && (n - idx) % (uint64_t)w->plan.stride == 0)
      return 1;
  }
  return 0;
}

/* Most sampled frames any span of L frames holds.  The pattern is periodic
 * in stride once n >= L - 1, so two periods past 2L cover every case.
 * Returns -1 when out of memory. */
static int
frames_count_slots (const ssan_window *w)
{
  uint64_t L = (uint64_t)w->plan.L;
  uint64_t n, end = 2 * L + 2 * (uint64_t)w->plan.stride;
  unsigned *prefix = calloc (end + 1, sizeof (unsigned));
  unsigned best = 1;

  if (prefix == NULL)
    return -1;
  for (n = 0; n < end; n++)
    prefix[n + 1] = prefix[n] + (unsigned)frames_is_sampled (w, n);
  for (n = L - 1; n < end; n++) {
    unsigned held = prefix[n + 1] - prefix[n + 1 - L];
    if (held > best)
      best = held;
  }
  free (prefix);
  return (int)best;
}

ssan_window *
ssan_window_new (const ssan_window_plan *plan)
{
  ssan_window *w = calloc (1, sizeof (*w));
  int T = plan->T, i;

  if (w == NULL)
    return NULL;
  w->plan = *plan;
  if (T < 1 || T > SSAN_WINDOW_MAX_SEGMENTS || plan->L < T
      || plan->L > SSAN_WINDOW_MAX_FRAMES || plan->stride < 1
      || plan->stride > SSAN_WINDOW_MAX_STRIDE)
    goto fail;
  w->cur_slots = calloc ((size_t)T, sizeof (int));
  w->sample_idx = calloc ((size_t)T, sizeof (int));
  if (w->cur_slots == NULL || w->sample_idx == NULL)
    goto fail;
  for (i = 0; i < T; i++)
    w->sample_idx[i] = ssan_sample_index (plan->L, T, i);

  if (plan->mode == SSAN_WINDOW_BY_FRAMES) {
    w->n_slots = frames_count_slots (w);
    w->slot_of = calloc ((size_t)plan->L, sizeof (int));
    w->pts = calloc ((size_t)plan->L, sizeof (uint64_t));
    if (w->n_slots < 1 || w->slot_of == NULL || w->pts == NULL)
      goto fail;
  } else {
    uint64_t cap;

    if (plan->duration == 0 || plan->step == 0)
      goto fail;
    /* window starts in a span of D: at most ceil (D / step) (+ 1) */
    cap = (plan->duration + plan->step - 1) / plan->step + 1;
    if (cap > (uint64_t)(INT32_MAX / 2) / (uint64_t)(T + 1))
      goto fail;
    w->capacity = (int)cap;
    /* live windows' candidates, the previous report, the new frame */
    w->n_slots = (w->capacity + 1) * T + 1;
    w->offset = calloc ((size_t)T, sizeof (uint64_t));
    w->win = calloc ((size_t)w->capacity, sizeof (tw_window));
    w->cand_slot = calloc ((size_t)w->capacity * T, sizeof (int));
    w->cand_pts = calloc ((size_t)w->capacity * T, sizeof (uint64_t));
    w->refs = calloc ((size_t)w->n_slots, sizeof (int));
    w->free_list = calloc ((size_t)w->n_slots, sizeof (int));
    if (w->offset == NULL || w->win == NULL || w->cand_slot == NULL
        || w->cand_pts == NULL || w->refs == NULL || w->free_list == NULL)
      goto fail;
    for (i = 0; i < T; i++)
      w->offset[i] = (uint64_t)((unsigned __int128)plan->duration
                                * (2 * (uint64_t)i + 1) / (2 * (uint64_t)T));
  }
  ssan_window_reset (w);
  return w;

fail:
  ssan_window_free (w);
  return NULL;
}

void
ssan_window_free (ssan_window *w)
{
  if (w == NULL)
    return;
  free (w->cur_slots);
  free (w->sample_idx);
  free (w->slot_of);
  free (w->pts);
  free (w->offset);
  free (w->win);
  free (w->cand_slot);
  free (w->cand_pts);
  free (w->refs);
  free (w->free_list);
  free (w);
}

const ssan_window_plan *
ssan_window_get_plan (const ssan_window *w)
{
  return &w->plan;
}

int
ssan_window_n_slots (const ssan_window *w)
{
  return w->n_slots;
}

void
ssan_window_reset (ssan_window *w)
{
  int i;

  w->n_frames = 0;
  w->n_sampled = 0;
  if (w->plan.mode == SSAN_WINDOW_BY_TIME) {
    for (i = 0; i < w->n_slots; i++) {
      w->refs[i] = 0;
      w->free_list[i] = w->n_slots - 1 - i;
    }
    w->n_free = w->n_slots;
    w->head = w->n_live = 0;
    w->reported = 0;
    w->started = 0;
  }
}

static int
frames_push (ssan_window *w, uint64_t pts, int *slot)
{
  uint64_t n = w->n_frames++, L = (uint64_t)w->plan.L, first;
  int pos = (int)(n % L), t;

  w->pts[pos] = pts;
  if (frames_is_sampled (w, n)) {
    *slot = (int)(w->n_sampled++ % (uint64_t)w->n_slots);
    w->slot_of[pos] = *slot;
  } else {
    *slot = -1;
    w->slot_of[pos] = -1;
  }

  if (n + 1 < L || (n + 1 - L) % (uint64_t)w->plan.stride != 0)
    return 0;
  first = n + 1 - L;
  for (t = 0; t < w->plan.T; t++)
    w->cur_slots[t] = w->slot_of[(first + (uint64_t)w->sample_idx[t]) % L];
  w->cur_start = w->pts[first % L];
  w->cur_end = pts;
  return 1;
}

static void
time_unref (ssan_window *w, int slot)
{
  if (slot >= 0 && --w->refs[slot] == 0)
    w->free_list[w->n_free++] = slot;
}

static uint64_t
absdiff (uint64_t a, uint64_t b)
{
  return a > b ? a - b : b - a;
}

/* Removes the oldest live window; it becomes the reported one (its
 * candidates' pins move to cur_slots) unless report is 0. */
static void
time_pop (ssan_window *w, int report)
{
  tw_window *win = &w->win[w->head];
  int *cand = w->cand_slot + (size_t)w->head * w->plan.T;
  int t;

  if (report && w->reported) {
    for (t = 0; t < w->plan.T; t++)
      time_unref (w, w->cur_slots[t]);
    w->reported = 0;
    w->stats.merged++;
  }
  if (report && win->has_frame) {
    memcpy (w->cur_slots, cand, (size_t)w->plan.T * sizeof (int));
    w->cur_start = win->first_pts;
    w->cur_end = win->last_pts;
    w->reported = 1;
  } else {
    for (t = 0; t < w->plan.T; t++)
      time_unref (w, cand[t]);
    if (report)
      w->stats.empty++;
  }
  w->head = (w->head + 1) % w->capacity;
  w->n_live--;
}

static void
time_drop_all (ssan_window *w)
{
  int t;

  while (w->n_live > 0)
    time_pop (w, 0);
  if (w->reported) {
    for (t = 0; t < w->plan.T; t++)
      time_unref (w, w->cur_slots[t]);
    w->reported = 0;
  }
}

static int
time_push (ssan_window *w, uint64_t pts, int *slot)
{
  const uint64_t D = w->plan.duration, step = w->plan.step;
  const uint64_t last_offset = w->offset[w->plan.T - 1];
  int T = w->plan.T, tent, k, t;

  *slot = -1;
  if (w->reported) {
    for (t = 0; t < T; t++)
      time_unref (w, w->cur_slots[t]);
    w->reported = 0;
  }
  if (pts == SSAN_WINDOW_TIME_NONE) {
    w->stats.untimed++;
    return 0;
  }
  if (w->started && pts < w->last_pts) {
    w->stats.restarts++;
    time_drop_all (w);
    w->started = 0;
  }
  if (!w->started) {
    w->started = 1;
    w->next_start = pts;
  }
  w->last_pts = pts;

  /* windows this frame is past the end of are complete without it */
  while (w->n_live > 0 && pts >= w->win[w->head].start + D)
    time_pop (w, 1);

  while (w->next_start <= pts) {
    if (pts - w->next_start >= D) {
      uint64_t skip = (pts - w->next_start - D) / step + 1;
      w->stats.empty += skip;
      w->next_start += skip * step;
      continue;
    }
    k = (w->head + w->n_live) % w->capacity;
    w->win[k].start = w->next_start;
    w->win[k].has_frame = 0;
    for (t = 0; t < T; t++)
      w->cand_slot[(size_t)k * T + t] = -1;
    w->n_live++;
    w->next_start += step;
  }

  /* n_slots bounds the pins (ssan_window_new) */
  assert (w->n_free > 0);
  tent = w->free_list[--w->n_free];
  for (k = 0; k < w->n_live; k++) {
    int j = (w->head + k) % w->capacity;
    tw_window *win = &w->win[j];
    int *cand = w->cand_slot + (size_t)j * T;
    uint64_t *cpts = w->cand_pts + (size_t)j * T;

    if (!win->has_frame)
      win->first_pts = pts;
    win->has_frame = 1;
    win->last_pts = pts;
    for (t = 0; t < T; t++) {
      uint64_t c = win->start + w->offset[t];
      if (cand[t] >= 0 && absdiff (pts, c) >= absdiff (cpts[t], c))
        continue;
      time_unref (w, cand[t]);
      cand[t] = tent;
      cpts[t] = pts;
      w->refs[tent]++;
    }
  }

  while (w->n_live > 0 && pts >= w->win[w->head].start + last_offset)
    time_pop (w, 1);

  if (w->refs[tent] == 0)
    w->free_list[w->n_free++] = tent;
  else
    *slot = tent;
  if (w->reported)
    w->stats.windows++;
  return w->reported;
}

int
ssan_window_push (ssan_window *w, uint64_t pts, int *slot)
{
  w->stats.frames++;
  if (w->plan.mode == SSAN_WINDOW_BY_TIME)
    return time_push (w, pts, slot);
  if (frames_push (w, pts, slot)) {
    w->stats.windows++;
    return 1;
  }
  return 0;
}

const int *
ssan_window_slots (const ssan_window *w)
{
  return w->cur_slots;
}

void
ssan_window_span (const ssan_window *w, uint64_t *start, uint64_t *end)
{
  *start = w->cur_start;
  *end = w->cur_end;
}

void
ssan_window_get_stats (const ssan_window *w, ssan_window_stats *stats)
{
  *stats = w->stats;
}
