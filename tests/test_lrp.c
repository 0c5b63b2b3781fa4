/* test_lrp.c: LRP rules against hand-computed values and a slow plain-loop reference in double,
 * LRP-0 = gradient x input, layer-by-layer conservation, batchnorm canonisation, composites. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base.h"
#include "core/nn.h"
#include "core/io.h"
#include "explainers/explain.h"
#include "tests/test_explain_common.h"

static double max_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t j = 0; j < n; j++) m = fmax(m, fabs(v[j]));
    return m;
}

/* Runs one composite (optionally with spec keys) on n images. */
static void run_lrp(const xai_model *m, const char *spec, const float *x, const int32_t *t, int n, float *attr,
                    double *res, double *ls)
{
    xai_method meth;
    if (xai_method_parse(&meth, spec, NULL) != XAI_OK) fail_msg("%s", xai_errmsg());
    xai_lrp *c;
    if (xai_lrp_create(&c, m, &meth.lrp, 4) != XAI_OK) fail_msg("%s", xai_errmsg());
    assert_int_equal(xai_lrp_run(c, x, t, n, attr, res, ls), XAI_OK);
    xai_lrp_free(c);
}

/* ------------------------------------------------------- hand-sized net */

/* x = (1, 2); h = relu(W1 x) with W1 = [[1, 1], [-1, 2]] (h = (3, 3)); logits = W2 h with
 * W2 = [[1, 2], [0, 1]] (9, 3). No biases. Relevance values worked out by hand. */
static xai_model *hand_net(void)
{
    xai_model *m = model_from("[model]\ninput = 2x1x1\nclasses = 2\nlayer = linear out=2 bias=0\nlayer = relu\n"
                              "layer = linear out=2 bias=0\n",
                              4);
    const float w1[4] = {1, 1, -1, 2}, w2[4] = {1, 2, 0, 1};
    memcpy(m->layers[0].w, w1, sizeof w1);
    memcpy(m->layers[2].w, w2, sizeof w2);
    return m;
}

static void test_hand_values(void **state)
{
    (void)state;
    xai_model *m = hand_net();
    m->mean[0] = m->mean[1] = 0, m->std[0] = m->std[1] = 1;
    const float x[2] = {1, 2};
    const int32_t t = 0;
    float a[2];
    double res, ls[4];
    static const struct {
        const char *spec;
        double r1, r2, sum;
    } cases[] = {
        {"lrp-0", -1, 10, 9},                      /* = gradient x input: (-1, 5) * (1, 2) */
        {"lrp-epsilon:eps=1", -0.675, 6.75, 6.075}, /* z + 1 in every denominator */
        {"lrp-zplus", 1, 8, 9},
        {"lrp-alpha2beta1", -8, 32, 24}, /* h1 has no negative part: 2x its share, unconserved */
        {"lrp-gamma:gamma=0.5", -0.2, 9.2, 9},
        {"lrp-flat", 4.5, 4.5, 9},
        {"lrp-wsquare", 2.34, 6.66, 9},
        {"lrp-zbox:low=-1:high=2:eps=1e-9", 1.2 + 6.0 / 7, 1.8 + 36.0 / 7, 9},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        run_lrp(m, cases[k].spec, x, &t, 1, a, &res, ls);
        print_message("%-34s R = (%g, %g)\n", cases[k].spec, a[0], a[1]);
        assert_close(a[0], cases[k].r1, 1e-5);
        assert_close(a[1], cases[k].r2, 1e-5);
        assert_close(res, cases[k].sum - 9, 1e-5);
        assert_close(ls[3], 9, 1e-6); /* relevance starts as the target logit */
    }
    xai_model_free(m);
}

/* ------------------------------------------------ plain-loop reference */

/* One conv/linear layer as explicit connections: output j gets w * input i. */
typedef struct {
    int j, i;
    double w;
} conn;

static conn *connections(const xai_layer *l, int *nc)
{
    size_t cap = l->type == XAI_LINEAR ? l->nw : l->nw * l->out.h * l->out.w;
    conn *c = malloc(cap * sizeof *c);
    int n = 0;
    if (l->type == XAI_LINEAR) {
        for (int o = 0; o < l->out.c; o++)
            for (int i = 0; i < l->in.c; i++) c[n++] = (conn){o, i, l->w[o * l->in.c + i]};
    } else {
        const int k = l->k;
        for (int o = 0; o < l->out.c; o++)
            for (int oy = 0; oy < l->out.h; oy++)
                for (int ox = 0; ox < l->out.w; ox++)
                    for (int ci = 0; ci < l->in.c; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * l->stride - l->pad + ky, ix = ox * l->stride - l->pad + kx;
                                if (iy < 0 || iy >= l->in.h || ix < 0 || ix >= l->in.w) continue;
                                c[n++] = (conn){(o * l->out.h + oy) * l->out.w + ox, (ci * l->in.h + iy) * l->in.w + ix,
                                                l->w[((o * l->in.c + ci) * k + ky) * k + kx]};
                            }
    }
    *nc = n;
    return c;
}

static double bias_of(const xai_layer *l, int j)
{
    if (!l->bias) return 0;
    return l->b[l->type == XAI_LINEAR ? j : j / (l->out.h * l->out.w)];
}

static double stabd(double z, double e) { return z >= 0 ? z + e : z - e; }

