/* test_predict.c: the cost model's arithmetic (experiments/predict.c) on a tiny net: work counted
 * from the counts of a stage (images, methods, steps, metric parameters, epochs) times the net's
 * FLOP, divided by given rates. Golden values by hand; no timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base.h"
#include "core/config.h"
#include "core/nn.h"
#include "experiments/predict.h"
#include "explainers/faith.h"

/* 1x4x4 input, conv 2x3x3 (2 x 18 weights x 2x2 outputs = 144 FLOP), linear 8 -> 3 (48 FLOP). */
static const char *TINY = "[experiment]\nname = tiny\ndataset = mnist\nseed = 1\n"
                          "[model]\ninput = 1x4x4\nclasses = 3\nlayer = conv out=2 k=3\nlayer = relu\n"
                          "layer = flatten\nlayer = linear out=3\n";
#define F 192.0

static xai_model *tiny(void)
{
    xai_config c;
    xai_model *m = NULL;
    assert_int_equal(xai_config_load_string(&c, TINY, "tiny.ini"), XAI_OK);
    assert_int_equal(xai_model_from_config(&m, &c, 8), XAI_OK);
    xai_config_free(&c);
    xai_model_init(m, 1);
    return m;
}

static double amount(const xai_work *w, const char *kind)
{
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->kind[i], kind)) return w->amount[i];
    return 0;
}

static void methods(xai_method **meth, int *nm, const char *list)
{
    assert_int_equal(xai_method_parse_list(meth, nm, list, NULL), XAI_OK);
}

static void test_flops(void **state)
{
    (void)state;
    xai_model *m = tiny();
    assert_float_equal(xai_model_flops(m, NULL), F, 0);
    xai_model_free(m);
}

/* counts x FLOP / rate, summed over the kinds */
static void test_explain(void **state)
{
    (void)state;
    xai_model *m = tiny();
    xai_method *meth;
    int nm;
    methods(&meth, &nm, "ig:steps=3,gradient,smoothgrad:samples=4,random");
    xai_work w = {0};
    assert_int_equal(xai_work_explain(&w, m, meth, nm, 5), XAI_OK);
    assert_float_equal(amount(&w, "infer"), 5 * F, 1e-9);
    assert_float_equal(amount(&w, "ig"), 2 * F * 3 * 5 + 2 * F * 4 * 5, 1e-9); /* IG steps, SmoothGrad samples */
    assert_float_equal(amount(&w, "gxi"), 2 * F * 5, 1e-9);
    assert_int_equal(w.n, 3); /* random costs nothing */
    xai_rates r = {0};
    xai_rates_set(&r, "infer", 4);
    xai_rates_set(&r, "ig", 2);
    xai_rates_set(&r, "gxi", 1);
    char why[200];
    const double want = 5 * F / 4e9 + 70 * F / 2e9 + 10 * F / 1e9;
    assert_float_equal(xai_predict_seconds(&w, &r, why, sizeof why), want, want * 1e-12);
    assert_string_equal(why, "");
    /* a kind without a rate: no prediction, and the reason names it */
    xai_rates r2 = {0};
    xai_rates_set(&r2, "infer", 4);
    assert_true(xai_predict_seconds(&w, &r2, why, sizeof why) < 0);
    assert_non_null(strstr(why, "'ig'"));
    free(meth);
    xai_model_free(m);
}

static void test_train(void **state)
{
    (void)state;
    xai_model *m = tiny();
    xai_work w = {0};
    /* 100 / 32 = 3 full batches an epoch (the remainder is dropped), 2 epochs; 10 val an epoch, 20 test */
    xai_work_train(&w, m, 2, 100, 10, 20, 32);
    assert_float_equal(amount(&w, "train"), 3 * F * 2 * 3 * 32, 1e-9);
    assert_float_equal(amount(&w, "infer"), F * (2 * 10 + 20), 1e-9);
    xai_rates r = {0};
    xai_rates_set(&r, "train", 3);
    xai_rates_set(&r, "infer", 5);
    const double want = 3 * F * 192 / 3e9 + F * 40 / 5e9;
    assert_float_equal(xai_predict_seconds(&w, &r, NULL, 0), want, want * 1e-12);
    xai_model_free(m);
}

static void tiny_eval_opts(xai_eval_opts *o)
{
    xai_eval_defaults(o);
    o->n = 4, o->batch = 8;
    o->flip.patch = 1, o->flip.steps = 4, o->flip.fraction = 0.5; /* 16 features, 8 removed in 4 steps of 2 */
    o->faith.which = (1u << XAI_FM_INSDEL) | (1u << XAI_FM_ROAD) | (1u << XAI_FM_SENSN) | (1u << XAI_FM_RANDLOGIT);
    o->faith.insdel_steps = 4; /* 16 features in 4 steps of 4 */
    o->faith.sensn_runs = 3;   /* n = 1, 2, 4, 8: 4 sizes below 16 features */
    o->faith.randlogit_n = 2;
    o->sanity = 1, o->sanity_n = 3;
}

