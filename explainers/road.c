/* road.c: ROAD's noisy linear imputation (Rong et al. 2022): removed pixels solved from their
 * neighbours as one sparse symmetric system per channel by Jacobi-preconditioned conjugate gradients. */
#include "explainers/faith.h"
#include "explainers/perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Pull towards the known pixels' mean, as a share of a pixel's neighbour weight: it makes the
 * system positive definite when a removed region touches no known pixel (a pure Laplacian there
 * has the constants as null space) and moves a well-posed solution by about this share. */
#define ROAD_PULL 1e-3
#define ROAD_TOL 1e-6  /* relative residual at which CG stops */
#define ROAD_MAXIT 2000

static const int DY[8] = {-1, 1, 0, 0, -1, -1, 1, 1}, DX[8] = {0, 0, -1, 1, -1, 1, -1, 1};
static const double W8[8] = {1 / 6., 1 / 6., 1 / 6., 1 / 6., 1 / 12., 1 / 12., 1 / 12., 1 / 12.};

/* The unknowns and their neighbourhoods: nb[8k + d] is the neighbour's pixel, or -1 outside;
 * nbu[8k + d] the neighbour's unknown index, or -1 when it is known or outside. */
typedef struct {
    int nu;
    int32_t *u, *pos, *nb, *nbu; /* (nu) pixels, (plane) unknown index or -1, (8 nu), (8 nu) */
    double *diag;          /* (nu) sum of the in-image neighbour weights, times 1 + ROAD_PULL */
    double *x, *r, *z, *p, *q, *b;
} road_sys;

static void sys_build(road_sys *S, const uint8_t *removed, xai_shape s)
{
    const int plane = s.h * s.w;
    S->u = xai_malloc(plane * sizeof *S->u);
    S->pos = xai_malloc(plane * sizeof *S->pos);
    S->nu = 0;
    for (int p = 0; p < plane; p++) S->pos[p] = removed[p] ? S->nu : -1, S->nu += removed[p] != 0;
    for (int p = 0, k = 0; p < plane; p++)
        if (removed[p]) S->u[k++] = p;
    const int nu = S->nu ? S->nu : 1;
    S->nb = xai_malloc(8 * (size_t)nu * sizeof *S->nb);
    S->nbu = xai_malloc(8 * (size_t)nu * sizeof *S->nbu);
    S->diag = xai_malloc(nu * sizeof *S->diag);
    double **vec[6] = {&S->x, &S->r, &S->z, &S->p, &S->q, &S->b};
    for (int v = 0; v < 6; v++) *vec[v] = xai_malloc(nu * sizeof(double));
    for (int k = 0; k < S->nu; k++) {
        const int y = S->u[k] / s.w, x = S->u[k] % s.w;
        double d = 0;
        for (int j = 0; j < 8; j++) {
            const int yy = y + DY[j], xx = x + DX[j];
            const int in = yy >= 0 && yy < s.h && xx >= 0 && xx < s.w;
            S->nb[8 * k + j] = in ? yy * s.w + xx : -1;
            S->nbu[8 * k + j] = in ? S->pos[yy * s.w + xx] : -1;
            d += in ? W8[j] : 0;
        }
        S->diag[k] = d * (1 + ROAD_PULL);
    }
}

static void sys_free(road_sys *S)
{
    free(S->u), free(S->pos), free(S->nb), free(S->nbu), free(S->diag);
    free(S->x), free(S->r), free(S->z), free(S->p), free(S->q), free(S->b);
}

/* q = A v: diag v minus the weights of removed neighbours; returns v . q, summed in order. */
static double sys_apply(const road_sys *S, const double *v, double *q)
{
    double vq = 0;
    for (int k = 0; k < S->nu; k++) {
        double acc = S->diag[k] * v[k];
        const int32_t *nu = S->nbu + 8 * k;
        for (int j = 0; j < 8; j++)
            if (nu[j] >= 0) acc -= W8[j] * v[nu[j]];
        q[k] = acc;
        vq += v[k] * acc;
    }
    return vq;
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Solves one channel's plane into S->x; returns the iterations. */
static int sys_solve(road_sys *S, const float *plane, double mean)
{
    const int n = S->nu;
    for (int k = 0; k < n; k++) {
        double b = ROAD_PULL / (1 + ROAD_PULL) * S->diag[k] * mean;
        for (int j = 0; j < 8; j++) {
            const int nb = S->nb[8 * k + j];
            if (nb >= 0 && S->pos[nb] < 0) b += W8[j] * plane[nb];
        }
        S->b[k] = b;
        S->x[k] = mean;
    }
    sys_apply(S, S->x, S->q);
    for (int k = 0; k < n; k++) S->r[k] = S->b[k] - S->q[k], S->z[k] = S->r[k] / S->diag[k], S->p[k] = S->z[k];
    const double stop = ROAD_TOL * ROAD_TOL * fmax(dot(S->b, S->b, n), 1e-300);
    double rz = dot(S->r, S->z, n), rr = dot(S->r, S->r, n);
    int it = 0;
    /* Textbook preconditioned CG with its passes over the vectors fused: every dot product is
     * still summed in index order, so the iterates are those of the unfused loop, bit for bit. */
    while (it < ROAD_MAXIT && rr > stop) {
        const double alpha = rz / sys_apply(S, S->p, S->q);
        double rz1 = 0, rr1 = 0;
        for (int k = 0; k < n; k++) {
            S->x[k] += alpha * S->p[k], S->r[k] -= alpha * S->q[k];
            S->z[k] = S->r[k] / S->diag[k];
            rz1 += S->r[k] * S->z[k];
            rr1 += S->r[k] * S->r[k];
        }
        const double beta = rz1 / rz;
        for (int k = 0; k < n; k++) S->p[k] = S->z[k] + beta * S->p[k];
        rz = rz1, rr = rr1;
        it++;
    }
    return it;
}

int xai_road_impute(float *img, const uint8_t *removed, xai_shape s, const float *noise, uint64_t seed,
                    uint64_t image_id)
{
    road_sys S;
    sys_build(&S, removed, s);
    const size_t plane = (size_t)s.h * s.w, size = xai_shape_size(s);
    const uint64_t stream = xai_noise_seed(seed, XAI_NOISE_ROAD);
    int iters = 0;
    for (int c = 0; S.nu && c < s.c; c++) {
        float *pl = img + c * plane;
        double mean = 0;
        for (size_t p = 0; p < plane; p++) mean += removed[p] ? 0 : pl[p];
        mean = (int)plane > S.nu ? mean / ((int)plane - S.nu) : 0;
        iters += sys_solve(&S, pl, mean);
        for (int k = 0; k < S.nu; k++) {
            const uint64_t at = image_id * (uint64_t)size + c * plane + S.u[k];
            pl[S.u[k]] = (float)(S.x[k] + noise[c] * xai_hash_normal(stream, at));
        }
    }
    sys_free(&S);
    return iters;
}
