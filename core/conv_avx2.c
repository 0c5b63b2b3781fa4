/* conv_avx2.c: the direct-convolution microkernels and the fixed-order product built for AVX2 + FMA (16 registers).
 * Chosen at run time when the CPU has it and lacks AVX-512; see conv_direct.c. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#pragma GCC target("avx2,fma")
#define VL 8
#define SFX avx2
#define FMR 4  /* 4 x 3 accumulators + 3 pixel vectors + 1 weight: all 16 registers */
#define FNV 3
#define FNV1 4
#define WKR4 2
#define WKR2 6 /* 6 x 2 accumulators + 2 gradient vectors + 1 input */
#define WKR1 12
#define WG_WIDE 0 /* 2-vector channel blocks: 4-vector ones leave room for only 2 x 4 accumulators */
#include "core/conv_kernels.inc"
#include "core/mm_kernels.inc"
#else
typedef int xai_conv_avx2_unused;
#endif