static void test_evaluate(void **state)
{
    (void)state;
    xai_model *m = tiny();
    xai_method *meth;
    int nm;
    methods(&meth, &nm, "gradient,random");
    xai_eval_opts o;
    tiny_eval_opts(&o);
    xai_work w = {0};
    assert_int_equal(xai_work_evaluate(&w, m, &o, meth, nm, 10, -1), XAI_OK);
    assert_float_equal(amount(&w, "pixelflip"), F * 4 * (1 + 5 * 4), 1e-9); /* step 0, random, 2 x 2 orders */
    assert_float_equal(amount(&w, "insdel"), F * 4 * (2 + 2 * 2 * 4), 1e-9);
    assert_float_equal(amount(&w, "road"), F * 4 * (1 + 2 * 2 * XAI_ROAD_LEVELS), 1e-9);
    assert_float_equal(amount(&w, "road-impute"), 4 * 2 * 2 * XAI_ROAD_LEVELS, 1e-9);
    assert_float_equal(amount(&w, "sensn"), F * 4 * 3 * 4, 1e-9);
    assert_float_equal(amount(&w, "infer"), F * (4 + 4 * 8 + 4), 1e-9); /* model check, rate, f(x) */
    /* randomisation: 1 + 2 weighted layers x 3 images; random-logit: 2 x 2; only gradient costs, and
     * it explains with explain's folded net (its rate gxi), not the net as evaluate loads it */
    assert_float_equal(amount(&w, "gxi"), 2 * F * (3 * 3 + 2 * 2), 1e-9);
    assert_float_equal(amount(&w, "ig-unfolded"), 0, 0);
    /* maps compared, random's too: 2 methods x (3 steps x 3 images + 2 random-logit images) */
    assert_float_equal(amount(&w, "similarity"), 2 * (3 * 3 + 2), 1e-9);
    assert_string_equal(w.missing, "");
    xai_rates r = {0};
    const char *kinds[] = {"pixelflip", "insdel", "road", "sensn", "infer", "gxi"};
    for (int k = 0; k < 6; k++) xai_rates_set(&r, kinds[k], 1 + k);
    xai_rates_set(&r, "road-impute", 36); /* imputations a second */
    xai_rates_set(&r, "similarity", 11);  /* comparisons a second */
    double want = 4 + 2;                  /* 144 imputations at 36 a second, 22 comparisons at 11 */
    for (int k = 0; k < 6; k++) want += amount(&w, kinds[k]) / ((1 + k) * 1e9);
    assert_float_equal(xai_predict_seconds(&w, &r, NULL, 0), want, want * 1e-12);
    free(meth);
    xai_model_free(m);
}

/* Max-sensitivity explains again with explain's folded net: IG's and SmoothGrad's gradient passes at
 * explain's rate ig (not ig-unfolded), LRP at its composite's own (it folds the net it is given). */
static void test_reexplain_net(void **state)
{
    (void)state;
    xai_model *m = tiny();
    xai_method *meth;
    int nm;
    methods(&meth, &nm, "ig:steps=3,smoothgrad:samples=2,lrp-epsilon");
    xai_eval_opts o;
    xai_eval_defaults(&o);
    o.faith.which = 1u << XAI_FM_MAXSENS, o.faith.maxsens_n = 2, o.faith.maxsens_runs = 4, o.batch = 8;
    xai_work w = {0};
    assert_int_equal(xai_work_evaluate(&w, m, &o, meth, nm, 5, -1), XAI_OK);
    /* 2 images x (4 runs + the image itself) x (3 IG steps + 2 samples) */
    assert_float_equal(amount(&w, "ig"), 2 * F * 2 * 5 * (3 + 2), 1e-9);
    assert_float_equal(amount(&w, "ig-unfolded"), 0, 0);
    assert_true(amount(&w, "lrp-epsilon") > 0);
    assert_float_equal(amount(&w, "similarity"), 0, 0); /* max-sensitivity takes distances, not similarities */
    /* explain runs the same methods on its folded net */
    memset(&w, 0, sizeof w);
    assert_int_equal(xai_work_explain(&w, m, meth, nm, 2), XAI_OK);
    assert_float_equal(amount(&w, "ig"), 2 * F * 2 * (3 + 2), 1e-9);
    assert_float_equal(amount(&w, "ig-unfolded"), 0, 0);
    free(meth);
    xai_model_free(m);
}

