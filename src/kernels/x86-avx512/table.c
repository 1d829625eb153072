/* gst-ssan engine: the AVX-512 kernel table (SSAN_ISA avx512), or the same
 * kernels built for AVX2+FMA (avx512_emu, for tests) */
#include "avx512.h"
#include "../generic.h"
#include "../x86-avx2/avx2.h"

#define SSAN_TCAT2(a, b) a##_##b
#define SSAN_TCAT(a, b) SSAN_TCAT2 (a, b)

const ssan_kernels SSAN_TCAT (ssan_kernels, SSAN_ISA) = {
  .name = SSAN_ISA_NAME,
  .gemm = SSAN_K (gemm),
  .gemm_nr = 48,
  .bias_act = SSAN_K (bias_act),
  .im2col = SSAN_K (im2col),
  .maxpool = SSAN_K (maxpool),
  .wino_input = { SSAN_K (wino_input_2), wino_input_4_fma__avx2 },
  .wino_output = { SSAN_K (wino_output_2), wino_output_4_fma__avx2 },
  .wino2_input = { wino2_input_2_fma__avx2, wino2_input_4_fma__avx2 },
  .wino2_output = { wino2_output_2_fma__avx2, wino2_output_4_fma__avx2 },
  .online_softmax = SSAN_K (online_softmax),
  .scale_columns = SSAN_K (scale_columns),
  .attn_scores = SSAN_K (attn_scores),
  .attn_accumulate = SSAN_K (attn_accumulate),
  .attn_align = 32,
  .fma_peak = SSAN_K (fma_peak),
};
