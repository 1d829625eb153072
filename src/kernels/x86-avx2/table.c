/* gst-ssan engine: the AVX2+FMA kernel table */
#define SSAN_ISA avx2
#include "avx2.h"
#include "../generic.h"

const ssan_kernels ssan_kernels_avx2 = {
  .name = "avx2",
  .gemm = gemm__avx2,
  .gemm_nr = 24,
  .bias_act = bias_act__avx2,
  .im2col = im2col__avx2,
  .maxpool = maxpool__avx2,
  .wino_input = { wino_input_2__avx2, wino_input_4_fma__avx2 },
  .wino_output = { wino_output_2__avx2, wino_output_4_fma__avx2 },
  .wino2_input = { wino2_input_2_fma__avx2, wino2_input_4_fma__avx2 },
  .wino2_output = { wino2_output_2_fma__avx2, wino2_output_4_fma__avx2 },
  .online_softmax = online_softmax__avx2,
  .scale_columns = scale_columns__avx2,
  .attn_scores = attn_scores__avx2,
  .attn_accumulate = attn_accumulate__avx2,
  .attn_align = 16,
  .fma_peak = fma_peak__avx2,
};
