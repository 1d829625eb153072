/* gst-ssan engine: TSM's temporal shift (spec §1), a data-movement op.
 * Internal, not installed.
 *
 * The shift runs in place on the block input x (CNHW [C][nb*T][hw], see
 * ssan-ops.h) so that conv1 reads the shifted tensor with the layout it
 * always has; ssan_shift_restore then puts x back exactly as it was for the
 * identity path (a block with a downsample runs it before the shift and
 * needs no restore).  Only the 2*fold shifted channels move.  Each
 * window's frame that a shift pushes out (frame 0 of channels [0, fold),
 * frame T-1 of channels [fold, 2*fold)) waits in keep.  Everything is
 * memmove/memcpy/zero fill, so the result is bit-exact on every kernel
 * table. */
#ifndef SSAN_SHIFT_H
#define SSAN_SHIFT_H

#include "ssan-ops.h"

#include <stddef.h>

/* Floats of keep for fold channels each way, nb windows of hw pixels. */
size_t ssan_shift_keep_size (int fold, int nb, size_t hw);

/* Channels [0, fold) of frame t take frame t+1's values (zeros at t = T-1),
 * channels [fold, 2*fold) frame t-1's (zeros at t = 0), per window; the
 * rest stay.  Threads take channels. */
void ssan_shift_forward (float *x, int fold, int nb, int T, size_t hw,
    float *keep, const ssan_work *work);

/* Undoes ssan_shift_forward with the same arguments and keep. */
void ssan_shift_restore (float *x, int fold, int nb, int T, size_t hw,
    const float *keep, const ssan_work *work);

#endif /* SSAN_SHIFT_H */
