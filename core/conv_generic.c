/* conv_generic.c: the direct-convolution microkernels and the fixed-order product for any CPU, in 4-wide vectors.
 * The fallback when neither AVX2 nor AVX-512 is there; see conv_direct.c. */
#define VL 4
#define SFX generic
#define FMR 4
#define FNV 3
#define FNV1 4
#define WKR4 2
#define WKR2 6
#define WKR1 12
#define WG_WIDE 0
#include "core/conv_kernels.inc"
#include "core/mm_kernels.inc"