/* Forward of layer l in double. */
static void ref_forward(const xai_layer *l, const double *in, double *out)
{
    const int isz = (int)xai_shape_size(l->in), osz = (int)xai_shape_size(l->out);
    switch (l->type) {
    case XAI_CONV2D:
    case XAI_LINEAR: {
        int nc;
        conn *c = connections(l, &nc);
        for (int j = 0; j < osz; j++) out[j] = bias_of(l, j);
        for (int q = 0; q < nc; q++) out[c[q].j] += c[q].w * in[c[q].i];
        free(c);
        break;
    }
    case XAI_RELU:
        for (int j = 0; j < isz; j++) out[j] = in[j] > 0 ? in[j] : 0;
        break;
    case XAI_MAXPOOL2D:
    case XAI_AVGPOOL2D:
        for (int ch = 0; ch < l->out.c; ch++)
            for (int oy = 0; oy < l->out.h; oy++)
                for (int ox = 0; ox < l->out.w; ox++) {
                    double best = -INFINITY, sum = 0;
                    for (int ky = 0; ky < l->k; ky++)
                        for (int kx = 0; kx < l->k; kx++) {
                            int iy = oy * l->stride - l->pad + ky, ix = ox * l->stride - l->pad + kx;
                            if (iy < 0 || iy >= l->in.h || ix < 0 || ix >= l->in.w) continue;
                            double v = in[(ch * l->in.h + iy) * l->in.w + ix];
                            best = fmax(best, v);
                            sum += v;
                        }
                    out[(ch * l->out.h + oy) * l->out.w + ox] = l->type == XAI_MAXPOOL2D ? best : sum / (l->k * l->k);
                }
        break;
    case XAI_GAP:
        for (int ch = 0; ch < l->in.c; ch++) {
            double s = 0;
            for (int j = 0; j < l->in.h * l->in.w; j++) s += in[ch * l->in.h * l->in.w + j];
            out[ch] = s / (l->in.h * l->in.w);
        }
        break;
    default: memcpy(out, in, isz * sizeof *out); break;
    }
}

typedef struct {
    int rule; /* per layer */
    double eps, gamma, alpha, beta, stab;
    int bias_in;
    double lo[4], hi[4]; /* zbox bounds per input channel, network units */
} ref_opts;

/* The numerators a rule gives connection (i, j): into z+ (and z- for alpha-beta). zneg: z_j < 0
 * (gamma boosts the contributions of z_j's sign: x_i w_ij + gamma (x_i w_ij of that sign)). */
static void ref_num(const ref_opts *o, int rule, double xi, double w, double li, double hi, int zneg, double *num,
                    double *num2)
{
    const double wp = fmax(w, 0), wn = fmin(w, 0);
    *num2 = 0;
    switch (rule) {
    case XAI_LRP_ZERO:
    case XAI_LRP_EPSILON: *num = xi * w; break;
    case XAI_LRP_GAMMA: *num = xi * w + o->gamma * (zneg ? fmin(xi * w, 0) : fmax(xi * w, 0)); break;
    case XAI_LRP_GAMMA_PLAIN: *num = xi * (w + o->gamma * wp); break;
    case XAI_LRP_ALPHABETA:
        *num = fmax(xi * w, 0);
        *num2 = fmin(xi * w, 0);
        break;
    case XAI_LRP_FLAT: *num = 1; break;
    case XAI_LRP_WSQUARE: *num = w * w; break;
    default: *num = xi * w - li * wp - hi * wn; break; /* zbox */
    }
}

/* Relevance through conv/linear layer l by the rule's formula, connection by connection. A bias
 * taken as an input has activation 1 (and, for zbox, bounds 1, so it cancels); flat and wsquare
 * give biases no share. */
static void ref_affine(const xai_layer *l, const ref_opts *o, int rule, const double *x, const double *Rout,
                       double *Rin)
{
    const int isz = (int)xai_shape_size(l->in), osz = (int)xai_shape_size(l->out), plane = l->in.h * l->in.w;
    const int zb = rule == XAI_LRP_ZBOX; /* bounds exist for the input's channels only */
    int nc;
    conn *c = connections(l, &nc);
    double *zp = calloc(osz, sizeof *zp), *zn = calloc(osz, sizeof *zn), *z = calloc(osz, sizeof *z), num, num2;
    for (int q = 0; q < nc; q++) z[c[q].j] += x[c[q].i] * c[q].w; /* the plain z_j, for its sign */
    if (o->bias_in && l->bias)
        for (int j = 0; j < osz; j++) z[j] += bias_of(l, j);
    for (int q = 0; q < nc; q++) {
        const int i = c[q].i;
        ref_num(o, rule, x[i], c[q].w, zb ? o->lo[i / plane] : 0, zb ? o->hi[i / plane] : 0, z[c[q].j] < 0, &num,
                &num2);
        zp[c[q].j] += num;
        zn[c[q].j] += num2;
    }
    if (o->bias_in && l->bias && rule != XAI_LRP_ZBOX && rule != XAI_LRP_FLAT && rule != XAI_LRP_WSQUARE)
        for (int j = 0; j < osz; j++) {
            ref_num(o, rule, 1, bias_of(l, j), 1, 1, z[j] < 0, &num, &num2);
            zp[j] += num;
            zn[j] += num2;
        }
    for (int i = 0; i < isz; i++) Rin[i] = 0;
    for (int q = 0; q < nc; q++) {
        const int i = c[q].i, j = c[q].j;
        ref_num(o, rule, x[i], c[q].w, zb ? o->lo[i / plane] : 0, zb ? o->hi[i / plane] : 0, z[j] < 0, &num, &num2);
        if (rule == XAI_LRP_ALPHABETA)
            Rin[i] += o->alpha * num / stabd(zp[j], o->stab) * Rout[j] - o->beta * num2 / stabd(zn[j], o->stab) * Rout[j];
        else
            Rin[i] += num / stabd(zp[j], rule == XAI_LRP_EPSILON ? o->eps : o->stab) * Rout[j];
    }
    free(zp);
    free(zn);
    free(z);
    free(c);
}

