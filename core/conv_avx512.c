/* conv_avx512.c: the direct-convolution microkernels and the fixed-order product built for AVX-512 (32 registers).
 * Chosen at run time when the CPU has it; see conv_direct.c. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#pragma GCC target("avx512f,avx512vl,fma")
#define VL 16
#define SFX avx512
#define FMR 8  /* 8 x 3 accumulators + 3 pixel vectors: 27 of 32 registers */
#define FNV 3
#define FNV1 4
#define WKR4 6 /* 6 x 4 accumulators + 4 gradient vectors */
#define WKR2 12
#define WKR1 16
#define WG_WIDE 1 /* 4-vector channel blocks */
#include "core/conv_kernels.inc"
#include "core/mm_kernels.inc"
#else
typedef int xai_conv_avx512_unused;
#endif
