/* gst-ssan — synthetic action world (see include/ssan/synth.h).
 *
 * Pixel values must not depend on the machine: only IEEE +, -, *, /, sqrt
 * and integer hashes decide them, and this file is compiled with
 * -ffp-contract=off (the pragma below says the same to compilers that
 * honour it).
 */
#include "ssan/synth.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

static const char *const class_names[SSAN_SYNTH_N_CLASSES] = {
  "moving left",
  "moving right",
  "moving up",
  "moving down",
  "approaching",
  "receding",
  "rotating clockwise",
  "rotating counter-clockwise",
  "appearing",
  "disappearing",
  "staying still",
};

#define PI 3.14159265358979323846
#define HALF SSAN_SYNTH_ACTION_HALF
/* Room kept for the per-frame jitter at the edge of the action square. */
#define JITTER_MAX 0.004
#define EDGE (HALF - JITTER_MAX)

/* Marker disc, in the body's unit-radius frame: large and near the rim, so
 * that a turn moves it by a good part of the body's size. */
#define MARKER_X 0.62f
#define MARKER_R 0.34f
/* A rotating body is larger than the others by this much (radius, in units
 * of the shorter side) and turns by 60-140 degrees over the clip: less than
 * half a turn between any two frames, so its direction is never ambiguous. */
#define ROT_GROW 0.05
#define ROT_MIN (PI / 3.0)
#define ROT_MAX (7.0 * PI / 9.0)

/* ---- random numbers: PCG32 (O'Neill, pcg32_srandom_r / pcg32_random_r) */

typedef struct pcg32 {
  uint64_t state;
  uint64_t inc;
} pcg32;

static uint32_t
pcg32_next (pcg32 *r)
{
  uint64_t old = r->state;
  uint32_t xorshifted, rot;

  r->state = old * 6364136223846793005ULL + r->inc;
  xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

static void
pcg32_seed (pcg32 *r, uint64_t initstate, uint64_t initseq)
{
  r->state = 0u;
  r->inc = (initseq << 1u) | 1u;
  pcg32_next (r);
  r->state += initstate;
  pcg32_next (r);
}

/* Uniform in [a, b). */
static double
rng_range (pcg32 *r, double a, double b)
{
  return a + (b - a) * ((double)pcg32_next (r) * (1.0 / 4294967296.0));
}

/* Uniform in 0..n-1 (n small: the bias is irrelevant, the result exact). */
static int
rng_int (pcg32 *r, int n)
{
  return (int)(((uint64_t)pcg32_next (r) * (uint64_t)n) >> 32);
}

/* ---- integer hash for pixels (Wellons' lowbias32) */

static inline uint32_t
hash32 (uint32_t x)
{
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

/* ---- sine and cosine of our own: libm's may differ in the last bit */

static void
sin_cos (double a, double *s, double *c)
{
  double q = a * (2.0 / PI);
  long long qi = (long long)(q < 0.0 ? q - 0.5 : q + 0.5);
  double x = a - (double)qi * (PI / 2.0);
  double x2 = x * x;
  double sx, cx;

  sx = x
       * (1.0
           - x2 / 6.0
                 * (1.0
                     - x2 / 20.0
                           * (1.0
                               - x2 / 42.0
                                     * (1.0
                                         - x2 / 72.0
                                               * (1.0
                                                   - x2 / 110.0
                                                         * (1.0
                                                             - x2 / 156.0))))));
  cx = 1.0
       - x2 / 2.0
             * (1.0
                 - x2 / 12.0
                       * (1.0
                           - x2 / 30.0
                                 * (1.0
                                     - x2 / 56.0
                                           * (1.0
                                               - x2 / 90.0
                                                     * (1.0 - x2 / 132.0)))));
  switch (qi & 3) {
    case 0:
      *s = sx;
      *c = cx;
      break;
    case 1:
      *s = cx;
      *c = -sx;
      break;
    case 2:
      *s = -sx;
      *c = -cx;
      break;
    default:
      *s = -cx;
      *c = sx;
      break;
  }
}

static inline int
ifloor (float x)
{
  int i = (int)x;
  return (x < (float)i) ? i - 1 : i;
}

static inline float
clampf (float x, float lo, float hi)
{
  return x < lo ? lo : (x > hi ? hi : x);
}

/* ---- shapes, each inside the unit disc, pointing along +x */

typedef struct poly {
  int n;
  float v[12][2];
} poly;

static const poly shape_polys[SSAN_SYNTH_N_SHAPES] = {
  [SSAN_SYNTH_CIRCLE] = { 0, { { 0 } } },
  [SSAN_SYNTH_SQUARE] = { 4,
      { { 0.7f, 0.7f }, { -0.7f, 0.7f }, { -0.7f, -0.7f }, { 0.7f, -0.7f } } },
  [SSAN_SYNTH_TRIANGLE]
  = { 3, { { 1.0f, 0.0f }, { -0.5f, 0.8660254f }, { -0.5f, -0.8660254f } } },
  [SSAN_SYNTH_STAR]
  = { 10, { { 1.0f, 0.0f }, { 0.3640576f, 0.2645036f },
              { 0.3090170f, 0.9510565f }, { -0.1390576f, 0.4279754f },
              { -0.8090170f, 0.5877853f }, { -0.45f, 0.0f },
              { -0.8090170f, -0.5877853f }, { -0.1390576f, -0.4279754f },
              { 0.3090170f, -0.9510565f }, { 0.3640576f, -0.2645036f } } },
  [SSAN_SYNTH_CROSS]
  = { 12, { { 0.95f, -0.3f }, { 0.95f, 0.3f }, { 0.3f, 0.3f }, { 0.3f, 0.95f },
              { -0.3f, 0.95f }, { -0.3f, 0.3f }, { -0.95f, 0.3f },
              { -0.95f, -0.3f }, { -0.3f, -0.3f }, { -0.3f, -0.95f },
              { 0.3f, -0.95f }, { 0.3f, -0.3f } } },
  [SSAN_SYNTH_ARROW]
  = { 7, { { 1.0f, 0.0f }, { 0.2f, 0.7f }, { 0.2f, 0.3f }, { -0.9f, 0.3f },
             { -0.9f, -0.3f }, { 0.2f, -0.3f }, { 0.2f, -0.7f } } },
};

/* A little less than each shape's distance from its centre to its edge:
 * pixels well inside need no distance computed. */
static const float shape_inner[SSAN_SYNTH_N_SHAPES] = {
  [SSAN_SYNTH_CIRCLE] = 0.99f,
  [SSAN_SYNTH_SQUARE] = 0.69f,
  [SSAN_SYNTH_TRIANGLE] = 0.49f,
  [SSAN_SYNTH_STAR] = 0.355f,
  [SSAN_SYNTH_CROSS] = 0.29f,
  [SSAN_SYNTH_ARROW] = 0.29f,
};

/* Signed distance to a polygon (Quilez's exact form, any simple polygon). */
static float
poly_sdf (const poly *p, float x, float y)
{
  float d, s = 1.0f;
  int i, j;

  d = (x - p->v[0][0]) * (x - p->v[0][0]) + (y - p->v[0][1]) * (y - p->v[0][1]);
  for (i = 0, j = p->n - 1; i < p->n; j = i, i++) {
    float ex = p->v[j][0] - p->v[i][0], ey = p->v[j][1] - p->v[i][1];
    float wx = x - p->v[i][0], wy = y - p->v[i][1];
    float t = clampf ((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0f, 1.0f);
    float bx = wx - ex * t, by = wy - ey * t;
    float dd = bx * bx + by * by;
    int c1 = y >= p->v[i][1], c2 = y<p->v[j][1], c3 = ex * wy> ey * wx;

    if (dd < d)
      d = dd;
    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3))
      s = -s;
  }
  return s * sqrtf (d);
}

static int
poly_inside (const poly *p, float x, float y)
{
  int i, j, in = 0;

  for (i = 0, j = p->n - 1; i < p->n; j = i, i++) {
    float ex = p->v[j][0] - p->v[i][0], ey = p->v[j][1] - p->v[i][1];
    float wx = x - p->v[i][0], wy = y - p->v[i][1];
    int c1 = y >= p->v[i][1], c2 = y<p->v[j][1], c3 = ex * wy> ey * wx;

    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3))
      in = !in;
  }
  return in;
}

