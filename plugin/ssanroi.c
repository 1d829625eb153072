/* gst-ssan — crops of regions of interest, and the tracked objects' table.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ssanroi.h"

#include <math.h>
#include <stdlib.h>

#define COORD_MAX 4294967296LL /* 2^32 */

int
ssan_crop_for_box (int frame_w, int frame_h, int64_t bx, int64_t by, int64_t bw,
    int64_t bh, double margin, int S, int resize, ssan_crop *crop)
{
  int64_t mx, my, x0, y0, x1, y1, shorter, side;

  if (frame_w < 1 || frame_h < 1 || S < 1 || resize < S || !(margin >= 0.0)
      || margin > 100.0 || bw < 1 || bh < 1 || bw > COORD_MAX || bh > COORD_MAX
      || bx < -COORD_MAX || bx > COORD_MAX || by < -COORD_MAX || by > COORD_MAX)
    return -1;
  mx = llround (margin * (double)bw);
  my = llround (margin * (double)bh);
  x0 = bx - mx;
  y0 = by - my;
  x1 = bx + bw + mx;
  y1 = by + bh + my;
  if (x0 < 0)
    x0 = 0;
  if (y0 < 0)
    y0 = 0;
  if (x1 > frame_w)
    x1 = frame_w;
  if (y1 > frame_h)
    y1 = frame_h;
  if (x1 <= x0 || y1 <= y0)
    return -1;

  shorter = x1 - x0 < y1 - y0 ? x1 - x0 : y1 - y0;
  side = (shorter * S + resize / 2) / resize;
  if (side < 1)
    side = 1;
  if (side > shorter)
    side = shorter;
  crop->x = (int)(x0 + (x1 - x0 - side) / 2);
  crop->y = (int)(y0 + (y1 - y0 - side) / 2);
  crop->side = (int)side;
  return 0;
}

struct ssan_scaler {
  int max_side, S, max_taps;
  int side;    /* the crop side the taps are for; 0: none yet */
  int *n_taps; /* [S] */
  int *idx;    /* [S][max_taps]: source offsets within the crop */
  float *w;    /* [S][max_taps], each row summing to 1 */
  float *line; /* [max_side * 3]: one output row filtered vertically */
};

ssan_scaler *
ssan_scaler_new (int max_side, int S)
{
  ssan_scaler *sc;

  if (max_side < 1 || S < 1 || max_side > (1 << 20) || S > (1 << 16))
    return NULL;
  sc = calloc (1, sizeof (*sc));
  if (sc == NULL)
    return NULL;
  sc->max_side = max_side;
  sc->S = S;
  /* a tent of radius side / S (at least 1) covers at most 2 radius + 1
   * pixels */
  sc->max_taps = 2 * ((max_side + S - 1) / S) + 3;
  sc->n_taps = calloc ((size_t)S, sizeof (int));
  sc->idx = calloc ((size_t)S * sc->max_taps, sizeof (int));
  sc->w = calloc ((size_t)S * sc->max_taps, sizeof (float));
  sc->line = calloc ((size_t)max_side * 3, sizeof (float));
  if (!sc->n_taps || !sc->idx || !sc->w || !sc->line) {
    ssan_scaler_free (sc);
    return NULL;
  }
  return sc;
}

void
ssan_scaler_free (ssan_scaler *sc)
{
  if (sc == NULL)
    return;
  free (sc->n_taps);
  free (sc->idx);
  free (sc->w);
  free (sc->line);
  free (sc);
}

/* Taps of the S outputs over a crop of side: output i is centred on
 * (i + 0.5) side / S - 0.5 in the crop. */
static void
ssan_scaler_set_side (ssan_scaler *sc, int side)
{
  double scale = (double)side / sc->S;
  double radius = scale > 1.0 ? scale : 1.0;
  int i, k, n;

  for (i = 0; i < sc->S; i++) {
    double c = (i + 0.5) * scale - 0.5, sum = 0.0;
    int *idx = sc->idx + (size_t)i * sc->max_taps;
    float *w = sc->w + (size_t)i * sc->max_taps;

    n = 0;
    for (k = (int)floor (c - radius); k <= (int)ceil (c + radius); k++) {
      double d = 1.0 - fabs (k - c) / radius;

      if (d <= 1e-9 || n == sc->max_taps)
        continue;
      idx[n] = k < 0 ? 0 : k >= side ? side - 1 : k;
      w[n] = (float)d;
      sum += d;
      n++;
    }
    for (k = 0; k < n; k++)
      w[k] = (float)(w[k] / sum);
    sc->n_taps[i] = n;
  }
  sc->side = side;
}

