/* rng.c: portable seeded random numbers (xoshiro256** and a counter hash).
 * Integer-only generators so a seed gives the same stream on every machine. */
#include "core/base.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void xai_rng_seed(xai_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t xai_rng_u64(xai_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t xai_rng_below(xai_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection: unbiased and portable. */
    uint64_t m = (uint64_t)(uint32_t)(xai_rng_u64(r) >> 32) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (lo < t) {
            m = (uint64_t)(uint32_t)(xai_rng_u64(r) >> 32) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float xai_rng_uniform(xai_rng *r) { return (float)(xai_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

float xai_rng_normal(xai_rng *r)
{
    double u1 = ((xai_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0); /* (0, 1] */
    double u2 = (xai_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void xai_rng_shuffle(xai_rng *r, int32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = xai_rng_below(r, (uint32_t)i);
        int32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
