/* gst-ssan engine: the portable kernel table (OpenBLAS for the GEMMs) */
#define SSAN_ISA portable
#include "../generic.h"

const ssan_kernels ssan_kernels_portable = {
  .name = "portable",
  .gemm_nr = 24,
  .bias_act = bias_act__portable,
  .im2col = im2col__portable,
  .maxpool = maxpool__portable,
  .wino_input = { wino_input_2__portable, wino_input_4__portable },
  .wino_output = { wino_output_2__portable, wino_output_4__portable },
  .wino2_input = { wino2_input_2__portable, wino2_input_4__portable },
  .wino2_output = { wino2_output_2__portable, wino2_output_4__portable },
  .online_softmax = online_softmax__portable,
  .scale_columns = scale_columns__portable,
  .attn_align = 16,
};
