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
