/* gst-ssan engine: GCC vector types and the transforms shared by the
 * kernels of every instruction set (internal).  Macros rather than
 * functions: a vector argument would tie the code to one vector ABI.  One
 * loop body serves every table: each kernel library compiles it with its
 * own flags. */
#ifndef SSAN_SIMD_H
#define SSAN_SIMD_H

#include <stdint.h>
#include <string.h>

/* The name of kernel x in the library being built (SSAN_ISA: portable,
 * avx2, avx512, avx512_emu) */
#define SSAN_KCAT2(a, b) a##__##b
#define SSAN_KCAT(a, b) SSAN_KCAT2 (a, b)
#define SSAN_K(x) SSAN_KCAT (x, SSAN_ISA)

typedef float v8f __attribute__ ((vector_size (32)));
typedef int32_t v8i __attribute__ ((vector_size (32)));

#define V8F(x) ((v8f){ (x), (x), (x), (x), (x), (x), (x), (x) })
/* a, b must be plain variables */
#define V8F_MAX(a, b)                                                          \
  ((v8f)(((v8i)(a) & ((a) > (b))) | ((v8i)(b) & ~((a) > (b)))))
#define V8F_MIN(a, b)                                                          \
  ((v8f)(((v8i)(a) & ((a) < (b))) | ((v8i)(b) & ~((a) < (b)))))
#define V8F_LOAD(v, p) memcpy (&(v), (p), sizeof (v8f))
#ifdef __clang__
#define V8F_EVEN(a, b) __builtin_shufflevector (a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#else
#define V8F_EVEN(a, b)                                                         \
  __builtin_shuffle (a, b, (v8i){ 0, 2, 4, 6, 8, 10, 12, 14 })
#endif
#ifdef __clang__
#define V8F_ODD(a, b) __builtin_shufflevector (a, b, 1, 3, 5, 7, 9, 11, 13, 15)
#else
#define V8F_ODD(a, b)                                                          \
  __builtin_shuffle (a, b, (v8i){ 1, 3, 5, 7, 9, 11, 13, 15 })
#endif
#define V8F_STORE(p, v) memcpy ((p), &(v), sizeof (v8f))

/* 2^x on vectors of type VF (VI: the int vector of the same size):
 * degree-6 polynomial on the fraction, relative error ~1e-7, branch-free;
 * arguments are clamped to the range where 2^x is a normal float.  The one
 * exp of every table's softmax. */
#define SSAN_VMAX(VI, a, b)                                                    \
  ((__typeof__ (a))(((VI)(a) & ((a) > (b))) | ((VI)(b) & ~((a) > (b)))))
#define SSAN_VMIN(VI, a, b)                                                    \
  ((__typeof__ (a))(((VI)(a) & ((a) < (b))) | ((VI)(b) & ~((a) < (b)))))
#define SSAN_VEXP2(VF, VI, y, x)                                               \
  do {                                                                         \
    const VF lo_ = (VF){ 0 } - 126.0f, hi_ = (VF){ 0 } + 127.0f;               \
    const VF magic_ = (VF){ 0 } + 12582912.0f; /* 1.5 * 2^23 */                \
    VF x_ = (x), n_, f_;                                                       \
    VI i_;                                                                     \
    x_ = SSAN_VMAX (VI, x_, lo_);                                              \
    x_ = SSAN_VMIN (VI, x_, hi_);                                              \
    n_ = x_ + magic_;                                                          \
    i_ = (VI)n_ - (VI)magic_;                                                  \
    n_ = n_ - magic_;                                                          \
    f_ = x_ - n_; /* in [-0.5, 0.5] */                                         \
    (y) = (VF){ 0 } + 1.5403530e-4f;                                           \
    (y) = (y)*f_ + 1.3333558e-3f;                                              \
    (y) = (y)*f_ + 9.6181291e-3f;                                              \
    (y) = (y)*f_ + 5.5504109e-2f;                                              \
    (y) = (y)*f_ + 2.4022651e-1f;                                              \
    (y) = (y)*f_ + 6.9314718e-1f;                                              \
    (y) = (y)*f_ + 1.0f;                                                       \
    (y) = (y) * (VF)((i_ + 127) << 23);                                        \
  } while (0)
