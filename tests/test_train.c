/* test_train.c: the training loop on a tiny net and synthetic data: a run killed (SIGKILL)
 * mid-epoch and resumed ends with the same weights as an uninterrupted one; determinism,
 * the model file's contents, divergence handling and checkpoint mismatches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/h5.h"
#include "trainers/trainers.h"

/* 3 classes of 1x8x8 images: a bright 3x3 blob in the top-left, top-right or bottom half,
 * on uniform noise; learnable in a few epochs by the net below. */
static const char *NET = "[experiment]\nname = tiny\ndataset = mnist\nseed = 5\n"
                         "[model]\ninput = 1x8x8\nclasses = 3\n"
                         "layer = conv out=4 k=3 pad=1\nlayer = bn\nlayer = relu\nlayer = maxpool k=2\n"
                         "layer = dropout p=0.25\nlayer = flatten\nlayer = linear out=3\n";

static const char *SGD = "[train]\nepochs = 3\nbatch = 16\noptimizer = sgd\nmomentum = 0.9\nnesterov = 1\n"
                         "lr = 0.05\nweight_decay = 5e-4\nschedule = onecycle\nwarmup_epochs = 1\n"
                         "val_fraction = 0.2\naugment = crop\ncrop_pad = 1\nflip = 1\nlabel_smoothing = 0.1\n";

static const char *ADAMW = "[train]\nepochs = 3\nbatch = 16\noptimizer = adamw\nlr = 0.01\nweight_decay = 0.01\n"
                           "schedule = cosine\nwarmup_epochs = 0.5\nval_fraction = 0.2\naugment = rrc\n"
                           "min_scale = 0.5\nflip = 1\ngrad_clip = 1\nselect = last\n";

static char tmpdir[256];
static xai_dataset ds;

static void fill_split(xai_split *sp, int n, uint64_t seed)
{
    sp->n = sp->total = n;
    sp->shape = (xai_shape){1, 8, 8};
    sp->images = xai_malloc((size_t)n * 64);
    sp->labels = xai_malloc((size_t)n * sizeof(int32_t));
    xai_rng r;
    xai_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int k = (int)xai_rng_below(&r, 3);
        sp->labels[i] = k;
        uint8_t *im = sp->images + (size_t)i * 64;
        for (int j = 0; j < 64; j++) im[j] = (uint8_t)xai_rng_below(&r, 90);
        int y0 = k == 2 ? 4 + (int)xai_rng_below(&r, 2) : (int)xai_rng_below(&r, 2);
        int x0 = k == 1 ? 4 + (int)xai_rng_below(&r, 2) : k == 0 ? (int)xai_rng_below(&r, 2) : 2 + (int)xai_rng_below(&r, 2);
        for (int y = y0; y < y0 + 3; y++)
            for (int x = x0; x < x0 + 3; x++) im[y * 8 + x] = (uint8_t)(180 + xai_rng_below(&r, 75));
    }
}

static int setup(void **s)
{
    (void)s;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xai-test-train-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    memset(&ds, 0, sizeof ds);
    snprintf(ds.name, sizeof ds.name, "synthetic");
    ds.size = 8;
    ds.nclasses = 3;
    fill_split(&ds.train, 120, 1);
    fill_split(&ds.test, 45, 2);
    ds.mean[0] = 0.25f;
    ds.std[0] = 0.3f;
    snprintf(ds.sha256, sizeof ds.sha256, "%064d", 7);
    snprintf(ds.source, sizeof ds.source, "test_train.c");
    snprintf(ds.path, sizeof ds.path, "synthetic.h5");
    xai_quiet = 1;
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    free(ds.train.images);
    free(ds.train.labels);
    free(ds.test.images);
    free(ds.test.labels);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

static char *tmp(const char *name) { return xai_path_join(tmpdir, name); }

static void load_cfg(xai_config *c, const char *train)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s", NET, train);
    assert_int_equal(xai_config_load_string(c, text, "tiny.ini"), XAI_OK);
}