/* The whole reference: forward in double, then relevance layer by layer. */
static void ref_lrp(const xai_model *m, const int *rules, const ref_opts *o, const float *xf, int target, double *R0)
{
    const int L = m->nlayers;
    double **a = malloc((L + 1) * sizeof *a);
    a[0] = malloc(xai_shape_size(m->in) * sizeof **a);
    for (size_t j = 0; j < xai_shape_size(m->in); j++) a[0][j] = xf[j];
    for (int i = 0; i < L; i++) {
        a[i + 1] = calloc(xai_shape_size(m->layers[i].out), sizeof **a);
        ref_forward(&m->layers[i], a[i], a[i + 1]);
    }
    double *R = calloc(m->nclasses, sizeof *R);
    R[target] = a[L][target];
    for (int i = L - 1; i >= 0; i--) {
        const xai_layer *l = &m->layers[i];
        const int isz = (int)xai_shape_size(l->in);
        double *Rin = calloc(isz, sizeof *Rin);
        switch (l->type) {
        case XAI_CONV2D:
        case XAI_LINEAR: ref_affine(l, o, rules[i], a[i], R, Rin); break;
        case XAI_MAXPOOL2D:
            for (int ch = 0; ch < l->out.c; ch++)
                for (int oy = 0; oy < l->out.h; oy++)
                    for (int ox = 0; ox < l->out.w; ox++) {
                        int bi = -1;
                        double best = -INFINITY;
                        for (int ky = 0; ky < l->k; ky++)
                            for (int kx = 0; kx < l->k; kx++) {
                                int iy = oy * l->stride - l->pad + ky, ix = ox * l->stride - l->pad + kx;
                                if (iy < 0 || iy >= l->in.h || ix < 0 || ix >= l->in.w) continue;
                                int idx = (ch * l->in.h + iy) * l->in.w + ix;
                                if (a[i][idx] > best) best = a[i][idx], bi = idx;
                            }
                        Rin[bi] += R[(ch * l->out.h + oy) * l->out.w + ox];
                    }
            break;
        case XAI_AVGPOOL2D:
            for (int ch = 0; ch < l->out.c; ch++)
                for (int oy = 0; oy < l->out.h; oy++)
                    for (int ox = 0; ox < l->out.w; ox++) {
                        int j = (ch * l->out.h + oy) * l->out.w + ox;
                        for (int ky = 0; ky < l->k; ky++)
                            for (int kx = 0; kx < l->k; kx++) {
                                int iy = oy * l->stride - l->pad + ky, ix = ox * l->stride - l->pad + kx;
                                if (iy < 0 || iy >= l->in.h || ix < 0 || ix >= l->in.w) continue;
                                int idx = (ch * l->in.h + iy) * l->in.w + ix;
                                Rin[idx] += a[i][idx] / (l->k * l->k) / stabd(a[i + 1][j], o->stab) * R[j];
                            }
                    }
            break;
        case XAI_GAP:
            for (int j = 0; j < isz; j++) {
                int ch = j / (l->in.h * l->in.w);
                Rin[j] = a[i][j] / (l->in.h * l->in.w) / stabd(a[i + 1][ch], o->stab) * R[ch];
            }
            break;
        default: memcpy(Rin, R, isz * sizeof *Rin); break;
        }
        free(R);
        R = Rin;
    }
    memcpy(R0, R, xai_shape_size(m->in) * sizeof *R0);
    free(R);
    for (int i = 0; i <= L; i++) free(a[i]);
    free(a);
}

static const char *ref_net = "[model]\ninput = 2x8x8\nclasses = 3\n"
                             "layer = conv out=4 k=3 pad=1\nlayer = relu\nlayer = maxpool k=2\n"
                             "layer = conv out=6 k=2 stride=2 pad=1\nlayer = relu\nlayer = avgpool k=2 stride=1\n"
                             "layer = flatten\nlayer = linear out=5\nlayer = relu\nlayer = linear out=3\n";

/* Every rule, both bias modes, on a net with padding, strides, both pools and biases, with
 * inputs of both signs (the mixed-sign alpha-beta path) against the reference. */
static void test_rules_vs_reference(void **state)
{
    (void)state;
    xai_model *m = model_from(ref_net, 4);
    randomize(m, 21, 0.05f, 0);
    m->mean[0] = 0.3f, m->std[0] = 0.5f, m->mean[1] = 0.6f, m->std[1] = 0.4f;
    const int n = 3;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 5, -1.2f, 1.6f), *attr = malloc(n * isz * sizeof *attr);
    double *want = malloc(isz * sizeof *want), res[3];
    int32_t t[3] = {0, 1, 2};
    static const char *rule_specs[] = {"0",     "epsilon",     "gamma", "gamma-plain",
                                       "zplus", "alpha2beta1", "flat",  "wsquare"};
    int zero_cases = 0, cases = 0; /* z+ may find no positive contribution to a target: all zero */
    for (int bias = 0; bias < 2; bias++)
        for (int rs = 0; rs < 8; rs++)
            for (int first_zb = 0; first_zb < 2; first_zb++) {
                char spec[160];
                snprintf(spec, sizeof spec, "lrp-epsilon:eps=0.05:first=%s:conv=%s:dense=%s:bias=%s:gamma=0.3",
                         first_zb ? "zbox" : rule_specs[rs], rule_specs[rs], rule_specs[rs], bias ? "input" : "ignore");
                xai_method meth;
                if (xai_method_parse(&meth, spec, NULL) != XAI_OK) fail_msg("%s", xai_errmsg());
                const xai_lrp_opts *lo = &meth.lrp; /* every slot names the same rule here */
                const int own = lo->slot_alpha[XAI_LRP_SLOT_CONV] != 0;
                ref_opts o = {0, lo->epsilon, lo->gamma, own ? lo->slot_alpha[XAI_LRP_SLOT_CONV] : lo->alpha,
                              own ? lo->slot_beta[XAI_LRP_SLOT_CONV] : lo->beta, lo->stabilizer,
                              bias, {0}, {0}};
                for (int ch = 0; ch < 2; ch++) {
                    o.lo[ch] = (0 - m->mean[ch]) / m->std[ch];
                    o.hi[ch] = (1 - m->mean[ch]) / m->std[ch];
                }
                int rules[10];
                for (int i = 0; i < m->nlayers; i++) rules[i] = xai_lrp_rule_from_name(rule_specs[rs]);
                if (first_zb) rules[0] = XAI_LRP_ZBOX;
                run_lrp(m, spec, x, t, n, attr, res, NULL);
                for (int i = 0; i < n; i++) {
                    ref_lrp(m, rules, &o, x + i * isz, t[i], want);
                    double mx = max_abs(want, isz), sum = 0;
                    zero_cases += mx == 0;
                    cases++;
                    for (size_t j = 0; j < isz; j++) {
                        sum += attr[i * isz + j];
                        if (fabs(attr[i * isz + j] - want[j]) > 2e-4 * mx + 1e-12)
                            fail_msg("%s image %d pixel %zu: %g, reference %g (max %g)", spec, i, j, attr[i * isz + j],
                                     want[j], mx);
                    }
                    (void)sum;
                }
            }
    assert_true(zero_cases * 10 < cases);
    /* One thread or two: the same bits. */
    double *r1 = malloc(n * sizeof *r1), *r2 = malloc(n * sizeof *r2);
    float *a2 = malloc(n * isz * sizeof *a2);
    const char *tspec = "lrp-epsilon-gamma-box:conv=alpha2beta1";
    xai_set_threads(1);
    run_lrp(m, tspec, x, t, n, attr, r1, NULL);
    xai_set_threads(2);
    run_lrp(m, tspec, x, t, n, a2, r2, NULL);
    assert_memory_equal(attr, a2, n * isz * sizeof *a2);
    assert_memory_equal(r1, r2, n * sizeof *r1);
    free(r1);
    free(r2);
    free(a2);
    free(x);
    free(attr);
    free(want);
    xai_model_free(m);
}

