/* gst-ssan — synthetic action world: clips of one moving object.
 *
 * Plain C11, no GLib, no GStreamer.  The same code draws the training data
 * (tools/ssan-synth) and the frames of the ssantestsrc element, so the two
 * cannot drift apart.
 *
 *   ssan_synth_clip clip;
 *   ssan_synth_clip_init (&clip, seed, k, -1, 32);   // clip k of seed
 *   for (t = 0; t < 32; t++)
 *     ssan_synth_render (&clip, t, w, h, rgb, w * 3);
 *
 * Classes: SSAN_SYNTH_N_CLASSES names, class id = index (see
 * ssan_synth_class_name).  Classes 2k and 2k+1 (k = 0..4) are each other
 * played backwards: for the same (seed, clip_index, n_frames), frame t of
 * class 2k is pixel for pixel frame n_frames-1-t of class 2k+1.  The
 * parameters of a clip are drawn identically whatever its class, so this
 * holds exactly, sensor noise included (noise and jitter follow the pair's
 * forward time).
 *
 * Randomness: clip k of seed S draws everything from the PCG32 stream
 * (initstate S, initseq k) (O'Neill's pcg32_srandom_r).  Its first draw is
 * the random class (used when class_id is -1), so a random clip and the
 * same clip with its class forced have the same shape, colours, path, ...
 *
 * Determinism: same arguments, same bytes, on every machine.  Pixels are
 * computed with IEEE float/double +, -, *, /, sqrt and floor only (no libm
 * transcendental: sine and cosine are this file's own polynomials), the
 * library is built with -ffp-contract=off (no FMA fusing), and the random
 * numbers and pixel hashes are integer arithmetic.
 *
 * Geometry is resolution independent: positions and sizes are in units of
 * the frame's shorter side s = min(width, height), origin at the frame
 * centre, x right, y down.  Every object of the action stays inside the
 * central square |x|, |y| <= SSAN_SYNTH_ACTION_HALF, so the centre crop of
 * spec §5 (half side 0.4375 at the default resize = input_size*256/224)
 * sees the whole action at any aspect ratio.  Edges are anti-aliased by 4x4
 * supersampling of each pixel an edge crosses, the background texture is
 * defined in the same units, and the sensor noise is scaled with s (see
 * sensor_noise), so a 64x64 render looks like a 640x480 render scaled down and
 * centre-cropped.
 *
 * Thread safety: an initialised clip is read-only for ssan_synth_render; any
 * number of threads may render frames of one clip at once.
 * ssan_synth_render allocates nothing; a canvas (below) is faster.
 */
#ifndef SSAN_SYNTH_H
#define SSAN_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SSAN_SYNTH_N_CLASSES 11

/* Half side, in shorter-side units, of the central square that holds every
 * object of the action (distractors may lie anywhere in the central square
 * of half side 0.5). */
#define SSAN_SYNTH_ACTION_HALF 0.42

/* Largest accepted width or height, in pixels. */
#define SSAN_SYNTH_MAX_SIDE 32768

#define SSAN_SYNTH_MAX_DISTRACTORS 3

typedef enum ssan_synth_class {
  SSAN_SYNTH_MOVING_LEFT = 0,
  SSAN_SYNTH_MOVING_RIGHT,
  SSAN_SYNTH_MOVING_UP,
  SSAN_SYNTH_MOVING_DOWN,
  SSAN_SYNTH_APPROACHING,
  SSAN_SYNTH_RECEDING,
  SSAN_SYNTH_ROTATING_CW,
  SSAN_SYNTH_ROTATING_CCW,
  SSAN_SYNTH_APPEARING,
  SSAN_SYNTH_DISAPPEARING,
  SSAN_SYNTH_STAYING_STILL,
} ssan_synth_class;

typedef enum ssan_synth_shape {
  SSAN_SYNTH_CIRCLE = 0,
  SSAN_SYNTH_SQUARE,
  SSAN_SYNTH_TRIANGLE,
  SSAN_SYNTH_STAR,
  SSAN_SYNTH_CROSS,
  SSAN_SYNTH_ARROW,
  SSAN_SYNTH_N_SHAPES
} ssan_synth_shape;

typedef enum ssan_synth_texture {
  SSAN_SYNTH_TEX_NOISE = 0, /* smooth value noise, two octaves */
  SSAN_SYNTH_TEX_STRIPES,   /* soft stripes at any angle */
  SSAN_SYNTH_TEX_CHECKER,   /* soft rotated checkerboard */
  SSAN_SYNTH_N_TEXTURES
} ssan_synth_texture;

/* A static object: shape of radius r (shape fits in the disc of radius r)
 * at (x, y), turned by angle radians (clockwise on screen). */
typedef struct ssan_synth_object {
  int shape;      /* ssan_synth_shape */
  double x, y, r; /* shorter-side units, origin at centre */
  double angle;   /* radians */
  float rgb[3];   /* 0..255 */
} ssan_synth_object;

/* One clip: every parameter, drawn by ssan_synth_clip_init.  Callers read
 * it (e.g. to log the ground truth) but need not touch it. */
