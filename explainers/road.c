/* road.c: ROAD's noisy linear imputation (Rong et al. 2022): removed pixels solved from their
 * neighbours as one sparse symmetric system per channel by Jacobi-preconditioned conjugate gradients,
 * the channels side by side (one matrix, one pass over its lists, each channel its own CG). */
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

/* The unknowns and their neighbourhoods as compact lists, each in the stencil's order DY/DX (so
 * every sum below adds the same terms in the same order as a sweep over all 8 neighbours would):
 * unknown k's removed neighbours are un[uoff[k] .. uoff[k+1]) (unknown indices, weights uw), its
 * known in-image neighbours kn[koff[k] .. koff[k+1]) (pixels, weights kw). The C channels share the
 * matrix and are solved side by side: vectors hold nu x C values, channel c of unknown k at k C + c,
 * so one pass over the lists serves every channel. */
typedef struct {
    int nu, C;
    int32_t *u, *pos;           /* (nu) pixels, (plane) unknown index or -1 */
    int32_t *uoff, *un, *koff, *kn; /* (nu + 1), (8 nu), (nu + 1), (8 nu) */
    double *uw, *kw;            /* (8 nu), (8 nu) */
    double *diag;               /* (nu) sum of the in-image neighbour weights, times 1 + ROAD_PULL */
    double *x, *r, *z, *p, *q, *b; /* (nu, C) each */
} road_sys;

static void sys_build(road_sys *S, const uint8_t *removed, xai_shape s)
{
    const int plane = s.h * s.w;
    S->C = s.c;
    S->u = xai_malloc(plane * sizeof *S->u);
    S->pos = xai_malloc(plane * sizeof *S->pos);
    S->nu = 0;
    for (int p = 0; p < plane; p++) S->pos[p] = removed[p] ? S->nu : -1, S->nu += removed[p] != 0;
    for (int p = 0, k = 0; p < plane; p++)
        if (removed[p]) S->u[k++] = p;
    const size_t nu = S->nu ? S->nu : 1;
    S->uoff = xai_malloc((nu + 1) * sizeof *S->uoff), S->koff = xai_malloc((nu + 1) * sizeof *S->koff);
    S->un = xai_malloc(8 * nu * sizeof *S->un), S->kn = xai_malloc(8 * nu * sizeof *S->kn);
    S->uw = xai_malloc(8 * nu * sizeof *S->uw), S->kw = xai_malloc(8 * nu * sizeof *S->kw);
    S->diag = xai_malloc(nu * sizeof *S->diag);
    double **vec[6] = {&S->x, &S->r, &S->z, &S->p, &S->q, &S->b};
    for (int v = 0; v < 6; v++) *vec[v] = xai_malloc(nu * S->C * sizeof(double));
    int nun = 0, nkn = 0;
    for (int k = 0; k < S->nu; k++) {
        const int y = S->u[k] / s.w, x = S->u[k] % s.w;
        double d = 0;
        S->uoff[k] = nun, S->koff[k] = nkn;
        for (int j = 0; j < 8; j++) {
            const int yy = y + DY[j], xx = x + DX[j];
            if (yy < 0 || yy >= s.h || xx < 0 || xx >= s.w) continue;
            const int nb = yy * s.w + xx;
            if (S->pos[nb] >= 0) S->un[nun] = S->pos[nb], S->uw[nun++] = W8[j];
            else S->kn[nkn] = nb, S->kw[nkn++] = W8[j];
            d += W8[j];
        }
        S->diag[k] = d * (1 + ROAD_PULL);
    }
    S->uoff[S->nu] = nun, S->koff[S->nu] = nkn;
}

static void sys_free(road_sys *S)
{
    free(S->u), free(S->pos), free(S->uoff), free(S->un), free(S->koff), free(S->kn), free(S->uw), free(S->kw);
    free(S->diag), free(S->x), free(S->r), free(S->z), free(S->p), free(S->q), free(S->b);
}

/* q = A v for every channel: diag v minus the weights of removed neighbours; vq[c] = v . q of
 * channel c, summed in unknown order. */
static void sys_apply(const road_sys *S, const double *v, double *q, double *vq)
{
    const int C = S->C;
    for (int c = 0; c < C; c++) vq[c] = 0;
    for (int k = 0; k < S->nu; k++) {
        for (int c = 0; c < C; c++) {
            double acc = S->diag[k] * v[k * C + c];
            for (int e = S->uoff[k]; e < S->uoff[k + 1]; e++) acc -= S->uw[e] * v[S->un[e] * C + c];
            q[k * C + c] = acc;
            vq[c] += v[k * C + c] * acc;
        }
    }
}

