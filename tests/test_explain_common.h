/* test_explain_common.h: helpers shared by the explainer tests (IG, LRP, baselines):
 * small nets from config text, non-homogeneous random weights, random inputs, double asserts. */
#ifndef XAI_TEST_EXPLAIN_COMMON_H
#define XAI_TEST_EXPLAIN_COMMON_H

/* cmocka's assert_float_equal compares floats; these checks need doubles. */
#define assert_close(a, b, tol)                                                                              \
    do {                                                                                                 \
        double a_ = (a), b_ = (b), t_ = (tol);                                                           \
        if (!(fabs(a_ - b_) <= t_)) fail_msg("%s = %.17g, expected %.17g (tolerance %g)", #a, a_, b_, t_); \
    } while (0)

static inline xai_model *model_from(const char *text, int max_batch)
{
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, text, "test.ini"), XAI_OK);
    xai_model *m = NULL;
    xai_status s = xai_model_from_config(&m, &c, max_batch);
    if (s != XAI_OK) fail_msg("%s", xai_errmsg());
    xai_config_free(&c);
    return m;
}

/* Weights from xai_model_init plus random biases of scale `bias` (batchnorm shifts too
 * when bn_too): a net that is not positively homogeneous. */
static inline void randomize(xai_model *m, uint64_t seed, float bias, int bn_too)
{
    xai_model_init(m, seed);
    xai_rng r;
    xai_rng_seed(&r, seed + 7);
    for (int i = 0; i < m->nlayers; i++)
        if (bn_too || m->layers[i].type != XAI_BATCHNORM2D)
            for (size_t j = 0; j < m->layers[i].nb; j++) m->layers[i].b[j] = bias * xai_rng_normal(&r);
}

static inline float *random_inputs(size_t n, uint64_t seed, float lo, float hi)
{
    float *x = malloc(n * sizeof *x);
    xai_rng r;
    xai_rng_seed(&r, seed);
    for (size_t j = 0; j < n; j++) x[j] = lo + (hi - lo) * xai_rng_uniform(&r);
    return x;
}

#endif
