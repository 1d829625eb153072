/* gst-ssan — sliding windows over a stream of frames (model spec §4).
 *
 * Plain C11, no GLib, no GStreamer: which frames of a stream a window
 * samples, where their converted pixels are kept, and when a window is
 * complete.  The caller (ssanaction) owns the pixels: it keeps
 * ssan_window_n_slots () converted frames and is told, per input frame,
 * into which of them to convert it (or that it is never sampled).
 *
 *   ssan_window_plan plan;
 *   ssan_window_plan_make (&request, &plan);   // L, stride, mode
 *   ssan_window *w = ssan_window_new (&plan);
 *   for each frame:
 *     ready = ssan_window_push (w, pts, &slot);
 *     if (slot >= 0) convert the frame into slot;
 *     if (ready) read the T slots of ssan_window_slots (w), in segment order;
 *   ssan_window_free (w);
 *
 * Two modes, chosen by ssan_window_plan_make:
 * - by frames: a window spans the last L frames, segment i samples the
 *   frame at index ssan_sample_index (L, T, i) of it; the first window ends
 *   on frame L-1, then one every stride frames.  On a fixed-rate stream of
 *   rate f with a model trained at rate r != f (and L not set explicitly) L
 *   and stride are scaled by f/r first (§4: L' = max (T, round (L f / r)),
 *   stride' = max (1, round (stride f / r))).
 * - by time, on variable-rate streams (caps framerate 0/1) when the model's
 *   rate r is known: window k spans the duration D = L / r from
 *   s_k = s_0 + k * stride / r (s_0: the first frame's PTS after a reset);
 *   segment i samples, among the frames whose PTS lies in [s_k, s_k + D),
 *   the one nearest to the segment's centre time s_k + D (2i+1) / (2T)
 *   (the earlier one on a tie).  The window is complete on the first frame
 *   at or past its last centre time.  A window no frame falls in (a gap in
 *   the stream) gives nothing and is counted; when several windows complete
 *   on one frame (frames sparser than the stride) only the newest is
 *   reported and the others are counted as merged.  Frames without a PTS
 *   are never sampled (counted); a PTS going backwards restarts the
 *   windows, as a reset does.
 *
 * Nothing is allocated after ssan_window_new.  Not thread safe: one
 * ssan_window per stream, used by one thread at a time.
 */
#ifndef SSAN_WINDOW_H
#define SSAN_WINDOW_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A missing timestamp (the value of GST_CLOCK_TIME_NONE). */
#define SSAN_WINDOW_TIME_NONE UINT64_MAX

#define SSAN_WINDOW_MAX_FRAMES 4096  /* largest L */
#define SSAN_WINDOW_MAX_STRIDE 65536 /* largest stride */
#define SSAN_WINDOW_MAX_SEGMENTS 256 /* largest T */

typedef enum ssan_window_mode {
  SSAN_WINDOW_BY_FRAMES = 0,
  SSAN_WINDOW_BY_TIME = 1,
} ssan_window_mode;

typedef enum ssan_window_status {
  SSAN_WINDOW_OK = 0,
  SSAN_WINDOW_ERR_SEGMENTS, /* T outside 1..SSAN_WINDOW_MAX_SEGMENTS */
  SSAN_WINDOW_ERR_LENGTH,   /* L < T or L > SSAN_WINDOW_MAX_FRAMES (also
                             * after scaling to the stream's rate) */
  SSAN_WINDOW_ERR_STRIDE,   /* stride > SSAN_WINDOW_MAX_STRIDE, or negative */
  SSAN_WINDOW_ERR_NOMEM,
} ssan_window_status;

/* What the element knows when it configures its windows.  Rates are
 * fractions num/den frames per second. */
typedef struct ssan_window_request {
  int segments;            /* T, >= 1 */
  int window_frames;       /* L as set by the user; 0: the default */
  int stride;              /* as set by the user; 0: the default, L / T */
  int model_window_frames; /* the model's window_frames (0 or < T: T) */
  int model_rate_num;      /* the model's frame_rate; 0 when unknown */
  int model_rate_den;
  int stream_rate_num; /* the stream's caps framerate; 0 (0/1): variable or */
  int stream_rate_den; /* unknown */
  int by_time;         /* 0: always count frames, whatever the rates */
} ssan_window_request;

typedef struct ssan_window_plan {
  ssan_window_mode mode;
  int T;             /* segments */
  int L;             /* frames per window: by frames, over the stream (after
                      * scaling); by time, at the model's rate (D = L / r) */
  int stride;        /* frames between window ends, same units as L */
  int base_L;        /* L before scaling to the stream's rate */
  int base_stride;   /* stride before scaling */
  int scaled;        /* 1 when L and stride were scaled by f / r */
  uint64_t duration; /* by time: D in ns (>= 1); by frames: 0 */
  uint64_t step;     /* by time: ns between window starts (>= 1); else 0 */
} ssan_window_plan;

/* Chooses the mode, L and stride for a request (see the top of this file).
 * Returns SSAN_WINDOW_OK with *plan filled, or an error (plan untouched).
 * SSAN_WINDOW_ERR_LENGTH reports the offending L in *bad_length (may be
 * NULL). */
ssan_window_status ssan_window_plan_make (
    const ssan_window_request *req, ssan_window_plan *plan, int *bad_length);

typedef struct ssan_window ssan_window;

/* Returns NULL when out of memory or for a plan ssan_window_plan_make would
 * not make. */
ssan_window *ssan_window_new (const ssan_window_plan *plan);
void ssan_window_free (ssan_window *w);

const ssan_window_plan *ssan_window_get_plan (const ssan_window *w);

/* Converted frames the caller keeps (slots 0 .. n_slots-1): the most any
 * moment needs.  By frames it is the most sampled frames any span of L
 * frames holds; by time, (ceil (D / step) + 1) * T + 1. */
int ssan_window_n_slots (const ssan_window *w);

/* Forgets every frame: the next window ends L frames (by time, D) after
 * the next frame.  Counters are kept. */
void ssan_window_reset (ssan_window *w);

/* Takes the next frame of the stream, with its PTS in ns (or
 * SSAN_WINDOW_TIME_NONE; only the by-time mode needs it).  Sets *slot to
 * the slot the caller must convert this frame into before reading any
 * window, or -1 when no window samples it.  Returns 1 when a window is
 * complete at this frame (its slots, the frame's own included, may be read
 * until the next call), else 0.  The slots of a window reported by the
 * previous call may be reused from this call on. */
int ssan_window_push (ssan_window *w, uint64_t pts, int *slot);

/* The slots of the window reported by the last push, T of them, segment
 * 0 (oldest) first. */
const int *ssan_window_slots (const ssan_window *w);

/* PTS of the first and last frame of that window (SSAN_WINDOW_TIME_NONE
 * where the frames had none). */
void ssan_window_span (const ssan_window *w, uint64_t *start, uint64_t *end);

typedef struct ssan_window_stats {
  uint64_t frames;   /* pushed since ssan_window_new */
  uint64_t windows;  /* reported */
  uint64_t untimed;  /* by time: frames without a PTS (never sampled) */
  uint64_t restarts; /* by time: PTS went backwards, windows restarted */
  uint64_t empty;    /* by time: windows no frame fell in */
  uint64_t merged;   /* by time: complete windows not reported because a
                      * newer one completed on the same frame */
} ssan_window_stats;

void ssan_window_get_stats (const ssan_window *w, ssan_window_stats *stats);

#ifdef __cplusplus
}
#endif
#endif /* SSAN_WINDOW_H */