static xai_status train(const char *train_text, const char *out, int resume, xai_train_result *r,
                        int (*hook)(void *, int, int), void *ctx)
{
    xai_config c;
    load_cfg(&c, train_text);
    xai_train_opts o;
    memset(&o, 0, sizeof o);
    o.out = out;
    o.resume = resume;
    o.on_batch = hook;
    o.hook_ctx = ctx;
    xai_status s = xai_train(&c, &ds, &o, r);
    xai_config_free(&c);
    return s;
}

/* Weights, batchnorm statistics and normalisation of two model files must be the same bits. */
static void assert_same_model(const char *a, const char *b)
{
    xai_model *ma, *mb;
    assert_int_equal(xai_model_load(&ma, a, 1), XAI_OK);
    assert_int_equal(xai_model_load(&mb, b, 1), XAI_OK);
    assert_int_equal(ma->nparams, mb->nparams);
    assert_memory_equal(ma->params, mb->params, ma->nparams * sizeof(float));
    assert_memory_equal(ma->buffers, mb->buffers, ma->nbuffers * sizeof(float));
    assert_memory_equal(ma->mean, mb->mean, sizeof ma->mean);
    xai_model_free(ma);
    xai_model_free(mb);
}

static void read_history(const char *path, double *h /* (rows, 7) */, int rows)
{
    hid_t f;
    assert_int_equal(xai_h5_open(&f, path, 0), XAI_OK);
    uint64_t d[2] = {(uint64_t)rows, XAI_HIST_COLS};
    assert_int_equal(xai_h5_read(f, "/train/history", H5T_NATIVE_DOUBLE, h, 2, d, path), XAI_OK);
    H5Fclose(f);
}

static void assert_same_history(const char *a, const char *b)
{
    double ha[3 * XAI_HIST_COLS], hb[3 * XAI_HIST_COLS];
    read_history(a, ha, 3);
    read_history(b, hb, 3);
    for (int e = 0; e < 3; e++)
        for (int k = 0; k < XAI_HIST_COLS; k++)
            if (k != XAI_HIST_SECONDS && memcmp(&ha[e * XAI_HIST_COLS + k], &hb[e * XAI_HIST_COLS + k], sizeof(double)))
                fail_msg("history epoch %d column %d: %.17g vs %.17g", e + 1, k, ha[e * XAI_HIST_COLS + k],
                         hb[e * XAI_HIST_COLS + k]);
}

static int64_t ckpt_epoch(const char *ckpt)
{
    hid_t f;
    int64_t ep = -1;
    assert_int_equal(xai_h5_open(&f, ckpt, 0), XAI_OK);
    hid_t g = H5Gopen2(f, "/checkpoint", H5P_DEFAULT);
    assert_true(g >= 0);
    assert_int_equal(xai_h5_get_i64(g, "epoch", &ep), XAI_OK);
    H5Gclose(g);
    H5Fclose(f);
    return ep;
}

/* The child announces that it is in the middle of epoch 2 and waits to be killed. */
static int wait_for_kill(void *ctx, int epoch, int batch)
{
    int fd = *(int *)ctx;
    if (epoch == 1 && batch == 2) {
        char c = 'k';
        if (write(fd, &c, 1) != 1) _exit(4);
        for (;;) pause();
    }
    return 0;
}