/* ---- one frame */

typedef struct layer {
  const poly *poly; /* NULL: unit circle */
  float cx, cy;     /* centre, shorter-side units */
  float cs, sn;     /* cos, sin of the angle */
  float inv_r;      /* 1 / radius */
  float half_diag;  /* half a pixel diagonal, local units */
  float inner2;     /* (inner radius - half_diag)^2, or -1 */
  float step[2][2]; /* a pixel's x and y step, local units */
  float rgb[3];
  float alpha;
  int x0, x1, y0, y1; /* pixel bounding box, inclusive */
} layer;

static void
layer_setup (layer *l, int shape, double x, double y, double r, double angle,
    const float rgb[3], float alpha, int width, int height, float px)
{
  double s, c, side = (double)(width < height ? width : height);
  float k;

  sin_cos (angle, &s, &c);
  l->poly = shape == SSAN_SYNTH_CIRCLE ? NULL : &shape_polys[shape];
  l->cx = (float)x;
  l->cy = (float)y;
  l->cs = (float)c;
  l->sn = (float)s;
  l->inv_r = (float)(1.0 / r);
  l->half_diag = 0.7072f * px * l->inv_r;
  l->inner2 = shape_inner[shape] > l->half_diag
                  ? (shape_inner[shape] - l->half_diag)
                        * (shape_inner[shape] - l->half_diag)
                  : -1.0f;
  k = px * l->inv_r;
  l->step[0][0] = l->cs * k;
  l->step[0][1] = -l->sn * k;
  l->step[1][0] = l->sn * k;
  l->step[1][1] = l->cs * k;
  memcpy (l->rgb, rgb, sizeof l->rgb);
  l->alpha = alpha;
  l->x0 = (int)((x - r) * side + width * 0.5) - 1;
  l->x1 = (int)((x + r) * side + width * 0.5) + 1;
  l->y0 = (int)((y - r) * side + height * 0.5) - 1;
  l->y1 = (int)((y + r) * side + height * 0.5) + 1;
  if (l->x0 < 0)
    l->x0 = 0;
  if (l->y0 < 0)
    l->y0 = 0;
  if (l->x1 > width - 1)
    l->x1 = width - 1;
  if (l->y1 > height - 1)
    l->y1 = height - 1;
}

/* Fraction of the pixel centred on (u, v) that the layer's shape covers:
 * exact 0 or 1 when the pixel lies wholly outside or inside, else 4x4
 * supersampled. */