int
ssan_scaler_run (ssan_scaler *sc, const uint8_t *src, size_t src_stride,
    const ssan_crop *crop, uint8_t *dst, size_t dst_stride)
{
  int side = crop->side, S = sc->S, width = crop->side * 3, i, j, k, t;

  if (side < 1 || side > sc->max_side)
    return -1;
  if (sc->side != side)
    ssan_scaler_set_side (sc, side);
  src += (size_t)crop->y * src_stride + (size_t)crop->x * 3;

  for (j = 0; j < S; j++) {
    const int *yi = sc->idx + (size_t)j * sc->max_taps;
    const float *yw = sc->w + (size_t)j * sc->max_taps;
    float *line = sc->line;
    uint8_t *out = dst + (size_t)j * dst_stride;

    for (k = 0; k < width; k++)
      line[k] = 0.0f;
    for (t = 0; t < sc->n_taps[j]; t++) {
      const uint8_t *row = src + (size_t)yi[t] * src_stride;
      float w = yw[t];

      for (k = 0; k < width; k++)
        line[k] += w * row[k];
    }
    for (i = 0; i < S; i++) {
      const int *xi = sc->idx + (size_t)i * sc->max_taps;
      const float *xw = sc->w + (size_t)i * sc->max_taps;
      float r = 0.0f, g = 0.0f, b = 0.0f;

      for (t = 0; t < sc->n_taps[i]; t++) {
        const float *p = line + (size_t)xi[t] * 3;

        r += xw[t] * p[0];
        g += xw[t] * p[1];
        b += xw[t] * p[2];
      }
      out[3 * i] = (uint8_t)(r < 0.0f ? 0 : r > 255.0f ? 255 : r + 0.5f);
      out[3 * i + 1] = (uint8_t)(g < 0.0f ? 0 : g > 255.0f ? 255 : g + 0.5f);
      out[3 * i + 2] = (uint8_t)(b < 0.0f ? 0 : b > 255.0f ? 255 : b + 0.5f);
    }
  }
  return 0;
}

struct ssan_objects {
  int cap, max_missing, count;
  int64_t *id;
  uint64_t *last_seen; /* frame number; 0: slot free */
  uint64_t frame;      /* current frame, from 1 */
  ssan_objects_stats stats;
};

ssan_objects *
ssan_objects_new (int max_objects, int max_missing)
{
  ssan_objects *t;

  if (max_objects < 1 || max_missing < 0)
    return NULL;
  t = calloc (1, sizeof (*t));
  if (t == NULL)
    return NULL;
  t->cap = max_objects;
  t->max_missing = max_missing;
  t->id = calloc ((size_t)max_objects, sizeof (int64_t));
  t->last_seen = calloc ((size_t)max_objects, sizeof (uint64_t));
  if (t->id == NULL || t->last_seen == NULL) {
    ssan_objects_free (t);
    return NULL;
  }
  return t;
}

void
ssan_objects_free (ssan_objects *t)
{
  if (t == NULL)
    return;
  free (t->id);
  free (t->last_seen);
  free (t);
}

int
ssan_objects_capacity (const ssan_objects *t)
{
  return t->cap;
}

int
ssan_objects_count (const ssan_objects *t)
{
  return t->count;
}

void
ssan_objects_begin (ssan_objects *t)
{
  t->frame++;
}

ssan_objects_event
ssan_objects_see (ssan_objects *t, int64_t id, int *slot, int64_t *evicted_id)
{
  int s, free_slot = -1, oldest = -1;

  for (s = 0; s < t->cap; s++) {
    if (t->last_seen[s] == 0) {
      if (free_slot < 0)
        free_slot = s;
      continue;
    }
    if (t->id[s] == id) {
      *slot = s;
      if (t->last_seen[s] == t->frame) {
        t->stats.duplicates++;
        return SSAN_OBJECTS_DUPLICATE;
      }
      t->last_seen[s] = t->frame;
      return SSAN_OBJECTS_KNOWN;
    }
    if (oldest < 0 || t->last_seen[s] < t->last_seen[oldest])
      oldest = s;
  }

  if (free_slot >= 0) {
    s = free_slot;
    t->count++;
    t->stats.created++;
    t->id[s] = id;
    t->last_seen[s] = t->frame;
    *slot = s;
    return SSAN_OBJECTS_NEW;
  }
  if (t->last_seen[oldest] == t->frame) {
    t->stats.ignored++;
    *slot = -1;
    return SSAN_OBJECTS_IGNORED;
  }
  if (evicted_id)
    *evicted_id = t->id[oldest];
  t->stats.evicted++;
  t->stats.created++;
  t->id[oldest] = id;
  t->last_seen[oldest] = t->frame;
  *slot = oldest;
  return SSAN_OBJECTS_REPLACED;
}

int
ssan_objects_end (ssan_objects *t, int *dropped)
{
  int s, n = 0;

  for (s = 0; s < t->cap; s++) {
    if (t->last_seen[s] == 0
        || t->frame - t->last_seen[s] <= (uint64_t)t->max_missing)
      continue;
    t->last_seen[s] = 0;
    t->count--;
    t->stats.dropped++;
    if (dropped)
      dropped[n] = s;
    n++;
  }
  return n;
}

int
ssan_objects_get_id (const ssan_objects *t, int slot, int64_t *id)
{
  if (slot < 0 || slot >= t->cap || t->last_seen[slot] == 0)
    return 0;
  *id = t->id[slot];
  return 1;
}

void
ssan_objects_clear (ssan_objects *t)
{
  int s;

  for (s = 0; s < t->cap; s++)
    t->last_seen[s] = 0;
  t->count = 0;
}

void
ssan_objects_get_stats (const ssan_objects *t, ssan_objects_stats *st)
{
  *st = t->stats;
}