/* Runs first: the forked child must start before this process has any OpenMP thread pool. */
static void test_sigkill_then_resume(void **s)
{
    (void)s;
    char *killed = tmp("killed.h5"), *full = tmp("full.h5"), *ckpt = xai_train_ckpt_path(killed);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        xai_status st = train(SGD, killed, 0, NULL, wait_for_kill, &fds[1]);
        _exit(st == XAI_OK ? 2 : 3); /* reaching here means the hook never fired */
    }
    close(fds[1]);
    char c = 0;
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* Killed mid-epoch 2: the checkpoint of epoch 1 is there, the model file is not. */
    assert_true(xai_file_exists(ckpt));
    assert_false(xai_file_exists(killed));
    assert_int_equal(ckpt_epoch(ckpt), 1);

    xai_train_result rk, rf;
    assert_int_equal(train(SGD, killed, 1, &rk, NULL, NULL), XAI_OK);
    assert_int_equal(rk.resumed_from, 1);
    assert_false(xai_file_exists(ckpt)); /* removed once the model file is written */
    assert_int_equal(train(SGD, full, 0, &rf, NULL, NULL), XAI_OK);
    assert_int_equal(rf.resumed_from, 0);
    assert_same_model(killed, full);
    assert_same_history(killed, full);
    assert_memory_equal(&rk.test_acc, &rf.test_acc, sizeof(double));
    assert_int_equal(rk.best_epoch, rf.best_epoch);
    free(killed);
    free(full);
    free(ckpt);
}

/* In-process stop (as a kill would: nothing written) after 2 batches of epoch 2, for Adam/AdamW
 * state, cosine warm-up, random-resized crops and gradient clipping. */
static int stop_mid_epoch(void *ctx, int epoch, int batch)
{
    (void)ctx;
    return epoch == 1 && batch == 1;
}

static void test_resume_adamw(void **s)
{
    (void)s;
    char *a = tmp("adamw-stopped.h5"), *b = tmp("adamw-full.h5"), *ckpt = xai_train_ckpt_path(a);
    assert_int_equal(train(ADAMW, a, 0, NULL, stop_mid_epoch, NULL), XAI_ESTATE);
    assert_false(xai_file_exists(a));
    assert_int_equal(ckpt_epoch(ckpt), 1);
    assert_int_equal(train(ADAMW, a, 1, NULL, NULL, NULL), XAI_OK);
    assert_int_equal(train(ADAMW, b, 0, NULL, NULL, NULL), XAI_OK);
    assert_same_model(a, b);
    assert_same_history(a, b);
    free(a);
    free(b);
    free(ckpt);
}

static void test_determinism_and_seed(void **s)
{
    (void)s;
    char *a = tmp("det-a.h5"), *b = tmp("det-b.h5"), *c = tmp("det-c.h5");
    assert_int_equal(train(SGD, a, 0, NULL, NULL, NULL), XAI_OK);
    assert_int_equal(train(SGD, b, 0, NULL, NULL, NULL), XAI_OK);
    assert_same_model(a, b);
    /* Another seed must give other weights. */
    xai_config cfg;
    load_cfg(&cfg, SGD);
    xai_train_opts o;
    memset(&o, 0, sizeof o);
    o.out = c;
    o.have_seed = 1;
    o.seed = 6;
    assert_int_equal(xai_train(&cfg, &ds, &o, NULL), XAI_OK);
    xai_config_free(&cfg);
    xai_model *ma, *mc;
    assert_int_equal(xai_model_load(&ma, a, 1), XAI_OK);
    assert_int_equal(xai_model_load(&mc, c, 1), XAI_OK);
    assert_true(memcmp(ma->params, mc->params, ma->nparams * sizeof(float)) != 0);
    xai_model_free(ma);
    xai_model_free(mc);
    free(a);
    free(b);
    free(c);
}