static float
layer_coverage (const layer *l, float u, float v)
{
  float dx = u - l->cx, dy = v - l->cy;
  float lx = (dx * l->cs + dy * l->sn) * l->inv_r;
  float ly = (-dx * l->sn + dy * l->cs) * l->inv_r;
  float h = l->half_diag, d, r2 = lx * lx + ly * ly;
  int i, j, n = 0;

  if (r2 > (1.0f + h) * (1.0f + h))
    return 0.0f;
  if (r2 < l->inner2)
    return 1.0f;
  d = l->poly ? poly_sdf (l->poly, lx, ly) : sqrtf (r2) - 1.0f;
  if (d >= h)
    return 0.0f;
  if (d <= -h)
    return 1.0f;
  for (j = 0; j < 4; j++) {
    float oy = ((float)j - 1.5f) * 0.25f;
    for (i = 0; i < 4; i++) {
      float ox = ((float)i - 1.5f) * 0.25f;
      float sx = lx + ox * l->step[0][0] + oy * l->step[1][0];
      float sy = ly + ox * l->step[0][1] + oy * l->step[1][1];

      if (l->poly)
        n += poly_inside (l->poly, sx, sy);
      else
        n += sx * sx + sy * sy < 1.0f;
    }
  }
  return (float)n * (1.0f / 16.0f);
}

/* One octave of value noise along a row: lattice values hashed from
 * integer coordinates, smoothstep interpolation. */
typedef struct octave {
  float freq, offx, offy;
  uint32_t key;
  uint32_t hy0, hy1;
  float wy;
  int ix; /* lattice column of the cached corners */
  float c00, c10, c01, c11;
} octave;

static inline float
lattice (int ix, uint32_t hy)
{
  return (float)(hash32 ((uint32_t)ix * 0x85ebca77u ^ hy) >> 8)
         * (1.0f / 16777216.0f);
}

static void
octave_row (octave *o, float v)
{
  float gy = v * o->freq + o->offy;
  int iy = ifloor (gy);
  float fy = gy - (float)iy;

  o->wy = fy * fy * (3.0f - 2.0f * fy);
  o->hy0 = hash32 ((uint32_t)iy * 0x9e3779b1u + o->key);
  o->hy1 = hash32 ((uint32_t)(iy + 1) * 0x9e3779b1u + o->key);
  o->ix = INT_MIN;
}

static inline float
octave_at (octave *o, float u)
{
  float gx = u * o->freq + o->offx;
  int ix = ifloor (gx);
  float fx = gx - (float)ix, wx, a, b;

  if (ix != o->ix) {
    o->ix = ix;
    o->c00 = lattice (ix, o->hy0);
    o->c10 = lattice (ix + 1, o->hy0);
    o->c01 = lattice (ix, o->hy1);
    o->c11 = lattice (ix + 1, o->hy1);
  }
  wx = fx * fx * (3.0f - 2.0f * fx);
  a = o->c00 + (o->c10 - o->c00) * wx;
  b = o->c01 + (o->c11 - o->c01) * wx;
  return a + (b - a) * o->wy;
}

/* Soft square wave of period 1 along s, in [0, 1]; the transition is
 * `width` periods wide. */
static inline float
square_wave (float s, float width)
{
  float fr = s - (float)ifloor (s);
  float w = fr - 0.5f;

  w = (w < 0.0f ? -w : w) - 0.25f;
  return clampf (0.5f + w / width, 0.0f, 1.0f);
}

/* The background of one clip at one frame size. */
typedef struct bgctx {
  const ssan_synth_clip *clip;
  int width, height;
  float px;
  octave oct[2];
  int n_oct;
  float ca, sa, tex_w;
} bgctx;

static void
bg_setup (bgctx *b, const ssan_synth_clip *clip, int width, int height)
{
  int side = width < height ? width : height;

  memset (b, 0, sizeof *b);
  b->clip = clip;
  b->width = width;
  b->height = height;
  b->px = 1.0f / (float)side;
  b->oct[0].freq
      = clip->bg.texture == SSAN_SYNTH_TEX_NOISE ? (float)clip->bg.freq : 1.7f;
  b->oct[0].offx = (float)clip->bg.offset[0];
  b->oct[0].offy = (float)clip->bg.offset[1];
  b->oct[0].key = clip->bg.key;
  b->n_oct = 1;
  if (clip->bg.texture == SSAN_SYNTH_TEX_NOISE) {
    b->oct[1] = b->oct[0];
    b->oct[1].freq = (float)(clip->bg.freq * 2.3);
    b->oct[1].key = hash32 (clip->bg.key + 1u);
    b->n_oct = 2;
  } else {
    double s, c;
    sin_cos (clip->bg.angle, &s, &c);
    b->ca = (float)(c * clip->bg.freq);
    b->sa = (float)(s * clip->bg.freq);
    b->tex_w = (float)clip->bg.softness;
    if (b->tex_w < b->px * (float)clip->bg.freq)
      b->tex_w = b->px * (float)clip->bg.freq;
  }
}