/* Solves every channel of img into S->x (channel c at k C + c), each channel by textbook
 * Jacobi-preconditioned CG that stops at its own tolerance: the channels share the passes over the
 * lists, not their scalars. Returns the iterations summed over the channels. */
static int sys_solve(road_sys *S, const float *img, const double *mean, size_t plane)
{
    const int n = S->nu, C = S->C;
    double *sc = xai_malloc(9 * (size_t)C * sizeof *sc); /* the channels' scalars */
    double *rz = sc, *rr = sc + C, *stop = sc + 2 * C, *alpha = sc + 3 * C, *beta = sc + 4 * C, *pq = sc + 5 * C,
           *rz1 = sc + 6 * C, *rr1 = sc + 7 * C, *bb = sc + 8 * C;
    int *active = xai_malloc(C * sizeof *active), iters = 0;
    for (int c = 0; c < C; c++) bb[c] = 0;
    for (int k = 0; k < n; k++)
        for (int c = 0; c < C; c++) {
            const float *pl = img + c * plane;
            double b = ROAD_PULL / (1 + ROAD_PULL) * S->diag[k] * mean[c];
            for (int e = S->koff[k]; e < S->koff[k + 1]; e++) b += S->kw[e] * pl[S->kn[e]];
            S->b[k * C + c] = b, S->x[k * C + c] = mean[c];
            bb[c] += b * b;
        }
    sys_apply(S, S->x, S->q, pq);
    for (int c = 0; c < C; c++) rz[c] = rr[c] = 0;
    for (int k = 0; k < n; k++)
        for (int c = 0; c < C; c++) {
            const int i = k * C + c;
            S->r[i] = S->b[i] - S->q[i], S->z[i] = S->r[i] / S->diag[k], S->p[i] = S->z[i];
            rz[c] += S->r[i] * S->z[i], rr[c] += S->r[i] * S->r[i];
        }
    int any = 0;
    for (int c = 0; c < C; c++) {
        stop[c] = ROAD_TOL * ROAD_TOL * fmax(bb[c], 1e-300);
        any |= active[c] = rr[c] > stop[c];
    }
    for (int it = 0; any && it < ROAD_MAXIT; it++) {
        sys_apply(S, S->p, S->q, pq);
        for (int c = 0; c < C; c++) alpha[c] = rz[c] / pq[c], rz1[c] = rr1[c] = 0;
        for (int k = 0; k < n; k++)
            for (int c = 0; c < C; c++) {
                if (!active[c]) continue;
                const int i = k * C + c;
                S->x[i] += alpha[c] * S->p[i], S->r[i] -= alpha[c] * S->q[i];
                S->z[i] = S->r[i] / S->diag[k];
                rz1[c] += S->r[i] * S->z[i], rr1[c] += S->r[i] * S->r[i];
            }
        for (int c = 0; c < C; c++) beta[c] = active[c] ? rz1[c] / rz[c] : 0;
        for (int k = 0; k < n; k++)
            for (int c = 0; c < C; c++)
                if (active[c]) S->p[k * C + c] = S->z[k * C + c] + beta[c] * S->p[k * C + c];
        any = 0;
        for (int c = 0; c < C; c++)
            if (active[c]) {
                rz[c] = rz1[c], rr[c] = rr1[c], iters++;
                any |= active[c] = rr[c] > stop[c];
            }
    }
    free(sc), free(active);
    return iters;
}

int xai_road_impute(float *img, const uint8_t *removed, xai_shape s, const float *noise, uint64_t seed,
                    uint64_t image_id)
{
    road_sys S;
    sys_build(&S, removed, s);
    const size_t plane = (size_t)s.h * s.w, size = xai_shape_size(s);
    const uint64_t stream = xai_noise_seed(seed, XAI_NOISE_ROAD);
    int iters = 0;
    if (S.nu) {
        double *mean = xai_malloc(s.c * sizeof *mean);
        for (int c = 0; c < s.c; c++) {
            const float *pl = img + c * plane;
            double m = 0;
            for (size_t p = 0; p < plane; p++) m += removed[p] ? 0 : pl[p];
            mean[c] = (int)plane > S.nu ? m / ((int)plane - S.nu) : 0;
        }
        iters = sys_solve(&S, img, mean, plane);
        free(mean);
        for (int c = 0; c < s.c; c++) {
            float *pl = img + c * plane;
            for (int k = 0; k < S.nu; k++) {
                const uint64_t at = image_id * (uint64_t)size + c * plane + S.u[k];
                pl[S.u[k]] = (float)(S.x[k * s.c + c] + noise[c] * xai_hash_normal(stream, at));
            }
        }
    }
    sys_free(&S);
    return iters;
}