static void test_model_file(void **s)
{
    (void)s;
    char *out = tmp("file.h5");
    xai_train_result r;
    assert_int_equal(train(SGD, out, 0, &r, NULL, NULL), XAI_OK);
    assert_int_equal(r.ntrain, 96);
    assert_int_equal(r.nval, 24);
    assert_int_equal(r.ntest, 45);
    /* The blobs are easy: far above chance (1/3) after 3 epochs. */
    assert_true(r.test_acc >= 0.8);
    assert_true(r.best_epoch >= 1 && r.best_epoch <= 3);
    xai_model *m;
    assert_int_equal(xai_model_load(&m, out, 4), XAI_OK);
    assert_float_equal(m->mean[0], 0.25, 1e-7);
    assert_float_equal(m->std[0], 0.3, 1e-7);
    xai_model_free(m);

    hid_t f;
    assert_int_equal(xai_h5_open(&f, out, 0), XAI_OK);
    hid_t g = H5Gopen2(f, "/train", H5P_DEFAULT);
    assert_true(g >= 0);
    char buf[4096];
    int64_t v;
    double d;
    assert_int_equal(xai_h5_get_str(g, "format", buf, sizeof buf), XAI_OK);
    assert_string_equal(buf, "xai-train-1");
    assert_int_equal(xai_h5_get_str(g, "config_text", buf, sizeof buf), XAI_OK);
    assert_non_null(strstr(buf, "nesterov = 1"));
    assert_int_equal(xai_h5_get_str(g, "dataset_sha256", buf, sizeof buf), XAI_OK);
    assert_string_equal(buf, ds.sha256);
    assert_int_equal(xai_h5_get_str(g, "program_version", buf, sizeof buf), XAI_OK);
    assert_string_equal(buf, xai_version());
    assert_int_equal(xai_h5_get_i64(g, "seed", &v), XAI_OK);
    assert_int_equal(v, 5);
    assert_int_equal(xai_h5_get_i64(g, "threads", &v), XAI_OK);
    assert_int_equal(v, xai_threads());
    assert_int_equal(xai_h5_get_f64(g, "final_test_acc", &d), XAI_OK);
    assert_memory_equal(&d, &r.test_acc, sizeof d);
    assert_int_equal(xai_h5_get_f64(g, "final_val_acc", &d), XAI_OK);
    assert_memory_equal(&d, &r.val_acc, sizeof d);
    assert_int_equal(xai_h5_get_f64(g, "train_seconds", &d), XAI_OK);
    assert_true(d > 0);
    H5Gclose(g);
    H5Fclose(f);
    double h[3 * XAI_HIST_COLS];
    read_history(out, h, 3);
    for (int e = 0; e < 3; e++) {
        assert_int_equal((int)h[e * XAI_HIST_COLS + XAI_HIST_EPOCH], e + 1);
        assert_true(h[e * XAI_HIST_COLS + XAI_HIST_LR] > 0);
        assert_true(h[e * XAI_HIST_COLS + XAI_HIST_VAL_ACC] >= 0 && h[e * XAI_HIST_COLS + XAI_HIST_VAL_ACC] <= 1);
    }
    /* The kept epoch is the one with the best val accuracy (ties: the latest). */
    int best = 0;
    for (int e = 1; e < 3; e++)
        if (h[e * XAI_HIST_COLS + XAI_HIST_VAL_ACC] >= h[best * XAI_HIST_COLS + XAI_HIST_VAL_ACC]) best = e;
    assert_int_equal(r.best_epoch, best + 1);
    assert_memory_equal(&r.val_acc, &h[best * XAI_HIST_COLS + XAI_HIST_VAL_ACC], sizeof(double));
    /* One-cycle: the first epoch ends at the peak lr, the last near zero. */
    assert_float_equal(h[XAI_HIST_LR], 0.05, 1e-12);
    assert_true(h[2 * XAI_HIST_COLS + XAI_HIST_LR] < 1e-5);
    free(out);
}

