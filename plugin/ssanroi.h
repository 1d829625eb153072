/* gst-ssan — regions of interest: where a window's frames are cropped, and
 * which tracked objects have a window.
 *
 * Plain C11, no GLib, no GStreamer.
 *
 * Crop (spec §5 on a box): the network sees the centre square of side
 * round (shorter side * S / resize) of a region, scaled to S x S.  For the
 * whole frame that is the element's full-frame crop; for an object it is
 * the same rule on the object's box, first grown by a margin (a fraction of
 * the box's width and height on each side) and clipped to the frame, so
 * the crop is never stretched and never reads outside the frame.  A box
 * with no pixel inside the frame gives no crop.
 *
 * Object table: at most max_objects objects, keyed by the tracker's id
 * (any 64-bit value), each in a slot 0 .. max_objects-1 that the caller
 * uses to index its own per-object state (window, frames, smoothing).
 * Per frame: ssan_objects_begin, ssan_objects_see for each ROI, then
 * ssan_objects_end, which drops the objects not seen for more than
 * max_missing frames.  When the table is full a new object takes the slot
 * of the object seen longest ago, unless every object was seen in this
 * frame: then the newcomer is ignored (counted), so a frame with a thousand
 * ROIs costs at most max_objects windows and no churn.  An id seen twice in
 * one frame counts once (the first box wins).
 */
#ifndef SSAN_ROI_H
#define SSAN_ROI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ssan_crop {
  int x, y; /* top-left corner in the frame, pixels */
  int side; /* square side, pixels, >= 1 */
} ssan_crop;

/* The crop of the box (bx, by, bw, bh) grown by margin (>= 0, a fraction
 * of bw and bh added on each side, rounded to pixels) and clipped to a
 * frame_w x frame_h frame, for a model of input side S and resize (spec
 * §3).  Returns 0 with *crop, or -1 when the grown box has no pixel in the
 * frame or an argument is out of range (sizes < 1, |coordinates| > 2^32).  With
 * the whole frame and margin 0 this is the element's full-frame crop: side
 * round (shorter * S / resize) clamped to [1, shorter], corner ((w - side) / 2,
 * (h - side) / 2) rounded down. */
int ssan_crop_for_box (int frame_w, int frame_h, int64_t bx, int64_t by,
    int64_t bw, int64_t bh, double margin, int S, int resize, ssan_crop *crop);

/* Crop scaler: a crop of a packed RGB frame (3 bytes a pixel) scaled to
 * S x S packed RGB with a linear (tent) filter, widened to the scale when
 * shrinking (as GStreamer's linear resampler: every source pixel counts,
 * no aliasing); a crop of side S is copied.  Taps span the crop only (its
 * edges are repeated).  Made once for crops of side <= max_side: scaling
 * allocates nothing, so a moving box costs no memory per frame. */
typedef struct ssan_scaler ssan_scaler;

/* NULL when out of memory or on a bad argument (max_side, S < 1). */
ssan_scaler *ssan_scaler_new (int max_side, int S);
void ssan_scaler_free (ssan_scaler *sc);

/* Scales crop (inside the frame src, rows src_stride bytes apart) to dst
 * (S rows of S RGB pixels, dst_stride bytes apart).  Returns 0, or -1
 * (dst untouched) when the crop's side is < 1 or > max_side. */
int ssan_scaler_run (ssan_scaler *sc, const uint8_t *src, size_t src_stride,
    const ssan_crop *crop, uint8_t *dst, size_t dst_stride);

typedef struct ssan_objects ssan_objects;

typedef enum ssan_objects_event {
  SSAN_OBJECTS_KNOWN = 0, /* an object already in the table */
  SSAN_OBJECTS_NEW,       /* a new object in a free slot */
  SSAN_OBJECTS_REPLACED,  /* a new object in an evicted object's slot */
  SSAN_OBJECTS_IGNORED,   /* table full of objects seen this frame */
  SSAN_OBJECTS_DUPLICATE, /* its id was already seen in this frame */
} ssan_objects_event;

typedef struct ssan_objects_stats {
  uint64_t created;    /* objects that got a slot */
  uint64_t evicted;    /* objects whose slot a newcomer took */
  uint64_t dropped;    /* objects gone for more than max_missing frames */
  uint64_t ignored;    /* ROIs of new objects the full table had no room for */
  uint64_t duplicates; /* ROIs repeating an id within a frame */
} ssan_objects_stats;

/* max_objects >= 1, max_missing >= 0 (0: an object absent from one frame
 * is dropped).  NULL when out of memory or on a bad argument. */
ssan_objects *ssan_objects_new (int max_objects, int max_missing);
void ssan_objects_free (ssan_objects *t);

int ssan_objects_capacity (const ssan_objects *t);
int ssan_objects_count (const ssan_objects *t);

/* Starts the next frame. */
void ssan_objects_begin (ssan_objects *t);

/* Marks object id as seen in this frame.  Sets *slot (>= 0) for KNOWN, NEW
 * and REPLACED (then *evicted_id, if not NULL, is the id that lost the
 * slot), or -1 for IGNORED; for DUPLICATE, the slot of the first sighting. */
ssan_objects_event ssan_objects_see (
    ssan_objects *t, int64_t id, int *slot, int64_t *evicted_id);

/* Ends the frame: drops the objects unseen for more than max_missing frames
 * and writes their slots to dropped (room for capacity entries; may be
 * NULL).  Returns how many were dropped. */
int ssan_objects_end (ssan_objects *t, int *dropped);

/* Id of the object in slot, 1 when the slot is in use, else 0. */
int ssan_objects_get_id (const ssan_objects *t, int slot, int64_t *id);

/* Forgets every object (a flush); counters are kept. */
void ssan_objects_clear (ssan_objects *t);

void ssan_objects_get_stats (const ssan_objects *t, ssan_objects_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* SSAN_ROI_H */