/* Background colours of pixels x0 .. x0+n-1 of row y, RGB floats 0..255. */
static void
bg_span (bgctx *b, int y, int x0, int n, float *col)
{
  const ssan_synth_clip *clip = b->clip;
  float v = ((float)y + 0.5f - (float)b->height * 0.5f) * b->px;
  float off0 = (float)clip->bg.offset[0], off1 = (float)clip->bg.offset[1];
  int i, c;

  for (i = 0; i < b->n_oct; i++)
    octave_row (&b->oct[i], v);
  for (i = 0; i < n; i++) {
    float u = ((float)(x0 + i) + 0.5f - (float)b->width * 0.5f) * b->px;
    float t, sh;

    if (b->n_oct == 2) {
      t = 0.65f * octave_at (&b->oct[0], u) + 0.35f * octave_at (&b->oct[1], u);
      t = clampf ((t - 0.5f) * 1.6f + 0.5f, 0.0f, 1.0f);
      sh = 0.0f;
    } else {
      float wa = square_wave (u * b->ca + v * b->sa + off0, b->tex_w);
      if (clip->bg.texture == SSAN_SYNTH_TEX_CHECKER) {
        float wb = square_wave (-u * b->sa + v * b->ca + off1, b->tex_w);
        t = 0.5f + 0.5f * (2.0f * wa - 1.0f) * (2.0f * wb - 1.0f);
      } else {
        t = wa;
      }
      sh = (octave_at (&b->oct[0], u) - 0.5f) * clip->bg.shading;
    }
    for (c = 0; c < 3; c++)
      col[3 * i + c] = clip->bg.rgb[0][c]
                       + (clip->bg.rgb[1][c] - clip->bg.rgb[0][c]) * t + sh;
  }
}

/* Sensor noise grows with the resolution like the noise of a camera image
 * shrinks when scaled down: sigma is given at s = 240. */
static float
sensor_noise (const ssan_synth_clip *clip, int side)
{
  return clip->noise_sigma * clampf ((float)side / 240.0f, 0.35f, 2.0f);
}

/* What moves in one frame. */
typedef struct fgctx {
  layer layers[SSAN_SYNTH_MAX_DISTRACTORS + 2];
  int n_layers;
  int width, height;
  float px;
  uint32_t frame_key;
  float sigma_k;
} fgctx;

static void
fg_setup (fgctx *g, const ssan_synth_clip *clip, int frame_index, int width,
    int height)
{
  int side = width < height ? width : height, tf, i;
  double f, cx, cy, r, a, alpha;
  uint32_t h;

  memset (g, 0, sizeof *g);
  g->width = width;
  g->height = height;
  g->px = 1.0f / (float)side;

  /* noise and jitter follow the pair's forward time too */
  tf = frame_index;
  if (clip->class_id < SSAN_SYNTH_STAYING_STILL && (clip->class_id & 1))
    tf = clip->n_frames - 1 - frame_index;
  f = clip->n_frames > 1 ? (double)tf / (double)(clip->n_frames - 1) : 0.5;
  g->frame_key = hash32 (clip->pixel_key ^ hash32 ((uint32_t)tf + 0x632be5abu));
  /* triangular noise from two bytes has a standard deviation of 104.5 */
  g->sigma_k = sensor_noise (clip, side) / 104.5f;

  cx = clip->x0 + clip->dx * f;
  cy = clip->y0 + clip->dy * f;
  r = clip->r0 + (clip->r1 - clip->r0) * f;
  a = clip->a0 + clip->da * f;
  alpha = 1.0;
  if (clip->fade_in_end > clip->fade_in_start) {
    alpha
        = (f - clip->fade_in_start) / (clip->fade_in_end - clip->fade_in_start);
    alpha = alpha < 0.0 ? 0.0 : (alpha > 1.0 ? 1.0 : alpha);
  }
  h = hash32 (g->frame_key ^ 0x5bd1e995u);
  cx += clip->jitter * ((double)(h & 0xffffu) / 32767.5 - 1.0);
  cy += clip->jitter * ((double)(h >> 16) / 32767.5 - 1.0);

  for (i = 0; i < clip->n_distractors; i++) {
    const ssan_synth_object *o = &clip->distractors[i];
    layer_setup (&g->layers[g->n_layers++], o->shape, o->x, o->y, o->r,
        o->angle, o->rgb, 1.0f, width, height, g->px);
  }
  if (alpha > 0.0) {
    layer_setup (&g->layers[g->n_layers++], clip->shape, cx, cy, r, a,
        clip->rgb, (float)alpha, width, height, g->px);
    if (clip->has_marker) {
      double s, c;
      sin_cos (a, &s, &c);
      layer_setup (&g->layers[g->n_layers++], SSAN_SYNTH_CIRCLE,
          cx + r * MARKER_X * c, cy + r * MARKER_X * s, r * MARKER_R, 0.0,
          clip->marker_rgb, (float)alpha, width, height, g->px);
    }
  }
}

/* out = in plus triangular sensor noise (a part shared by the channels, a
 * part of their own), keyed by the pixels' column; out may be in.  Loops
 * written for the vectoriser. */
#if defined(__SSE2__)
static inline __m128i
mullo32 (__m128i a, __m128i b)
{
  __m128i even = _mm_mul_epu32 (a, b);
  __m128i odd = _mm_mul_epu32 (_mm_srli_epi64 (a, 32), _mm_srli_epi64 (b, 32));

  return _mm_unpacklo_epi32 (_mm_shuffle_epi32 (even, _MM_SHUFFLE (0, 0, 2, 0)),
      _mm_shuffle_epi32 (odd, _MM_SHUFFLE (0, 0, 2, 0)));
}
#endif

