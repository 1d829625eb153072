/* gst-ssan engine: profiling of the forward pass by part and by kind of
 * convolution (internal, not installed). */
#ifndef SSAN_PROF_H
#define SSAN_PROF_H

/* Kinds of convolution, for profiling */
enum {
  SSAN_KIND_LARGE,    /* kernels of 5 and more (the stem's 7x7 / 2) */
  SSAN_KIND_1X1,      /* 1x1 stride 1: GEMMs on the feature map */
  SSAN_KIND_WINOGRAD, /* 3x3 stride 1 as Winograd */
  SSAN_KIND_STRIDED,  /* 3x3 stride 2 and more (im2col + GEMM or, stride
                         2, Winograd) */
  SSAN_KIND_DOWN,     /* 1x1 stride 2 and more (downsample) */
  SSAN_KIND_OTHER,    /* the rest (3x3 stride 1 on 1-pixel maps) */
  SSAN_KIND_COUNT
};

/* Parts of the work for profiling.  The convolutions' time (CONV +
 * IM2COL) is also added to the part of their kind (ssan_conv_kind). */
enum {
  SSAN_PART_CONV,   /* convolution GEMMs and their epilogues (Winograd:
                       and output transforms) */
  SSAN_PART_IM2COL, /* im2col gathers, Winograd input transforms */
  SSAN_PART_ATTN,   /* SSA attention (not its 1x1 convolutions) */
  SSAN_PART_OTHER,  /* pooling, fc, consensus */
  SSAN_PART_KIND,   /* first of SSAN_KIND_COUNT parts, one per kind */
  SSAN_PART_COUNT = SSAN_PART_KIND + SSAN_KIND_COUNT
};

/* prof: NULL, or seconds [thread][SSAN_PART_COUNT].  Adds the calling
 * thread's CPU seconds since t0 (from ssan_prof_start) to part of thread
 * (ssan_prof_stop_kind: also to the part of a convolution's kind); all do
 * nothing when prof is NULL. */
double ssan_prof_start (const double *prof);
void ssan_prof_stop (double *prof, int thread, int part, double t0);
void ssan_prof_stop_kind (
    double *prof, int thread, int part, int kind, double t0);

#endif /* SSAN_PROF_H */