/* The step that runs conv + relu + max pool as one (sign-split rules on a non-negative input,
 * denominators at the pool's winners only) and the lean forward pass it follows, against the
 * reference: non-negative images, the conv rules (the input-free flat and w^2 too) under dense
 * rules that keep (epsilon) or do not keep (flat: relevance reaches dead units) relevance off dead
 * units, bias in or out. */
static void test_fused_pool_vs_reference(void **state)
{
    (void)state;
    xai_model *m = model_from(ref_net, 4);
    randomize(m, 23, 0.05f, 0);
    const int n = 3;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 9, 0.0f, 1.6f), *attr = malloc(n * isz * sizeof *attr);
    double *want = malloc(isz * sizeof *want), res[3];
    int32_t t[3] = {2, 0, 1};
    static const char *conv_rules[] = {"epsilon", "gamma", "zplus", "alpha2beta1", "flat", "wsquare"},
                      *dense_rules[] = {"epsilon", "flat"};
    for (int bias = 0; bias < 2; bias++)
        for (int cr = 0; cr < 6; cr++)
            for (int dr = 0; dr < 2; dr++) {
                char spec[160];
                snprintf(spec, sizeof spec, "lrp-epsilon:eps=0.05:conv=%s:dense=%s:bias=%s:gamma=0.3", conv_rules[cr],
                         dense_rules[dr], bias ? "input" : "ignore");
                xai_method meth;
                if (xai_method_parse(&meth, spec, NULL) != XAI_OK) fail_msg("%s", xai_errmsg());
                const xai_lrp_opts *lo = &meth.lrp;
                const int own = lo->slot_alpha[XAI_LRP_SLOT_CONV] != 0;
                ref_opts o = {0, lo->epsilon, lo->gamma, own ? lo->slot_alpha[XAI_LRP_SLOT_CONV] : lo->alpha,
                              own ? lo->slot_beta[XAI_LRP_SLOT_CONV] : lo->beta, lo->stabilizer, bias, {0}, {0}};
                int rules[10];
                for (int i = 0; i < m->nlayers; i++)
                    rules[i] = xai_lrp_rule_from_name(m->layers[i].type == XAI_CONV2D ? conv_rules[cr] : dense_rules[dr]);
                run_lrp(m, spec, x, t, n, attr, res, NULL);
                for (int i = 0; i < n; i++) {
                    ref_lrp(m, rules, &o, x + i * isz, t[i], want);
                    const double mx = max_abs(want, isz);
                    for (size_t j = 0; j < isz; j++)
                        if (fabs(attr[i * isz + j] - want[j]) > 2e-4 * mx + 1e-12)
                            fail_msg("%s image %d pixel %zu: %g, reference %g (max %g)", spec, i, j, attr[i * isz + j],
                                     want[j], mx);
                }
            }
    free(x);
    free(attr);
    free(want);
    xai_model_free(m);
}

/* ------------------------------------------------------------ properties */

static const char *nobias_net = "[model]\ninput = 2x12x12\nclasses = 4\n"
                                "layer = conv out=6 k=3 bias=0\nlayer = relu\nlayer = maxpool k=2\n"
                                "layer = conv out=8 k=2 bias=0\nlayer = relu\nlayer = avgpool k=2\n"
                                "layer = flatten\nlayer = linear out=12 bias=0\nlayer = relu\nlayer = dropout p=0.3\n"
                                "layer = linear out=4 bias=0\n";

static const char *gap_net = "[model]\ninput = 3x7x7\nclasses = 5\n"
                             "layer = conv out=5 k=3 pad=1 bias=0\nlayer = relu\nlayer = conv out=7 k=3 stride=2 bias=0\n"
                             "layer = relu\nlayer = gap\nlayer = linear out=5 bias=0\n";

/* LRP-0 and epsilon -> 0 on a bias-free ReLU net equal gradient x input (Ancona et al. 2018). */
static void test_lrp0_is_gradient_x_input(void **state)
{
    (void)state;
    const char *nets[2] = {nobias_net, gap_net};
    for (int k = 0; k < 2; k++) {
        xai_model *m = model_from(nets[k], 4);
        randomize(m, 3 + k, 0, 0);
        const int n = 5;
        const size_t isz = xai_shape_size(m->in);
        float *x = random_inputs(n * isz, 8, -1, 2), *a = malloc(n * isz * 4), *g = malloc(n * isz * 4);
        int32_t t[5] = {0, 1, 2, 3, 1};
        assert_int_equal(xai_gradient_x_input(m, x, t, n, g), XAI_OK);
        double mx = 0;
        for (size_t j = 0; j < n * isz; j++) mx = fmax(mx, fabs(g[j]));
        assert_true(mx > 0);
        const char *specs[2] = {"lrp-0", "lrp-epsilon:eps=1e-9"};
        for (int s = 0; s < 2; s++) {
            run_lrp(m, specs[s], x, t, n, a, NULL, NULL);
            for (size_t j = 0; j < n * isz; j++) assert_close(a[j], g[j], 1e-5 * mx);
        }
        /* A larger epsilon absorbs relevance: the total shrinks towards 0. */
        double res0[5], res1[5];
        run_lrp(m, "lrp-epsilon:eps=1e-9", x, t, n, a, res0, NULL);
        run_lrp(m, "lrp-epsilon:eps=10", x, t, n, a, res1, NULL);
        for (int i = 0; i < n; i++) assert_true(fabs(res0[i]) < 1e-4);
        int shrunk = 0;
        for (int i = 0; i < n; i++) shrunk += fabs(res1[i]) > 1e-3;
        assert_true(shrunk > 0);
        free(x);
        free(a);
        free(g);
        xai_model_free(m);
    }
}