typedef struct ssan_synth_clip {
  uint64_t seed;       /* the seed it was drawn from */
  uint64_t clip_index; /* k: RNG stream of the clip */
  int class_id;        /* 0..SSAN_SYNTH_N_CLASSES-1 */
  int n_frames;        /* clip length, >= 1 */
  uint32_t pixel_key;  /* keys the per-pixel sensor noise */

  /* background: a static texture going from colour [0] to colour [1] */
  struct {
    int texture;      /* ssan_synth_texture */
    uint32_t key;     /* keys the texture's lattice hashes */
    float rgb[2][3];  /* 0..255 */
    double freq;      /* cells (or periods) per shorter side */
    double angle;     /* stripes/checker orientation, radians */
    double softness;  /* edge width as a fraction of a period */
    double offset[2]; /* lattice offset */
    float shading;    /* low-frequency shading amplitude, 0..255 */
  } bg;
  float noise_sigma; /* sensor noise amplitude at s = 240, 0..255 */

  int n_distractors; /* 0..SSAN_SYNTH_MAX_DISTRACTORS */
  ssan_synth_object distractors[SSAN_SYNTH_MAX_DISTRACTORS];

  /* the actor, at the pair's forward time f in [0, 1]: centre
   * (x0 + dx f, y0 + dy f), radius r0 + (r1 - r0) f, angle a0 + da f,
   * opacity ramping from 0 at f = fade_in_start to 1 at fade_in_end; each
   * class uses only its own motion (see ssan_synth_clip_init) */
  int shape;      /* ssan_synth_shape */
  float rgb[3];   /* body colour, 0..255 */
  int has_marker; /* a disc of another colour off the centre
                   * (always for the rotating classes) */
  float marker_rgb[3];
  double x0, y0, dx, dy;
  double r0, r1;
  double a0, da;
  double fade_in_start, fade_in_end;
  double jitter; /* per-frame random offset amplitude */
} ssan_synth_clip;

/* Class name of class_id ("moving left", ...), or NULL when out of range.
 * These strings are the labels stored in models trained on this world. */
const char *ssan_synth_class_name (int class_id);

/* Class id of a name as returned by ssan_synth_class_name (exact match), or
 * -1. */
int ssan_synth_class_from_name (const char *name);

/* Draws the parameters of clip clip_index of seed.  class_id: 0..10, or -1
 * for the stream's own random class.  n_frames >= 1.  Returns 0, or -1 (clip
 * untouched) on an invalid argument. */
int ssan_synth_clip_init (ssan_synth_clip *clip, uint64_t seed,
    uint64_t clip_index, int class_id, int n_frames);

/* Draws frame frame_index (0..n_frames-1) of clip as packed RGB8:
 * height rows of width pixels, row y starting at rgb + y * stride, 3 bytes
 * per pixel (R, G, B); stride >= 3 * width.  1 <= width, height <=
 * SSAN_SYNTH_MAX_SIDE.  Returns 0, or -1 (nothing written) on an invalid
 * argument. */
int ssan_synth_render (const ssan_synth_clip *clip, int frame_index, int width,
    int height, uint8_t *rgb, size_t stride);

/* A canvas renders the frames of a clip faster, from the clip's background
 * drawn once into a buffer of width x height float pixels (12 bytes per
 * pixel), redrawn when the clip's background changes.  Same pixels as
 * ssan_synth_render.  One canvas per thread.
 * ssan_synth_canvas_new returns NULL when out of memory or on invalid
 * sizes. */
typedef struct ssan_synth_canvas ssan_synth_canvas;

ssan_synth_canvas *ssan_synth_canvas_new (int width, int height);
void ssan_synth_canvas_free (ssan_synth_canvas *canvas);
int ssan_synth_canvas_render (ssan_synth_canvas *canvas,
    const ssan_synth_clip *clip, int frame_index, uint8_t *rgb, size_t stride);

/* Scenes of several actors (ssantestsrc actors=N): the frame is cut into
 * a grid of cols x rows cells, and actor k (0-based, row by row) performs
 * clip clip * N + k of the seed in cell k, drawn exactly as a frame of the
 * cell's size would be (ssan_synth_render at the cell's width and height
 * into the cell's rectangle), so the centre square of each cell holds its
 * actor's whole action.  Cell (col, row) spans x in [col * width / cols,
 * (col + 1) * width / cols) and y likewise (integer division), so the cells
 * tile the frame.  The grid is the one of at least N cells whose cells have
 * the longest shorter side (the actors appear largest), the one with fewer
 * cells on a tie; cells beyond N stay empty.  One actor is the whole
 * frame. */
#define SSAN_SYNTH_MAX_ACTORS 64

/* Fills the grid for n_actors (1..SSAN_SYNTH_MAX_ACTORS) in a width x height
 * frame.  Returns 0, or -1 on an invalid argument or when a cell would be
 * empty of pixels (the frame is too small for that many). */
int ssan_synth_layout (
    int n_actors, int width, int height, int *cols, int *rows);

/* The rectangle of cell k (0 <= k < cols * rows) of that grid. */
void ssan_synth_cell (int cols, int rows, int width, int height, int k, int *x,
    int *y, int *cell_width, int *cell_height);

/* Convenience for bindings (e.g. Python ctypes): draws n_idx frames, frame
 * frame_idx[i] of clip clip_index of seed with class_id (-1: random),
 * into out + i * height * width * 3 (packed, stride 3 * width).  Stores the
 * clip's class in *class_out when not NULL.  Returns 0 or -1. */
int ssan_synth_render_frames (uint64_t seed, uint64_t clip_index, int class_id,
    int n_frames, const int *frame_idx, int n_idx, int width, int height,
    uint8_t *out, int *class_out);

#ifdef __cplusplus
}
#endif

#endif /* SSAN_SYNTH_H */