#define V8F_EXP2(y, x) SSAN_VEXP2 (v8f, v8i, y, x)

/* 1-D transforms on v8f x[0], x[s], ...: B^T (input), A^T (output). */
#define WINO_BT2(y, ys, x, xs)                                                 \
  do {                                                                         \
    v8f d0_ = (x)[0], d1_ = (x)[(xs)], d2_ = (x)[2 * (xs)];                    \
    v8f d3_ = (x)[3 * (xs)];                                                   \
    (y)[0] = d0_ - d2_;                                                        \
    (y)[(ys)] = d1_ + d2_;                                                     \
    (y)[2 * (ys)] = d2_ - d1_;                                                 \
    (y)[3 * (ys)] = d1_ - d3_;                                                 \
  } while (0)
#define WINO_AT2(y, ys, x, xs)                                                 \
  do {                                                                         \
    v8f m1_ = (x)[(xs)], m2_ = (x)[2 * (xs)];                                  \
    (y)[0] = (x)[0] + m1_ + m2_;                                               \
    (y)[(ys)] = m1_ - m2_ - (x)[3 * (xs)];                                     \
  } while (0)
#define WINO_BT4(y, ys, x, xs)                                                 \
  do {                                                                         \
    v8f d0_ = (x)[0], d1_ = (x)[(xs)], d2_ = (x)[2 * (xs)];                    \
    v8f d3_ = (x)[3 * (xs)], d4_ = (x)[4 * (xs)], d5_ = (x)[5 * (xs)];         \
    v8f p_ = d4_ - V8F (4.0f) * d2_, q_ = d3_ - V8F (4.0f) * d1_;              \
    v8f r_ = d4_ - d2_, s_ = V8F (2.0f) * (d3_ - d1_);                         \
    (y)[0] = V8F (4.0f) * d0_ - V8F (5.0f) * d2_ + d4_;                        \
    (y)[(ys)] = p_ + q_;                                                       \
    (y)[2 * (ys)] = p_ - q_;                                                   \
    (y)[3 * (ys)] = r_ + s_;                                                   \
    (y)[4 * (ys)] = r_ - s_;                                                   \
    (y)[5 * (ys)] = V8F (4.0f) * d1_ - V8F (5.0f) * d3_ + d5_;                 \
  } while (0)
#define WINO_AT4(y, ys, x, xs)                                                 \
  do {                                                                         \
    v8f m1_ = (x)[(xs)], m2_ = (x)[2 * (xs)], m3_ = (x)[3 * (xs)];             \
    v8f m4_ = (x)[4 * (xs)];                                                   \
    v8f sa_ = m1_ + m2_, da_ = m1_ - m2_, sb_ = m3_ + m4_, db_ = m3_ - m4_;    \
    (y)[0] = (x)[0] + sa_ + sb_;                                               \
    (y)[(ys)] = da_ + V8F (2.0f) * db_;                                        \
    (y)[2 * (ys)] = sa_ + V8F (4.0f) * sb_;                                    \
    (y)[3 * (ys)] = da_ + V8F (8.0f) * db_ + (x)[5 * (xs)];                    \
  } while (0)

/* The F(2x2) or F(4x4) transform, m known at compile time after inlining. */
#define WINO_BT(m, y, ys, x, xs)                                               \
  do {                                                                         \
    if ((m) == 2)                                                              \
      WINO_BT2 (y, ys, x, xs);                                                 \
    else                                                                       \
      WINO_BT4 (y, ys, x, xs);                                                 \
  } while (0)
#define WINO_AT(m, y, ys, x, xs)                                               \
  do {                                                                         \
    if ((m) == 2)                                                              \
      WINO_AT2 (y, ys, x, xs);                                                 \
    else                                                                       \
      WINO_AT4 (y, ys, x, xs);                                                 \
  } while (0)