/* The IG curve: rules x steps on ig-n images; exact IG counted from its regions, or missing. */
static void test_ig_curve(void **state)
{
    (void)state;
    xai_model *m = tiny();
    xai_method *meth;
    int nm;
    methods(&meth, &nm, "ig,gradient");
    xai_eval_opts o;
    xai_eval_defaults(&o);
    o.faith.which = 0, o.batch = 8, o.flip.steps = 4;
    o.ig_curve = 1, o.ig_n = 3, o.ig_exact_n = 2;
    o.nig_steps = 2, o.ig_steps[0] = 4, o.ig_steps[1] = 8;
    o.nig_rules = 2, o.ig_rules[0] = XAI_QUAD_MIDPOINT, o.ig_rules[1] = XAI_QUAD_GAUSS;
    xai_work w = {0};
    assert_int_equal(xai_work_evaluate(&w, m, &o, meth, nm, 5, -1), XAI_OK);
    assert_non_null(strstr(w.missing, "exact IG"));
    assert_true(xai_predict_seconds(&w, &(xai_rates){0}, NULL, 0) < 0);
    memset(&w, 0, sizeof w);
    assert_int_equal(xai_work_evaluate(&w, m, &o, meth, nm, 5, 1000), XAI_OK);
    assert_string_equal(w.missing, "");
    assert_float_equal(amount(&w, "exact"), 2 * F * 1000, 1e-9);
    /* 3 images x 2 rules x (4 + 8) steps, and the held-out midpoint run at 4096 steps on the 2 exact
     * images, all on explain's folded net (evaluate's fm) */
    assert_float_equal(amount(&w, "ig"), 2 * F * (3 * 2 * 12 + 4096 * 2), 1e-9);
    assert_float_equal(amount(&w, "ig-unfolded"), 0, 0);
    /* left and right at 4 and 8 steps share their nodes: the 9 points j/8 an image, not 24 (no
     * held-out run without midpoint) */
    o.ig_rules[0] = XAI_QUAD_LEFT, o.ig_rules[1] = XAI_QUAD_RIGHT;
    memset(&w, 0, sizeof w);
    assert_int_equal(xai_work_evaluate(&w, m, &o, meth, nm, 5, 1000), XAI_OK);
    assert_float_equal(amount(&w, "ig"), 2 * F * 3 * 9, 1e-9);
    free(meth);
    xai_model_free(m);
}

static void test_rates_text(void **state)
{
    (void)state;
    xai_rates r = {0}, back;
    xai_rates_set(&r, "train", 229.5);
    xai_rates_set(&r, "lrp-epsilon", 180.25);
    xai_rates_set(&r, "train", 230); /* set again: replaced */
    assert_int_equal(r.n, 2);
    xai_sbuf b = {0};
    xai_rates_format(&b, "00000000000000aa", &r);
    xai_rates_format(&b, "00000000000000bb", &(xai_rates){.n = 1, .kind = {"infer"}, .rate = {7}});
    assert_int_equal(xai_rates_parse(b.s, "00000000000000aa", &back), 1);
    assert_int_equal(back.n, 2);
    assert_float_equal(xai_rates_get(&back, "train"), 230, 1e-9);
    assert_float_equal(xai_rates_get(&back, "lrp-epsilon"), 180.25, 1e-9);
    assert_true(xai_rates_get(&back, "ig") < 0);
    assert_int_equal(xai_rates_parse(b.s, "00000000000000bb", &back), 1);
    assert_float_equal(xai_rates_get(&back, "infer"), 7, 0);
    assert_int_equal(xai_rates_parse(b.s, "00000000000000cc", &back), 0);
    assert_int_equal(xai_rates_parse("rates 00000000000000aa\ntrain -1\nend\n", "00000000000000aa", &back), 0);
    xai_sbuf_free(&b);
}

/* Stages that move files have no model; the reason comes back as the error. */
static void test_unmodelled(void **state)
{
    (void)state;
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, TINY, "tiny.ini"), XAI_OK);
    char *argv[] = {"xai", "--threads=2", "fetch", "mnist", NULL};
    const xai_stage_cmd cmd = {&c, 4, argv, 0, NULL, NULL};
    xai_work w;
    assert_int_equal(xai_stage_work_of(&w, &cmd, -1), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "fetch"));
    xai_clear_error();
    xai_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flops),      cmocka_unit_test(test_explain),    cmocka_unit_test(test_train),
        cmocka_unit_test(test_evaluate),   cmocka_unit_test(test_ig_curve),   cmocka_unit_test(test_rates_text),
        cmocka_unit_test(test_unmodelled), cmocka_unit_test(test_reexplain_net),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