/* z+ and alpha-beta (alpha - beta = 1) on a bias-free net conserve relevance at every layer. */
static void test_conservation(void **state)
{
    (void)state;
    xai_model *m = model_from(nobias_net, 4);
    randomize(m, 9, 0, 0);
    const int n = 6, L = m->nlayers;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 2, -1, 2), *a = malloc(n * isz * 4);
    int32_t t[6] = {0, 1, 2, 3, 0, 1};
    double *ls = malloc(n * (L + 1) * sizeof *ls), res[6];
    const char *specs[] = {"lrp-zplus", "lrp-alpha2beta1", "lrp-alpha1beta0", "lrp-epsilon-plus-flat:dense=zplus",
                           "lrp-zplus:alpha=3:beta=2", "lrp-zplus:first=wsquare", "lrp-zbox:dense=zplus:conv=zplus",
                           "lrp-gamma", "lrp-epsilon-plus-flat:first=alpha2beta1:dense=gamma"};
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        run_lrp(m, specs[s], x, t, n, a, res, ls);
        for (int i = 0; i < n; i++) {
            double top = ls[i * (L + 1) + L];
            assert_true(fabs(top) > 1e-3);
            for (int j = 0; j <= L; j++)
                if (fabs(ls[i * (L + 1) + j] - top) > 1e-5 * fabs(top))
                    fail_msg("%s image %d: relevance %g at layer %d, %g at the output", specs[s], i, ls[i * (L + 1) + j],
                             j, top);
            assert_true(fabs(res[i]) <= 1e-5 * fabs(top));
        }
    }
    /* Biases as inputs absorb relevance; ignoring them restores conservation. */
    randomize(m, 9, 0.5f, 0);
    xai_model *mb = model_from("[model]\ninput = 2x12x12\nclasses = 4\nlayer = conv out=6 k=3\nlayer = relu\n"
                               "layer = maxpool k=2\nlayer = conv out=8 k=2\nlayer = relu\nlayer = avgpool k=2\n"
                               "layer = flatten\nlayer = linear out=12\nlayer = relu\nlayer = dropout p=0.3\n"
                               "layer = linear out=4\n",
                               4);
    randomize(mb, 9, 0.5f, 0);
    run_lrp(mb, "lrp-zplus:bias=input", x, t, n, a, res, NULL);
    int leaked = 0;
    for (int i = 0; i < n; i++) leaked += fabs(res[i]) > 1e-3;
    assert_true(leaked > 0);
    run_lrp(mb, "lrp-zplus:bias=ignore", x, t, n, a, res, ls);
    for (int i = 0; i < n; i++) assert_true(fabs(res[i]) <= 1e-5 * fabs(ls[i * (L + 1) + L]));
    free(x);
    free(a);
    free(ls);
    xai_model_free(m);
    xai_model_free(mb);
}

/* alpha-beta: the positive part carries alpha R, the negative part -beta R (checked on one
 * dense layer where every neuron has both signs). */
static void test_alphabeta_split(void **state)
{
    (void)state;
    xai_model *m = model_from("[model]\ninput = 3x1x1\nclasses = 2\nlayer = linear out=2 bias=0\n", 2);
    const float w[6] = {1, -2, 0.5f, -1, 3, -0.5f};
    memcpy(m->layers[0].w, w, sizeof w);
    const float x[3] = {1, 0.5f, 2};
    const int32_t t = 0;
    float a[3];
    /* z_ij = (1, -1, 1); z+ = 2, z- = -1, f = 1 */
    run_lrp(m, "lrp-alpha2beta1", x, &t, 1, a, NULL, NULL);
    assert_close(a[0], 2 * 1.0 / 2, 1e-6);
    assert_close(a[1], -1 * -1.0 / -1, 1e-6);
    assert_close(a[2], 2 * 1.0 / 2, 1e-6);
    double pos = a[0] + a[2], neg = a[1];
    assert_close(pos, 2 * 1.0, 1e-6);
    assert_close(neg, -1 * 1.0, 1e-6);
    assert_close(pos + neg, 1.0, 1e-6); /* alpha - beta = 1 */
    /* Settings that break conservation are refused. */
    xai_method meth;
    assert_int_equal(xai_method_parse(&meth, "lrp-alpha2beta1:beta=0", NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "alpha - beta = 1"));
    xai_lrp_opts o;
    assert_int_equal(xai_lrp_composite(&o, "lrp-alpha2beta1"), XAI_OK);
    o.alpha = 1.5;
    assert_int_equal(xai_lrp_check(&o), XAI_EINVAL);
    xai_model_free(m);
}

/* Zennit's generalised Gamma on x = (-1, 2), w = (1, 1), R = f(x) = 1 (gamma 0.25): z = 1 > 0, so
 * x1 < 0 keeps w (its contribution opposes z) and x2 gets w + gamma w+: denominator 2.5 - 1 = 1.5,
 * R = (-1/1.5, 2.5/1.5) = (-0.667, 1.667), as Zennit gives. gamma-plain, w + gamma w+ whatever the
 * signs, gives (-1, 2). Mirrored inputs give a negative logit and the mirrored answer. */