/* B^T: d[0..2m] -> even samples, then F(m,2)'s input transform */
#define WINO2_BT2(y, ys, x, xs)                                                \
  do {                                                                         \
    v8f d0_ = (x)[0], d1_ = (x)[(xs)], d2_ = (x)[2 * (xs)];                    \
    v8f d3_ = (x)[3 * (xs)], d4_ = (x)[4 * (xs)];                              \
    (y)[0] = d1_;                                                              \
    (y)[(ys)] = d3_;                                                           \
    (y)[2 * (ys)] = d0_ - d2_;                                                 \
    (y)[3 * (ys)] = d2_;                                                       \
    (y)[4 * (ys)] = d4_ - d2_;                                                 \
  } while (0)
#define WINO2_AT2(y, ys, x, xs)                                                \
  do {                                                                         \
    v8f m1_ = (x)[3 * (xs)];                                                   \
    (y)[0] = (x)[0] + (x)[2 * (xs)] + m1_;                                     \
    (y)[(ys)] = (x)[(xs)] + m1_ + (x)[4 * (xs)];                               \
  } while (0)
#define WINO2_BT4(y, ys, x, xs)                                                \
  do {                                                                         \
    v8f o0_ = (x)[0], o1_ = (x)[2 * (xs)], o2_ = (x)[4 * (xs)];                \
    v8f o3_ = (x)[6 * (xs)], o4_ = (x)[8 * (xs)], r_ = o3_ - o1_;              \
    (y)[0] = (x)[(xs)];                                                        \
    (y)[(ys)] = (x)[3 * (xs)];                                                 \
    (y)[2 * (ys)] = (x)[5 * (xs)];                                             \
    (y)[3 * (ys)] = (x)[7 * (xs)];                                             \
    (y)[4 * (ys)] = V8F (2.0f) * (o0_ - o2_) + r_;                             \
    (y)[5 * (ys)] = r_ - o1_ - o2_;                                            \
    (y)[6 * (ys)] = r_ + V8F (3.0f) * (o1_ - o2_);                             \
    (y)[7 * (ys)] = r_;                                                        \
    (y)[8 * (ys)] = o4_ - o2_ - V8F (2.0f) * r_;                               \
  } while (0)
#define WINO2_AT4(y, ys, x, xs)                                                \
  do {                                                                         \
    v8f m1_ = (x)[5 * (xs)], m2_ = (x)[6 * (xs)], m3_ = (x)[7 * (xs)];         \
    v8f s_ = m1_ + m2_, d_ = m1_ - m2_;                                        \
    (y)[0] = (x)[0] + (x)[4 * (xs)] + s_ + m3_;                                \
    (y)[(ys)] = (x)[(xs)] + d_ + V8F (2.0f) * m3_;                             \
    (y)[2 * (ys)] = (x)[2 * (xs)] + s_ + V8F (4.0f) * m3_;                     \
    (y)[3 * (ys)] = (x)[3 * (xs)] + d_ + V8F (8.0f) * m3_ + (x)[8 * (xs)];     \
  } while (0)
#define WINO2_BT(m, y, ys, x, xs)                                              \
  do {                                                                         \
    if ((m) == 2)                                                              \
      WINO2_BT2 (y, ys, x, xs);                                                \
    else                                                                       \
      WINO2_BT4 (y, ys, x, xs);                                                \
  } while (0)
#define WINO2_AT(m, y, ys, x, xs)                                              \
  do {                                                                         \
    if ((m) == 2)                                                              \
      WINO2_AT2 (y, ys, x, xs);                                                \
    else                                                                       \
      WINO2_AT4 (y, ys, x, xs);                                                \
  } while (0)

/* Positions before class c along one axis, and in class c */
#define WINO2_BEFORE(m, c) ((c) == 0 ? 0 : (m) + (c)-1)
#define WINO2_MULT(m, c) ((c) == 0 ? (m) : 1)

#endif /* SSAN_SIMD_H */