static void
noise_span (
    uint32_t row_key, int x0, int n, float k, const float *in, float *out)
{
  int i = 0;

#if defined(__SSE2__)
  /* the same integer hash and float operations, four pixels at a time */
  const __m128i c1 = _mm_set1_epi32 (0x7feb352d);
  const __m128i c2 = _mm_set1_epi32 ((int)0x846ca68bu);
  const __m128i lane = _mm_setr_epi32 (0, 1, 2, 3);
  const __m128i byte = _mm_set1_epi32 (0xff), b255 = _mm_set1_epi32 (255);
  const __m128 kk = _mm_set1_ps (k);

  for (; i + 4 <= n; i += 4) {
    __m128i h = _mm_add_epi32 (
        _mm_set1_epi32 ((int)(row_key + (uint32_t)(x0 + i))), lane);
    __m128i shared;
    __m128 r, g, b, rg_lo, rg_hi, v0, v1, v2;

    h = _mm_xor_si128 (h, _mm_srli_epi32 (h, 16));
    h = mullo32 (h, c1);
    h = _mm_xor_si128 (h, _mm_srli_epi32 (h, 15));
    h = mullo32 (h, c2);
    h = _mm_xor_si128 (h, _mm_srli_epi32 (h, 16));
    shared = _mm_sub_epi32 (_mm_srli_epi32 (h, 24), b255);
    r = _mm_mul_ps (
        _mm_cvtepi32_ps (_mm_add_epi32 (_mm_and_si128 (h, byte), shared)), kk);
    g = _mm_mul_ps (_mm_cvtepi32_ps (_mm_add_epi32 (
                        _mm_and_si128 (_mm_srli_epi32 (h, 8), byte), shared)),
        kk);
    b = _mm_mul_ps (_mm_cvtepi32_ps (_mm_add_epi32 (
                        _mm_and_si128 (_mm_srli_epi32 (h, 16), byte), shared)),
        kk);
    /* r0 g0 b0 r1 | g1 b1 r2 g2 | b2 r3 g3 b3 */
    rg_lo = _mm_unpacklo_ps (r, g);
    rg_hi = _mm_unpackhi_ps (r, g);
    v0 = _mm_shuffle_ps (
        rg_lo, _mm_unpacklo_ps (b, r), _MM_SHUFFLE (3, 0, 1, 0));
    v1 = _mm_shuffle_ps (
        _mm_unpacklo_ps (g, b), rg_hi, _MM_SHUFFLE (1, 0, 3, 2));
    v2 = _mm_shuffle_ps (_mm_unpackhi_ps (b, r), _mm_unpackhi_ps (g, b),
        _MM_SHUFFLE (3, 2, 3, 0));
    _mm_storeu_ps (out + 3 * i, _mm_add_ps (_mm_loadu_ps (in + 3 * i), v0));
    _mm_storeu_ps (
        out + 3 * i + 4, _mm_add_ps (_mm_loadu_ps (in + 3 * i + 4), v1));
    _mm_storeu_ps (
        out + 3 * i + 8, _mm_add_ps (_mm_loadu_ps (in + 3 * i + 8), v2));
  }
#endif
  for (; i < n; i++) {
    uint32_t h = hash32 (row_key + (uint32_t)(x0 + i));
    int shared = (int)(h >> 24) - 255;

    out[3 * i + 0] = in[3 * i + 0] + (float)((int)(h & 0xffu) + shared) * k;
    out[3 * i + 1]
        = in[3 * i + 1] + (float)((int)((h >> 8) & 0xffu) + shared) * k;
    out[3 * i + 2]
        = in[3 * i + 2] + (float)((int)((h >> 16) & 0xffu) + shared) * k;
  }
}

/* Rounds to the nearest of 0..255. */
static void
quantise_span (const float *col, int n, uint8_t *out)
{
  int i = 0;

#if defined(__SSE2__)
  const __m128 half = _mm_set1_ps (0.5f), zero = _mm_setzero_ps ();
  const __m128 top = _mm_set1_ps (255.0f);

  for (; i + 16 <= n; i += 16) {
    __m128i q[4];
    int j;

    for (j = 0; j < 4; j++) {
      __m128 v = _mm_add_ps (_mm_loadu_ps (col + i + 4 * j), half);
      v = _mm_min_ps (_mm_max_ps (v, zero), top);
      q[j] = _mm_cvttps_epi32 (v);
    }
    _mm_storeu_si128 (
        (__m128i *)(out + i), _mm_packus_epi16 (_mm_packs_epi32 (q[0], q[1]),
                                  _mm_packs_epi32 (q[2], q[3])));
  }
#endif
  for (; i < n; i++) {
    float v = col[i] + 0.5f;
    v = v > 0.0f ? v : 0.0f;
    v = v < 255.0f ? v : 255.0f;
    out[i] = (uint8_t)(int)v;
  }
}

/* Pixels x0 .. x0+n-1 of row y to RGB8 at out: background colours bg, the
 * layers composited over them, sensor noise.  scratch holds 3 n floats. */