static void test_gamma_generalised(void **state)
{
    (void)state;
    xai_model *m = model_from("[model]\ninput = 2x1x1\nclasses = 2\nlayer = linear out=2 bias=0\n", 2);
    const float w[4] = {1, 1, 0, 0};
    memcpy(m->layers[0].w, w, sizeof w);
    const float x[2] = {-1, 2}, xm[2] = {1, -2};
    const int32_t t = 0;
    float a[2];
    double res, ls[2];
    run_lrp(m, "lrp-gamma", x, &t, 1, a, &res, ls);
    print_message("gamma: R = (%g, %g)\n", a[0], a[1]);
    assert_close(a[0], -2.0 / 3, 1e-6);
    assert_close(a[1], 5.0 / 3, 1e-6);
    assert_close(a[0] + a[1], 1, 1e-6); /* conserved */
    assert_close(res, 0, 1e-6);
    run_lrp(m, "lrp-gamma", xm, &t, 1, a, &res, ls);
    assert_close(a[0], 2.0 / 3, 1e-6);
    assert_close(a[1], -5.0 / 3, 1e-6);
    assert_close(a[0] + a[1], -1, 1e-6);
    run_lrp(m, "lrp-gamma:dense=gamma-plain", x, &t, 1, a, &res, ls);
    assert_close(a[0], -1, 1e-6);
    assert_close(a[1], 2, 1e-6);
    run_lrp(m, "lrp-0:first=gamma-plain", x, &t, 1, a, &res, ls);
    assert_close(a[0], -1, 1e-6);
    /* The composites that use gamma use the generalised form. */
    xai_lrp_opts o;
    assert_int_equal(xai_lrp_composite(&o, "lrp-epsilon-gamma-box"), XAI_OK);
    assert_int_equal(o.conv, XAI_LRP_GAMMA);
    assert_int_equal(xai_lrp_composite(&o, "lrp-gamma"), XAI_OK);
    assert_int_equal(o.conv, XAI_LRP_GAMMA);
    assert_int_equal(o.dense, XAI_LRP_GAMMA);
    assert_int_equal(xai_lrp_rule_from_name("gamma-plain"), XAI_LRP_GAMMA_PLAIN);
    assert_string_equal(xai_lrp_rule_name(XAI_LRP_GAMMA_PLAIN), "gamma-plain");
    xai_model_free(m);
}

static int count_of(const char *hay, const char *needle)
{
    int k = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) k++;
    return k;
}

/* alpha and beta belong to a rule slot: first=alpha2beta1 leaves the composite's z+ conv layers at
 * alpha1beta0 (it once made every alpha-beta layer alpha2beta1). */
static void test_alphabeta_per_slot(void **state)
{
    (void)state;
    xai_model *m = model_from(nobias_net, 4); /* conv, conv, linear, linear */
    randomize(m, 11, 0, 0);
    xai_method meth;
    assert_int_equal(xai_method_parse(&meth, "lrp-epsilon-plus-flat:first=alpha2beta1", NULL), XAI_OK);
    xai_lrp *c;
    assert_int_equal(xai_lrp_create(&c, m, &meth.lrp, 4), XAI_OK);
    char *d = xai_lrp_describe(c);
    print_message("%s", d);
    assert_int_equal(count_of(d, "alpha2beta1"), 1); /* the first conv */
    assert_int_equal(count_of(d, "alpha1beta0"), 1); /* the other conv: z+ */
    assert_int_equal(count_of(d, "epsilon"), 2);     /* the linear layers */
    free(d);
    xai_lrp_free(c);
    /* The same relevance as naming each slot's values by hand. */
    const int n = 3;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 4, -1, 2), *a = malloc(n * isz * 4), *b = malloc(n * isz * 4);
    int32_t t[3] = {0, 1, 2};
    run_lrp(m, "lrp-epsilon-plus-flat:first=alpha2beta1", x, t, n, a, NULL, NULL);
    run_lrp(m, "lrp-epsilon-plus-flat:alpha=2:beta=1:first=alphabeta:conv=zplus", x, t, n, b, NULL, NULL);
    assert_memory_equal(a, b, n * isz * 4);
    run_lrp(m, "lrp-epsilon-plus-flat:first=zplus", x, t, n, b, NULL, NULL);
    assert_memory_not_equal(a, b, n * isz * 4);
    /* A slot's own values win over alpha=/beta=; the others follow them. */
    assert_int_equal(xai_method_parse(&meth, "lrp-alpha2beta1:dense=zplus", NULL), XAI_OK);
    assert_int_equal(xai_lrp_create(&c, m, &meth.lrp, 4), XAI_OK);
    d = xai_lrp_describe(c);
    assert_int_equal(count_of(d, "alpha2beta1"), 2);
    assert_int_equal(count_of(d, "alpha1beta0"), 2);
    free(d);
    xai_lrp_free(c);
    assert_int_equal(xai_method_parse(&meth, "lrp-epsilon:first=zplus:alpha=3:beta=2", NULL), XAI_OK);
    assert_int_equal(meth.lrp.slot_alpha[XAI_LRP_SLOT_FIRST], 1);
    meth.lrp.slot_alpha[XAI_LRP_SLOT_CONV] = 1.5, meth.lrp.slot_beta[XAI_LRP_SLOT_CONV] = 1;
    assert_int_equal(xai_lrp_check(&meth.lrp), XAI_EINVAL);
    free(x);
    free(a);
    free(b);
    xai_model_free(m);
}

/* --------------------------------------------------------- canonisation */