static void test_divergence_keeps_checkpoint(void **s)
{
    (void)s;
    /* lr jumps by 1e30 after epoch 1: the loss overflows in epoch 2. */
    char *out = tmp("nan.h5"), *ckpt = xai_train_ckpt_path(out);
    const char *t = "[train]\nepochs = 3\nbatch = 16\noptimizer = sgd\nlr = 0.05\nschedule = step\nmilestones = 1\n"
                    "gamma = 1e30\nval_fraction = 0.2\n";
    xai_status st = train(t, out, 0, NULL, NULL, NULL);
    if (st != XAI_ESTATE) fail_msg("status %d: %s", st, xai_errmsg());
    assert_non_null(strstr(xai_errmsg(), "diverged"));
    assert_non_null(strstr(xai_errmsg(), "epoch 2"));
    assert_non_null(strstr(xai_errmsg(), "last good checkpoint"));
    assert_false(xai_file_exists(out));
    assert_int_equal(ckpt_epoch(ckpt), 1);
    /* The kept checkpoint is a loadable model with finite weights. */
    xai_model *m;
    assert_int_equal(xai_model_load(&m, ckpt, 1), XAI_OK);
    for (size_t i = 0; i < m->nparams; i++) assert_true(isfinite(m->params[i]));
    xai_model_free(m);
    /* Diverging before any checkpoint says so. */
    const char *t2 = "[train]\nepochs = 2\nbatch = 16\noptimizer = sgd\nlr = 1e6\nval_fraction = 0.2\n";
    char *out2 = tmp("nan2.h5"), *ckpt2 = xai_train_ckpt_path(out2);
    assert_int_equal(train(t2, out2, 0, NULL, NULL, NULL), XAI_ESTATE);
    assert_non_null(strstr(xai_errmsg(), "diverged"));
    assert_non_null(strstr(xai_errmsg(), "before the first checkpoint"));
    assert_false(xai_file_exists(out2));
    assert_false(xai_file_exists(ckpt2));
    free(out);
    free(ckpt);
    free(out2);
    free(ckpt2);
}

static void test_resume_mismatch(void **s)
{
    (void)s;
    char *out = tmp("mismatch.h5"), *ckpt = xai_train_ckpt_path(out);
    assert_int_equal(train(SGD, out, 0, NULL, stop_mid_epoch, NULL), XAI_ESTATE);
    assert_true(xai_file_exists(ckpt));
    /* Another [train] section: refuse to continue, name the checkpoint. */
    assert_int_equal(train(ADAMW, out, 1, NULL, NULL, NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "belongs to another run"));
    assert_non_null(strstr(xai_errmsg(), ckpt));
    assert_false(xai_file_exists(out));
    /* A corrupt checkpoint is an error, not a crash. */
    assert_int_equal(xai_write_file_atomic(ckpt, "not hdf5", 8), XAI_OK);
    assert_int_equal(train(SGD, out, 1, NULL, NULL, NULL), XAI_EFORMAT);
    /* Without --resume the old checkpoint is simply replaced. */
    assert_int_equal(train(SGD, out, 0, NULL, NULL, NULL), XAI_OK);
    assert_true(xai_file_exists(out));
    free(out);
    free(ckpt);
}

static void test_bad_inputs(void **s)
{
    (void)s;
    xai_config c;
    char text[2048];
    snprintf(text, sizeof text, "%s", NET);
    /* A net for 3 channels does not fit 1-channel images. */
    char *p = strstr(text, "1x8x8");
    p[0] = '3';
    strcat(text, SGD);
    assert_int_equal(xai_config_load_string(&c, text, "rgb.ini"), XAI_OK);
    xai_train_opts o;
    memset(&o, 0, sizeof o);
    char *out = tmp("bad.h5");
    o.out = out;
    assert_int_equal(xai_train(&c, &ds, &o, NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "input = 3x8x8"));
    xai_config_free(&c);
    /* A label outside [0, classes) is reported, not used as an index. */
    int32_t keep = ds.train.labels[7];
    ds.train.labels[7] = 3;
    load_cfg(&c, SGD);
    assert_int_equal(xai_train(&c, &ds, &o, NULL), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "label 3 of image 7"));
    ds.train.labels[7] = keep;
    xai_config_free(&c);
    assert_false(xai_file_exists(out));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_then_resume), cmocka_unit_test(test_resume_adamw),
        cmocka_unit_test(test_determinism_and_seed), cmocka_unit_test(test_model_file),
        cmocka_unit_test(test_divergence_keeps_checkpoint), cmocka_unit_test(test_resume_mismatch),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
