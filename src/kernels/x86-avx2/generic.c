/* The portable kernels compiled for AVX2+FMA */
#define SSAN_ISA avx2
#include "../portable/generic.c"