static void test_bn_canonisation(void **state)
{
    (void)state;
    /* bn right after conv (with and without bias), after linear, and one after a relu that
     * cannot be merged and stays as a per-element affine layer. */
    xai_model *m = model_from("[model]\ninput = 2x8x8\nclasses = 4\n"
                              "layer = conv out=5 k=3 bias=0\nlayer = bn\nlayer = relu\n"
                              "layer = conv out=6 k=3\nlayer = bn\nlayer = relu\nlayer = bn\nlayer = maxpool k=2\n"
                              "layer = flatten\nlayer = linear out=7\nlayer = bn\nlayer = relu\nlayer = linear out=4\n",
                              4);
    randomize(m, 4, 0.2f, 0);
    xai_rng r;
    xai_rng_seed(&r, 77);
    for (int i = 0; i < m->nlayers; i++) {
        xai_layer *l = &m->layers[i];
        if (l->type != XAI_BATCHNORM2D) continue;
        for (int c = 0; c < l->in.c; c++) {
            l->w[c] = 0.5f + xai_rng_uniform(&r);
            l->b[c] = 0.3f * xai_rng_normal(&r);
            l->rmean[c] = 0.5f * xai_rng_normal(&r);
            l->rvar[c] = 0.2f + xai_rng_uniform(&r);
            /* The bn that stays has no shift, so ignoring biases conserves through it. */
            if (i == 6) l->b[c] = l->w[c] / sqrtf(l->rvar[c] + l->eps) * l->rmean[c];
        }
    }
    xai_model *c;
    assert_int_equal(xai_model_fold_batchnorm(&c, m, 4), XAI_OK);
    assert_int_equal(c->nlayers, m->nlayers - 3); /* three bn merged, one kept */
    int kept = 0;
    for (int i = 0; i < c->nlayers; i++) kept += c->layers[i].type == XAI_BATCHNORM2D;
    assert_int_equal(kept, 1);
    assert_int_equal(c->layers[0].bias, 1); /* a bias appears for the merged shift */
    const int n = 4;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 6, -1, 1);
    m->train = 0;
    float *l1 = malloc(n * 4 * sizeof *l1);
    memcpy(l1, xai_model_forward(m, x, n), n * 4 * sizeof *l1);
    const float *l2 = xai_model_forward(c, x, n);
    for (int j = 0; j < n * 4; j++) assert_close(l2[j], l1[j], 1e-5 * (1 + fabs(l1[j])));
    /* LRP on it: LRP-0 with ignored biases conserves, through the standing bn too. */
    xai_lrp_opts o;
    assert_int_equal(xai_lrp_composite(&o, "lrp-0"), XAI_OK);
    o.bias_input = 0;
    xai_lrp *ctx;
    assert_int_equal(xai_lrp_create(&ctx, m, &o, 3), XAI_OK);
    int32_t t[4] = {0, 1, 2, 3};
    float *a = malloc(n * isz * sizeof *a);
    double res[4];
    assert_int_equal(xai_lrp_run(ctx, x, t, n, a, res, NULL), XAI_OK);
    for (int i = 0; i < n; i++)
        if (!(fabs(res[i]) < 1e-4 * (1 + fabs(l1[i * 4 + t[i]])))) fail_msg("image %d: residual %g, f %g", i, res[i], l1[i * 4 + t[i]]);
    char *desc = xai_lrp_describe(ctx);
    assert_non_null(strstr(desc, "batchnorm2d proportional"));
    free(desc);
    xai_lrp_free(ctx);
    free(a);
    free(x);
    free(l1);
    xai_model_free(c);
    xai_model_free(m);
}

/* ------------------------------------------------------------ composites */

static void test_composites(void **state)
{
    (void)state;
    xai_model *m = model_from("[model]\ninput = 1x10x10\nclasses = 3\nlayer = conv out=3 k=3\nlayer = relu\n"
                              "layer = conv out=4 k=3\nlayer = relu\nlayer = flatten\nlayer = linear out=8\n"
                              "layer = relu\nlayer = linear out=3\n",
                              2);
    xai_model_init(m, 1);
    static const struct {
        const char *name;
        int r0, r2, r5, r7;
        double eps, alpha;
    } want[] = {
        {"lrp-epsilon", XAI_LRP_EPSILON, XAI_LRP_EPSILON, XAI_LRP_EPSILON, XAI_LRP_EPSILON, 1e-6, 1},
        {"lrp-zplus", XAI_LRP_ALPHABETA, XAI_LRP_ALPHABETA, XAI_LRP_ALPHABETA, XAI_LRP_ALPHABETA, 1e-6, 1},
        {"lrp-alpha2beta1", XAI_LRP_ALPHABETA, XAI_LRP_ALPHABETA, XAI_LRP_ALPHABETA, XAI_LRP_ALPHABETA, 1e-6, 2},
        {"lrp-epsilon-plus-flat", XAI_LRP_FLAT, XAI_LRP_ALPHABETA, XAI_LRP_EPSILON, XAI_LRP_EPSILON, 1e-6, 1},
        {"lrp-epsilon-gamma-box", XAI_LRP_ZBOX, XAI_LRP_GAMMA, XAI_LRP_EPSILON, XAI_LRP_EPSILON, 1e-6, 1},
        {"lrp-preset-a", XAI_LRP_ALPHABETA, XAI_LRP_ALPHABETA, XAI_LRP_EPSILON, XAI_LRP_EPSILON, 0.1, 1},
        {"lrp-preset-b", XAI_LRP_ALPHABETA, XAI_LRP_ALPHABETA, XAI_LRP_EPSILON, XAI_LRP_EPSILON, 0.1, 2},
    };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        xai_lrp_opts o;
        assert_int_equal(xai_lrp_composite(&o, want[k].name), XAI_OK);
        assert_close(o.epsilon, want[k].eps, 1e-12);
        assert_close(o.alpha, want[k].alpha, 0);
        assert_close(o.alpha - o.beta, 1, 0);
        xai_lrp *c;
        assert_int_equal(xai_lrp_create(&c, m, &o, 2), XAI_OK);
        assert_int_equal(xai_lrp_layer_rule(c, 0), want[k].r0);
        assert_int_equal(xai_lrp_layer_rule(c, 1), -1);
        assert_int_equal(xai_lrp_layer_rule(c, 2), want[k].r2);
        assert_int_equal(xai_lrp_layer_rule(c, 5), want[k].r5);
        assert_int_equal(xai_lrp_layer_rule(c, 7), want[k].r7);
        /* zbox only where the input's data range is known. */
        assert_int_equal(xai_lrp_set_layer_rule(c, 2, XAI_LRP_ZBOX), XAI_EINVAL);
        assert_int_equal(xai_lrp_set_layer_rule(c, 1, XAI_LRP_FLAT), XAI_EINVAL);
        assert_int_equal(xai_lrp_set_layer_rule(c, 5, XAI_LRP_WSQUARE), XAI_OK);
        assert_int_equal(xai_lrp_layer_rule(c, 5), XAI_LRP_WSQUARE);
        xai_lrp_free(c);
    }
    for (int k = 0; xai_lrp_composite_names[k]; k++) {
        xai_lrp_opts o;
        assert_int_equal(xai_lrp_composite(&o, xai_lrp_composite_names[k]), XAI_OK);
        assert_int_equal(xai_lrp_check(&o), XAI_OK);
    }
    xai_lrp_opts o;
    assert_int_equal(xai_lrp_composite(&o, "lrp-plaid"), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "lrp-plaid"));
    xai_method meth;
    assert_int_equal(xai_method_parse(&meth, "lrp-epsilon:conv=zbox", NULL), XAI_EINVAL);
    assert_int_equal(xai_method_parse(&meth, "lrp-epsilon:eps=-1", NULL), XAI_EINVAL);
    assert_int_equal(xai_method_parse(&meth, "lrp-epsilon:wobble=1", NULL), XAI_EINVAL);
    assert_int_equal(xai_method_parse(&meth, "lrp-epsilon:eps=0.25:bias=ignore", NULL), XAI_OK);
    assert_close(meth.lrp.epsilon, 0.25, 0);
    assert_int_equal(meth.lrp.bias_input, 0);
    xai_model_free(m);
}