static void
fg_span (const fgctx *g, int y, int x0, int n, const float *bg, float *scratch,
    uint8_t *out)
{
  float v = ((float)y + 0.5f - (float)g->height * 0.5f) * g->px;
  uint32_t row_key = hash32 (g->frame_key + (uint32_t)y * 0x9e3779b9u);
  int i, x, c, lo = x0 + n, hi = x0 - 1;

  noise_span (row_key, x0, n, g->sigma_k, bg, scratch);
  quantise_span (scratch, 3 * n, out);

  /* again, with the layers, where they may cover something */
  for (i = 0; i < g->n_layers; i++) {
    const layer *l = &g->layers[i];

    if (y < l->y0 || y > l->y1)
      continue;
    lo = l->x0 < lo ? l->x0 : lo;
    hi = l->x1 > hi ? l->x1 : hi;
  }
  lo = lo < x0 ? x0 : lo;
  hi = hi > x0 + n - 1 ? x0 + n - 1 : hi;
  if (lo > hi)
    return;
  memcpy (
      scratch, bg + 3 * (lo - x0), (size_t)(hi - lo + 1) * 3u * sizeof (float));
  for (i = 0; i < g->n_layers; i++) {
    const layer *l = &g->layers[i];
    int xa = l->x0 > lo ? l->x0 : lo;
    int xb = l->x1 < hi ? l->x1 : hi;

    if (y < l->y0 || y > l->y1)
      continue;
    for (x = xa; x <= xb; x++) {
      float u = ((float)x + 0.5f - (float)g->width * 0.5f) * g->px;
      float cov = layer_coverage (l, u, v);
      float *p = scratch + 3 * (x - lo);

      if (cov <= 0.0f)
        continue;
      cov *= l->alpha;
      for (c = 0; c < 3; c++)
        p[c] += (l->rgb[c] - p[c]) * cov;
    }
  }
  noise_span (row_key, lo, hi - lo + 1, g->sigma_k, scratch, scratch);
  quantise_span (scratch, 3 * (hi - lo + 1), out + 3 * (lo - x0));
}

static int
render_args_ok (const ssan_synth_clip *clip, int frame_index, int width,
    int height, const uint8_t *rgb, size_t stride)
{
  return clip && rgb && frame_index >= 0 && frame_index < clip->n_frames
         && width >= 1 && height >= 1 && width <= SSAN_SYNTH_MAX_SIDE
         && height <= SSAN_SYNTH_MAX_SIDE && stride >= (size_t)width * 3u
         && clip->class_id >= 0 && clip->class_id < SSAN_SYNTH_N_CLASSES
         && clip->bg.texture >= 0 && clip->bg.texture < SSAN_SYNTH_N_TEXTURES
         && clip->shape >= 0 && clip->shape < SSAN_SYNTH_N_SHAPES
         && clip->n_distractors >= 0
         && clip->n_distractors <= SSAN_SYNTH_MAX_DISTRACTORS;
}

#define SPAN 256

int
ssan_synth_render (const ssan_synth_clip *clip, int frame_index, int width,
    int height, uint8_t *rgb, size_t stride)
{
  float col[SPAN * 3], scratch[SPAN * 3];
  bgctx b;
  fgctx g;
  int x, y;

  if (!render_args_ok (clip, frame_index, width, height, rgb, stride))
    return -1;
  bg_setup (&b, clip, width, height);
  fg_setup (&g, clip, frame_index, width, height);
  for (y = 0; y < height; y++) {
    for (x = 0; x < width; x += SPAN) {
      int n = width - x < SPAN ? width - x : SPAN;
      bg_span (&b, y, x, n, col);
      fg_span (&g, y, x, n, col, scratch, rgb + (size_t)y * stride + 3u * x);
    }
  }
  return 0;
}

/* ---- canvas: the background drawn once per clip */

struct ssan_synth_canvas {
  int width, height;
  float *bg;  /* height * width * 3 */
  float *row; /* width * 3 */
  int valid;
  ssan_synth_clip drawn; /* whose background bg holds */
};

static int
same_background (const ssan_synth_clip *a, const ssan_synth_clip *b)
{
  int i, c;

  if (a->bg.texture != b->bg.texture || a->bg.key != b->bg.key
      || a->bg.freq != b->bg.freq || a->bg.angle != b->bg.angle
      || a->bg.softness != b->bg.softness || a->bg.shading != b->bg.shading
      || a->bg.offset[0] != b->bg.offset[0]
      || a->bg.offset[1] != b->bg.offset[1])
    return 0;
  for (i = 0; i < 2; i++)
    for (c = 0; c < 3; c++)
      if (a->bg.rgb[i][c] != b->bg.rgb[i][c])
        return 0;
  return 1;
}

ssan_synth_canvas *
ssan_synth_canvas_new (int width, int height)
{
  ssan_synth_canvas *cv;

  if (width < 1 || height < 1 || width > SSAN_SYNTH_MAX_SIDE
      || height > SSAN_SYNTH_MAX_SIDE)
    return NULL;
  cv = calloc (1, sizeof *cv);
  if (!cv)
    return NULL;
  cv->width = width;
  cv->height = height;
  cv->bg = malloc ((size_t)width * (size_t)height * 3u * sizeof (float));
  cv->row = malloc ((size_t)width * 3u * sizeof (float));
  if (!cv->bg || !cv->row) {
    ssan_synth_canvas_free (cv);
    return NULL;
  }
  return cv;
}

void
ssan_synth_canvas_free (ssan_synth_canvas *canvas)
{
  if (!canvas)
    return;
  free (canvas->bg);
  free (canvas->row);
  free (canvas);
}