/* ------------------------------------------------------------- refresh */

/* After the weights change in place (the randomisation cascade), a refreshed context gives bit
 * for bit what a fresh one gives, for every composite (fused conv + relu + pool, folded batch
 * norm, flat, w^2 and z^B constant responses), a rule set by hand kept. */
static void test_refresh(void **state)
{
    (void)state;
    const char *net = "[model]\ninput = 2x12x12\nclasses = 4\n"
                      "layer = conv out=6 k=3 pad=1 bias=0\nlayer = bn\nlayer = relu\nlayer = maxpool k=2\n"
                      "layer = conv out=8 k=3 pad=1\nlayer = relu\nlayer = maxpool k=2\nlayer = flatten\n"
                      "layer = linear out=9\nlayer = relu\nlayer = linear out=4\n";
    xai_model *m = model_from(net, 4), *other = model_from(net, 1);
    randomize(m, 31, 0.1f, 1);
    randomize(other, 32, 0.1f, 1);
    m->layers[1].rvar[0] = other->layers[1].rvar[0] = 0.5f;
    const int n = 3;
    const size_t isz = xai_shape_size(m->in), np = m->nparams;
    float *x = random_inputs(n * isz, 12, -0.5f, 1.5f), *a0 = malloc(n * isz * sizeof *a0);
    float *a1 = malloc(n * isz * sizeof *a1), *a2 = malloc(n * isz * sizeof *a2);
    float *trained = malloc(np * sizeof *trained);
    memcpy(trained, m->params, np * sizeof *trained);
    const int32_t t[3] = {1, 3, 0};
    static const char *extra[] = {"lrp-flat", "lrp-wsquare", "lrp-zbox", "lrp-gamma", "lrp-0"};
    for (int k = 0; k < 18; k++) {
        const char *name = k < 13 ? xai_lrp_composite_names[k] : extra[k - 13];
        if (!name) continue;
        xai_lrp_opts o;
        assert_int_equal(xai_lrp_composite(&o, name), XAI_OK);
        double r1[3], r2[3];
        xai_lrp *c, *d;
        assert_int_equal(xai_lrp_create(&c, m, &o, 4), XAI_OK);
        assert_int_equal(xai_lrp_set_layer_rule(c, 7, XAI_LRP_WSQUARE), XAI_OK); /* the folded net's middle linear */
        assert_int_equal(xai_lrp_run(c, x, t, n, a0, NULL, NULL), XAI_OK);
        memcpy(m->params, other->params, np * sizeof *trained);
        memcpy(m->buffers, other->buffers, m->nbuffers * sizeof *m->buffers);
        assert_int_equal(xai_lrp_refresh(c, m), XAI_OK);
        assert_int_equal(xai_lrp_run(c, x, t, n, a1, r1, NULL), XAI_OK);
        assert_int_equal(xai_lrp_create(&d, m, &o, 4), XAI_OK);
        assert_int_equal(xai_lrp_set_layer_rule(d, 7, XAI_LRP_WSQUARE), XAI_OK);
        assert_int_equal(xai_lrp_run(d, x, t, n, a2, r2, NULL), XAI_OK);
        if (memcmp(a1, a2, n * isz * sizeof *a1) || memcmp(r1, r2, sizeof r1))
            fail_msg("%s: the refreshed context differs from a fresh one", name);
        assert_true(memcmp(a0, a1, n * isz * sizeof *a0) != 0); /* the new weights matter */
        memcpy(m->params, trained, np * sizeof *trained);
        assert_int_equal(xai_lrp_refresh(c, m), XAI_OK);
        assert_int_equal(xai_lrp_run(c, x, t, n, a1, NULL, NULL), XAI_OK);
        assert_memory_equal(a0, a1, n * isz * sizeof *a0);
        xai_lrp_free(c);
        xai_lrp_free(d);
    }
    /* Only weights may change: a model of another structure is refused. */
    xai_model *small = model_from("[model]\ninput = 2x12x12\nclasses = 4\nlayer = flatten\nlayer = linear out=4\n", 1);
    xai_lrp_opts o;
    xai_lrp *c;
    assert_int_equal(xai_lrp_composite(&o, "lrp-epsilon"), XAI_OK);
    assert_int_equal(xai_lrp_create(&c, m, &o, 2), XAI_OK);
    assert_int_equal(xai_lrp_refresh(c, small), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "refresh"));
    xai_lrp_free(c);
    xai_model_free(small);
    free(x), free(a0), free(a1), free(a2), free(trained);
    xai_model_free(other);
    xai_model_free(m);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_values),      cmocka_unit_test(test_rules_vs_reference), cmocka_unit_test(test_fused_pool_vs_reference),
        cmocka_unit_test(test_lrp0_is_gradient_x_input), cmocka_unit_test(test_conservation),
        cmocka_unit_test(test_alphabeta_split),  cmocka_unit_test(test_gamma_generalised),
        cmocka_unit_test(test_alphabeta_per_slot), cmocka_unit_test(test_bn_canonisation),
        cmocka_unit_test(test_composites),       cmocka_unit_test(test_refresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