int
ssan_synth_canvas_render (ssan_synth_canvas *canvas,
    const ssan_synth_clip *clip, int frame_index, uint8_t *rgb, size_t stride)
{
  size_t row_floats;
  fgctx g;
  int y;

  if (!canvas
      || !render_args_ok (
          clip, frame_index, canvas->width, canvas->height, rgb, stride))
    return -1;
  row_floats = (size_t)canvas->width * 3u;
  if (!canvas->valid || !same_background (&canvas->drawn, clip)) {
    bgctx b;
    bg_setup (&b, clip, canvas->width, canvas->height);
    for (y = 0; y < canvas->height; y++)
      bg_span (&b, y, 0, canvas->width, canvas->bg + (size_t)y * row_floats);
    canvas->drawn = *clip;
    canvas->valid = 1;
  }
  fg_setup (&g, clip, frame_index, canvas->width, canvas->height);
  for (y = 0; y < canvas->height; y++)
    fg_span (&g, y, 0, canvas->width, canvas->bg + (size_t)y * row_floats,
        canvas->row, rgb + (size_t)y * stride);
  return 0;
}

/* ---- clip parameters */

static float
luma (const float c[3])
{
  return 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2];
}

static void
random_rgb (pcg32 *r, float c[3], double lo, double hi)
{
  int i;
  for (i = 0; i < 3; i++)
    c[i] = (float)rng_range (r, lo, hi);
}

static float
absf (float x)
{
  return x < 0.0f ? -x : x;
}

const char *
ssan_synth_class_name (int class_id)
{
  if (class_id < 0 || class_id >= SSAN_SYNTH_N_CLASSES)
    return NULL;
  return class_names[class_id];
}

int
ssan_synth_class_from_name (const char *name)
{
  int i;

  if (!name)
    return -1;
  for (i = 0; i < SSAN_SYNTH_N_CLASSES; i++)
    if (strcmp (name, class_names[i]) == 0)
      return i;
  return -1;
}

int
ssan_synth_clip_init (ssan_synth_clip *clip, uint64_t seed, uint64_t clip_index,
    int class_id, int n_frames)
{
  ssan_synth_clip p;
  pcg32 r;
  int i, random_class, tries;
  double along0, along_d, across0, across_d, rb, ra0, ra1, sx, sy, fw;

  if (!clip || class_id < -1 || class_id >= SSAN_SYNTH_N_CLASSES
      || n_frames < 1)
    return -1;

  /* Every draw happens whatever the class, in this order, so that the two
   * classes of a pair share all parameters. */
  memset (&p, 0, sizeof p);
  pcg32_seed (&r, seed, clip_index);
  random_class = rng_int (&r, SSAN_SYNTH_N_CLASSES);
  p.seed = seed;
  p.clip_index = clip_index;
  p.class_id = class_id < 0 ? random_class : class_id;
  p.n_frames = n_frames;
  p.pixel_key = pcg32_next (&r);
  p.bg.key = p.pixel_key;

  p.bg.texture = rng_int (&r, SSAN_SYNTH_N_TEXTURES);
  random_rgb (&r, p.bg.rgb[0], 20.0, 235.0);
  for (i = 0; i < 3; i++)
    p.bg.rgb[1][i] = (float)rng_range (&r, -80.0, 80.0) + p.bg.rgb[0][i];
  for (i = 0; i < 3; i++)
    p.bg.rgb[1][i] = clampf (p.bg.rgb[1][i], 0.0f, 255.0f);
  p.bg.freq = p.bg.texture == SSAN_SYNTH_TEX_NOISE ? rng_range (&r, 2.5, 7.0)
                                                   : rng_range (&r, 3.0, 11.0);
  p.bg.angle = rng_range (&r, 0.0, PI);
  p.bg.softness = rng_range (&r, 0.02, 0.2);
  p.bg.offset[0] = rng_range (&r, 0.0, 256.0);
  p.bg.offset[1] = rng_range (&r, 0.0, 256.0);
  p.bg.shading = (float)rng_range (&r, 0.0, 50.0);
  p.noise_sigma = (float)rng_range (&r, 1.5, 8.0);

  /* the actor must stand out from both background colours */
  p.shape = rng_int (&r, SSAN_SYNTH_N_SHAPES);
  p.has_marker = rng_range (&r, 0.0, 1.0) < 0.6;
  for (tries = 0; tries < 32; tries++) {
    random_rgb (&r, p.rgb, 0.0, 256.0);
    if (absf (luma (p.rgb) - luma (p.bg.rgb[0])) >= 55.0f
        && absf (luma (p.rgb) - luma (p.bg.rgb[1])) >= 55.0f)
      break;
  }
  if (tries == 32) {
    float bright
        = luma (p.bg.rgb[0]) + luma (p.bg.rgb[1]) < 255.0f ? 255.0f : 0.0f;
    p.rgb[0] = p.rgb[1] = p.rgb[2] = bright;
  }
  if (luma (p.rgb) > 128.0f)
    random_rgb (&r, p.marker_rgb, 0.0, 70.0);
  else
    random_rgb (&r, p.marker_rgb, 185.0, 256.0);

  /* motion along an axis (the class picks which), towards -x or -y */
  rb = rng_range (&r, 0.1, 0.19);
  along_d = rng_range (&r, 0.22, 2.0 * (EDGE - rb));
  along0 = rng_range (&r, -EDGE + rb + along_d, EDGE - rb);
  across_d = rng_range (&r, -0.06, 0.06);
  across0 = rng_range (&r, -EDGE + rb + (across_d < 0 ? -across_d : 0.0),
      EDGE - rb - (across_d > 0 ? across_d : 0.0));
  /* growth, rotation, fading */
  ra0 = rng_range (&r, 0.05, 0.09);
  ra1 = rng_range (&r, 0.2, 0.28);
  p.a0 = rng_range (&r, 0.0, 2.0 * PI);
  p.da = rng_range (&r, ROT_MIN, ROT_MAX);
  p.fade_in_start = rng_range (&r, 0.0, 0.35);
  fw = rng_range (&r, 0.05, 0.6);
  p.jitter = rng_range (&r, 0.0, JITTER_MAX);
  /* a place to stand still, as a fraction of the room there is */
  sx = rng_range (&r, -1.0, 1.0);
  sy = rng_range (&r, -1.0, 1.0);

  p.n_distractors = rng_int (&r, SSAN_SYNTH_MAX_DISTRACTORS + 1);
  for (i = 0; i < p.n_distractors; i++) {
    ssan_synth_object *o = &p.distractors[i];
    o->shape = rng_int (&r, SSAN_SYNTH_N_SHAPES);
    o->r = rng_range (&r, 0.03, 0.08);
    o->x = rng_range (&r, -0.5 + o->r, 0.5 - o->r);
    o->y = rng_range (&r, -0.5 + o->r, 0.5 - o->r);
    o->angle = rng_range (&r, 0.0, 2.0 * PI);
    random_rgb (&r, o->rgb, 0.0, 256.0);
  }

  /* what the class makes of the draws */
  p.r0 = p.r1 = rb;
  p.x0 = sx * (EDGE - rb);
  p.y0 = sy * (EDGE - rb);
  switch (p.class_id) {
    case SSAN_SYNTH_MOVING_LEFT:
    case SSAN_SYNTH_MOVING_RIGHT:
      p.x0 = along0;
      p.dx = -along_d;
      p.y0 = across0;
      p.dy = across_d;
      p.da = 0.0;
      break;
    case SSAN_SYNTH_MOVING_UP:
    case SSAN_SYNTH_MOVING_DOWN:
      p.y0 = along0;
      p.dy = -along_d;
      p.x0 = across0;
      p.dx = across_d;
      p.da = 0.0;
      break;
    case SSAN_SYNTH_APPROACHING:
    case SSAN_SYNTH_RECEDING:
      p.r0 = ra0;
      p.r1 = ra1;
      p.x0 = sx * (EDGE - ra1);
      p.y0 = sy * (EDGE - ra1);
      p.da = 0.0;
      break;
    case SSAN_SYNTH_ROTATING_CW:
    case SSAN_SYNTH_ROTATING_CCW:
      p.has_marker = 1;
      p.r0 = p.r1 = rb + ROT_GROW;
      p.x0 = sx * (EDGE - p.r0);
      p.y0 = sy * (EDGE - p.r0);
      break;
    case SSAN_SYNTH_APPEARING:
    case SSAN_SYNTH_DISAPPEARING:
      p.fade_in_end = p.fade_in_start + fw;
      if (p.fade_in_end > 1.0)
        p.fade_in_end = 1.0;
      p.da = 0.0;
      break;
    default:
      p.da = 0.0;
      break;
  }
  if (p.fade_in_end <= p.fade_in_start)
    p.fade_in_start = p.fade_in_end = 0.0;

  *clip = p;
  return 0;
}

int
ssan_synth_layout (int n_actors, int width, int height, int *cols, int *rows)
{
  int c, best_side = 0, best_cells = 0;

  if (n_actors < 1 || n_actors > SSAN_SYNTH_MAX_ACTORS || width < 1
      || height < 1 || width > SSAN_SYNTH_MAX_SIDE
      || height > SSAN_SYNTH_MAX_SIDE || !cols || !rows)
    return -1;
  for (c = 1; c <= n_actors; c++) {
    int r = (n_actors + c - 1) / c;
    int cw = width / c, ch = height / r, side = cw < ch ? cw : ch;

    if (side > best_side || (side == best_side && c * r < best_cells)) {
      best_side = side;
      best_cells = c * r;
      *cols = c;
      *rows = r;
    }
  }
  return best_side >= 1 ? 0 : -1;
}

void
ssan_synth_cell (int cols, int rows, int width, int height, int k, int *x,
    int *y, int *cell_width, int *cell_height)
{
  int col = k % cols, row = k / cols;
  int x0 = (int)((int64_t)col * width / cols);
  int x1 = (int)((int64_t)(col + 1) * width / cols);
  int y0 = (int)((int64_t)row * height / rows);
  int y1 = (int)((int64_t)(row + 1) * height / rows);

  *x = x0;
  *y = y0;
  *cell_width = x1 - x0;
  *cell_height = y1 - y0;
}

int
ssan_synth_render_frames (uint64_t seed, uint64_t clip_index, int class_id,
    int n_frames, const int *frame_idx, int n_idx, int width, int height,
    uint8_t *out, int *class_out)
{
  ssan_synth_clip clip;
  size_t frame_bytes;
  int i;

  if (!frame_idx || !out || n_idx < 0 || width < 1 || height < 1
      || width > SSAN_SYNTH_MAX_SIDE || height > SSAN_SYNTH_MAX_SIDE)
    return -1;
  if (ssan_synth_clip_init (&clip, seed, clip_index, class_id, n_frames) != 0)
    return -1;
  for (i = 0; i < n_idx; i++)
    if (frame_idx[i] < 0 || frame_idx[i] >= n_frames)
      return -1;
  frame_bytes = (size_t)width * (size_t)height * 3u;
  for (i = 0; i < n_idx; i++)
    ssan_synth_render (&clip, frame_idx[i], width, height,
        out + (size_t)i * frame_bytes, (size_t)width * 3u);
  if (class_out)
    *class_out = clip.class_id;
  return 0;
}
