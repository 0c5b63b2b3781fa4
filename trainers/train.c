/* train.c: the from-scratch training loop: seeded shuffling and augmentation, held-out
 * validation, per-epoch atomic checkpoints with exact resume, and the trained-model file. */
#include "core/h5.h"
#include "trainers/trainers.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CKPT_FORMAT "xai-checkpoint-1"
#define TRAIN_FORMAT "xai-train-1"
/* The held-out validation images are a fixed function of the training-split size and
 * val_fraction, so that runs with different seeds are selected on the same images. */
#define VAL_SPLIT_SEED 0x76616c73706c6974ull

char *xai_train_ckpt_path(const char *out)
{
    size_t n = strlen(out) + 16;
    char *p = xai_malloc(n);
    snprintf(p, n, "%s.ckpt.h5", out);
    return p;
}

/* Everything a checkpoint must restore for the continuation to be bit-identical. */
typedef struct {
    xai_model *m;
    xai_optim opt;
    xai_rng rng;        /* shuffling and augmentation stream, at an epoch boundary */
    int epoch;          /* completed epochs */
    int64_t step;       /* optimiser steps taken */
    double *hist;       /* (epochs, XAI_HIST_COLS) */
    float *best_params; /* (nparams) */
    float *best_buffers;/* (nbuffers) */
    int best_epoch;     /* 1-based; 0: none yet */
    double best_val_acc;
    double seconds;     /* training wall time of all runs so far */
} run_state;

/* FNV-1a over the entries that decide the trained weights ([experiment], [model], [train]),
 * so that adding [explain]/[evaluate] settings later does not orphan a checkpoint. */
static uint64_t train_hash(const xai_config *c)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < c->n; i++) {
        const char *sec = c->e[i].section;
        if (strcmp(sec, "experiment") && strcmp(sec, "model") && strcmp(sec, "train")) continue;
        const char *parts[3] = {sec, c->e[i].key, c->e[i].value};
        for (int k = 0; k < 3; k++) {
            for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
            h = (h ^ 0x1f) * 0x100000001b3ull;
        }
    }
    return h;
}

double xai_train_xent(const float *z, const int32_t *y, int n, int k, double eps, float *dz, int *correct)
{
    double loss = 0;
    int ok = 0;
    const double off = eps / k, on = 1 - eps + off;
    for (int i = 0; i < n; i++) {
        const float *zi = z + (size_t)i * k;
        int am = 0;
        for (int j = 1; j < k; j++)
            if (zi[j] > zi[am]) am = j;
        ok += am == y[i];
        double mx = zi[am], s = 0, sz = 0;
        for (int j = 0; j < k; j++) s += exp((double)zi[j] - mx), sz += zi[j];
        double lse = mx + log(s);
        /* -sum_j t_j log p_j with log p_j = z_j - lse and sum_j t_j = 1 */
        loss += lse - (1 - eps) * zi[y[i]] - off * sz;
        for (int j = 0; j < k; j++)
            dz[(size_t)i * k + j] = (float)((exp(zi[j] - lse) - (j == y[i] ? on : off)) / n);
    }
    if (correct) *correct = ok;
    return loss / n;
}

static int all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* Loss and accuracy of the net in inference mode on images idx (NULL: 0..n-1) of a split. */
static void evaluate(xai_model *m, const xai_split *sp, const int32_t *idx, int n, const xai_normalizer *nz,
                     const uint8_t **ptrs, int32_t *ybuf, double *loss, double *acc)
{
    const size_t isz = xai_shape_size(sp->shape);
    double lsum = 0;
    long correct = 0;
    m->train = 0;
    for (int b = 0; b < n; b += m->max_batch) {
        int nb = n - b < m->max_batch ? n - b : m->max_batch;
        for (int i = 0; i < nb; i++) {
            int j = idx ? idx[b + i] : b + i;
            ptrs[i] = sp->images + (size_t)j * isz;
            ybuf[i] = sp->labels[j];
        }
        xai_normalize_batch(m->acts[0], ptrs, nb, sp->shape, nz);
        float *logits = xai_model_forward(m, m->acts[0], nb);
        int c;
        lsum += xai_softmax_xent(logits, ybuf, nb, m->nclasses, NULL, &c) * nb;
        correct += c;
    }
    *loss = n ? lsum / n : NAN;
    *acc = n ? (double)correct / n : NAN;
}

/* ------------------------------------------------------------ checkpoints */

static xai_status write_hist(hid_t loc, const double *hist, int rows)
{
    uint64_t d[2] = {(uint64_t)rows, XAI_HIST_COLS};
    XAI_TRY(xai_h5_write(loc, "history", H5T_NATIVE_DOUBLE, hist, 2, d));
    hid_t ds = H5Dopen2(loc, "history", H5P_DEFAULT);
    xai_status s = xai_h5_attr_str(ds, "columns", XAI_HIST_COLUMNS);
    H5Dclose(ds);
    return s;
}

/* fsync so that a crash of the machine (not only of the process) cannot leave the rename
 * pointing at unwritten blocks. */
static void sync_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static xai_status ckpt_write(const char *path, const run_state *st, const char *signature)
{
    const xai_model *m = st->m;
    xai_h5file f;
    XAI_TRY(xai_h5_create(&f, path));
    xai_status s = xai_model_save_to(m, f.id);
    hid_t g = s == XAI_OK ? xai_h5_group(f.id, "/checkpoint") : -1;
    if (s == XAI_OK && g < 0) s = xai_fail(XAI_EIO, "%s: cannot create group /checkpoint", f.tmp);
    uint64_t np[1] = {m->nparams}, nb[1] = {m->nbuffers}, nr[1] = {4};
    if (s == XAI_OK) s = xai_h5_attr_str(g, "format", CKPT_FORMAT);
    if (s == XAI_OK) s = xai_h5_attr_str(g, "signature", signature);
    if (s == XAI_OK) s = xai_h5_attr_i64(g, "epoch", st->epoch);
    if (s == XAI_OK) s = xai_h5_attr_i64(g, "step", st->step);
    if (s == XAI_OK) s = xai_h5_attr_i64(g, "model_step", (int64_t)m->step);
    if (s == XAI_OK) s = xai_h5_attr_i64(g, "model_seed", (int64_t)m->seed);
    if (s == XAI_OK) s = xai_h5_attr_i64(g, "best_epoch", st->best_epoch);
    if (s == XAI_OK) s = xai_h5_attr_f64(g, "best_val_acc", st->best_val_acc);
    if (s == XAI_OK) s = xai_h5_attr_f64(g, "train_seconds", st->seconds);
    if (s == XAI_OK) s = xai_h5_attr_str(g, "optimizer", xai_optim_name(st->opt.cfg.type));
    if (s == XAI_OK) s = xai_h5_attr_i64(g, "optimizer_t", st->opt.t);
    if (s == XAI_OK) s = xai_h5_attr_str(g, "program_version", xai_version());
    if (s == XAI_OK) s = xai_h5_write(g, "rng_state", H5T_NATIVE_UINT64, st->rng.s, 1, nr);
    if (s == XAI_OK) s = xai_h5_write_f32(g, "optimizer_m1", st->opt.m1, 1, np);
    if (s == XAI_OK && st->opt.m2) s = xai_h5_write_f32(g, "optimizer_m2", st->opt.m2, 1, np);
    if (s == XAI_OK) s = xai_h5_write_f32(g, "best_params", st->best_params, 1, np);
    if (s == XAI_OK && m->nbuffers) s = xai_h5_write_f32(g, "best_buffers", st->best_buffers, 1, nb);
    if (s == XAI_OK) s = write_hist(g, st->hist, st->epoch);
    if (g >= 0) H5Gclose(g);
    if (s == XAI_OK && H5Fflush(f.id, H5F_SCOPE_GLOBAL) < 0) s = xai_fail(XAI_EIO, "%s: flush failed", f.tmp);
    if (s != XAI_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", xai_errmsg());
        xai_h5_abort(&f);
        return xai_fail(s, "%s: writing checkpoint failed: %s", path, msg);
    }
    sync_file(f.tmp);
    return xai_h5_commit(&f);
}

/* Restores st from a checkpoint written for the same signature. */
static xai_status ckpt_read(const char *path, run_state *st, const char *signature, int epochs)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    xai_model *cm = NULL;
    xai_status s = xai_model_load_from(&cm, f, path, 1);
    xai_model *m = st->m;
    if (s == XAI_OK && (cm->nparams != m->nparams || cm->nbuffers != m->nbuffers || strcmp(cm->spec_text, m->spec_text)))
        s = xai_fail(XAI_EFORMAT, "%s: the checkpoint's layers differ from the config's [model]", path);
    hid_t g = -1;
    if (s == XAI_OK) {
        if (!xai_h5_exists(f, "/checkpoint")) s = xai_fail(XAI_EFORMAT, "%s: no /checkpoint group (not a checkpoint)", path);
        else g = H5Gopen2(f, "/checkpoint", H5P_DEFAULT);
    }
    char fmt[64] = "", sig[1024] = "";
    if (s == XAI_OK && (xai_h5_get_str(g, "format", fmt, sizeof fmt) != XAI_OK || strcmp(fmt, CKPT_FORMAT)))
        s = xai_fail(XAI_EFORMAT, "%s: /checkpoint format '%s', expected '%s'", path, fmt, CKPT_FORMAT);
    if (s == XAI_OK && (xai_h5_get_str(g, "signature", sig, sizeof sig) != XAI_OK || strcmp(sig, signature)))
        s = xai_fail(XAI_EINVAL,
                     "%s: the checkpoint belongs to another run (%s) than this one (%s); delete it or run without "
                     "--resume",
                     path, sig, signature);
    int64_t ep = 0, step = 0, mstep = 0, mseed = 0, best = 0, ot = 0;
    double bva = 0, secs = 0;
    const char *what = NULL;
    if (s == XAI_OK) {
        if (xai_h5_get_i64(g, "epoch", &ep) != XAI_OK) what = "epoch";
        else if (xai_h5_get_i64(g, "step", &step) != XAI_OK) what = "step";
        else if (xai_h5_get_i64(g, "model_step", &mstep) != XAI_OK) what = "model_step";
        else if (xai_h5_get_i64(g, "model_seed", &mseed) != XAI_OK) what = "model_seed";
        else if (xai_h5_get_i64(g, "best_epoch", &best) != XAI_OK) what = "best_epoch";
        else if (xai_h5_get_f64(g, "best_val_acc", &bva) != XAI_OK) what = "best_val_acc";
        else if (xai_h5_get_f64(g, "train_seconds", &secs) != XAI_OK) what = "train_seconds";
        else if (xai_h5_get_i64(g, "optimizer_t", &ot) != XAI_OK) what = "optimizer_t";
        if (what) s = xai_fail(XAI_EFORMAT, "%s: /checkpoint lacks attribute '%s'", path, what);
    }
    if (s == XAI_OK && (ep < 1 || ep > epochs || best < 0 || best > ep || step < 0))
        s = xai_fail(XAI_EFORMAT, "%s: /checkpoint epoch %lld / best epoch %lld out of range (1..%d)", path,
                     (long long)ep, (long long)best, epochs);
    uint64_t np[1] = {m->nparams}, nb[1] = {m->nbuffers}, nr[1] = {4}, nh[2] = {(uint64_t)ep, XAI_HIST_COLS};
    if (s == XAI_OK) s = xai_h5_read(g, "rng_state", H5T_NATIVE_UINT64, st->rng.s, 1, nr, path);
    if (s == XAI_OK) s = xai_h5_read(g, "optimizer_m1", H5T_NATIVE_FLOAT, st->opt.m1, 1, np, path);
    if (s == XAI_OK && st->opt.m2) s = xai_h5_read(g, "optimizer_m2", H5T_NATIVE_FLOAT, st->opt.m2, 1, np, path);
    if (s == XAI_OK) s = xai_h5_read(g, "best_params", H5T_NATIVE_FLOAT, st->best_params, 1, np, path);
    if (s == XAI_OK && m->nbuffers) s = xai_h5_read(g, "best_buffers", H5T_NATIVE_FLOAT, st->best_buffers, 1, nb, path);
    if (s == XAI_OK) s = xai_h5_read(g, "history", H5T_NATIVE_DOUBLE, st->hist, 2, nh, path);
    if (s == XAI_OK) {
        memcpy(m->params, cm->params, m->nparams * sizeof(float));
        memcpy(m->buffers, cm->buffers, m->nbuffers * sizeof(float));
        m->step = (uint64_t)mstep;
        m->seed = (uint64_t)mseed;
        st->epoch = (int)ep;
        st->step = step;
        st->best_epoch = (int)best;
        st->best_val_acc = bva;
        st->seconds = secs;
        st->opt.t = ot;
    }
    if (g >= 0) H5Gclose(g);
    xai_model_free(cm);
    H5Fclose(f);
    return s;
}

/* --------------------------------------------------------- trained model */

static xai_status write_model_file(const char *out, const run_state *st, const xai_config *c, const xai_dataset *d,
                                   const xai_train_cfg *tc, const xai_train_opts *o, const xai_train_result *r,
                                   int epochs)
{
    xai_h5file f;
    XAI_TRY(xai_h5_create(&f, out));
    xai_status s = xai_model_save_to(st->m, f.id);
    hid_t g = s == XAI_OK ? xai_h5_group(f.id, "/train") : -1;
    if (s == XAI_OK && g < 0) s = xai_fail(XAI_EIO, "%s: cannot create group /train", f.tmp);
    char hash[32], thash[32], when[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)xai_config_hash(c));
    snprintf(thash, sizeof thash, "%016llx", (unsigned long long)train_hash(c));
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
    const char *exp_name = xai_config_str(c, "experiment", "name", "");
#define PUT(expr)                                                                                                      \
    if (s == XAI_OK) s = (expr)
    PUT(xai_h5_attr_str(g, "format", TRAIN_FORMAT));
    PUT(xai_h5_attr_str(g, "experiment", exp_name));
    PUT(xai_h5_attr_str(g, "config_path", c->path ? c->path : ""));
    PUT(xai_h5_attr_str(g, "config_text", c->text ? c->text : ""));
    PUT(xai_h5_attr_str(g, "config_hash", hash));
    PUT(xai_h5_attr_str(g, "train_hash", thash));
    PUT(xai_h5_attr_i64(g, "seed", (int64_t)(o->have_seed ? o->seed : tc->seed)));
    PUT(xai_h5_attr_str(g, "dataset", d->name));
    PUT(xai_h5_attr_str(g, "dataset_sha256", d->sha256));
    PUT(xai_h5_attr_str(g, "dataset_source", d->source));
    PUT(xai_h5_attr_i64(g, "limit", o->limit));
    PUT(xai_h5_attr_i64(g, "train_images", r->ntrain));
    PUT(xai_h5_attr_i64(g, "val_images", r->nval));
    PUT(xai_h5_attr_i64(g, "test_images", r->ntest));
    PUT(xai_h5_attr_i64(g, "epochs", epochs));
    PUT(xai_h5_attr_i64(g, "batch", tc->batch));
    PUT(xai_h5_attr_str(g, "optimizer", xai_optim_name(tc->optim.type)));
    PUT(xai_h5_attr_str(g, "schedule", xai_sched_name(tc->sched.type)));
    PUT(xai_h5_attr_f64(g, "lr", tc->sched.lr));
    PUT(xai_h5_attr_str(g, "select", tc->select_best ? "best" : "last"));
    PUT(xai_h5_attr_i64(g, "best_epoch", r->best_epoch));
    PUT(xai_h5_attr_f64(g, "final_train_loss", r->train_loss));
    PUT(xai_h5_attr_f64(g, "final_train_acc", r->train_acc));
    PUT(xai_h5_attr_f64(g, "final_val_loss", r->val_loss));
    PUT(xai_h5_attr_f64(g, "final_val_acc", r->val_acc));
    PUT(xai_h5_attr_f64(g, "final_test_loss", r->test_loss));
    PUT(xai_h5_attr_f64(g, "final_test_acc", r->test_acc));
    PUT(xai_h5_attr_f64(g, "train_seconds", r->seconds));
    PUT(xai_h5_attr_f64(g, "img_per_s", r->img_per_s));
    PUT(xai_h5_attr_i64(g, "resumed_from_epoch", r->resumed_from));
    PUT(xai_h5_attr_i64(g, "threads", xai_threads()));
    PUT(xai_h5_attr_str(g, "program_version", xai_version()));
    PUT(xai_h5_attr_str(g, "created_utc", when));
    PUT(write_hist(g, st->hist, epochs));
#undef PUT
    if (g >= 0) H5Gclose(g);
    if (s != XAI_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", xai_errmsg());
        xai_h5_abort(&f);
        return xai_fail(s, "%s: writing the model file failed: %s", out, msg);
    }
    return xai_h5_commit(&f);
}

/* ------------------------------------------------------------- training */

static void fmt_eta(char *buf, size_t n, double s)
{
    if (!(s >= 0) || s > 1e7) snprintf(buf, n, "--:--");
    else if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else snprintf(buf, n, "%02d:%02d", (int)s / 60, (int)s % 60);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Test-only hook for end-to-end tests that kill a training run: XAI_TEST_TRAIN_PAUSE =
 * "EPOCH:BATCH:FIFO" (1-based) makes the run, after that optimiser step, write "paused <pid>"
 * to the named pipe and wait to be killed. The test blocks on the pipe, so the kill lands at
 * that exact step however fast the machine is. Read once per run; not for users. */
typedef struct {
    long epoch, batch;
    const char *fifo;
} pause_hook;

static int pause_at_step(void *ctx, int epoch, int batch)
{
    const pause_hook *h = ctx;
    if (epoch + 1 != h->epoch || batch + 1 != h->batch) return 0;
    int fd = open(h->fifo, O_WRONLY);
    if (fd >= 0) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "paused %ld\n", (long)getpid());
        if (write(fd, msg, (size_t)n) != n) _exit(4);
        close(fd);
    }
    for (;;) pause();
}

static xai_status pause_hook_from_env(pause_hook *h)
{
    const char *v = getenv("XAI_TEST_TRAIN_PAUSE");
    h->fifo = NULL;
    if (!v || !*v) return XAI_OK;
    char *end;
    h->epoch = strtol(v, &end, 10);
    if (*end == ':') h->batch = strtol(end + 1, &end, 10);
    if (*end != ':' || !end[1] || h->epoch < 1 || h->batch < 1)
        return xai_fail(XAI_EINVAL, "XAI_TEST_TRAIN_PAUSE = '%s': expected EPOCH:BATCH:FIFO (test hook)", v);
    h->fifo = end + 1;
    return XAI_OK;
}

xai_status xai_train(const xai_config *c, const xai_dataset *d, const xai_train_opts *o, xai_train_result *res)
{
    xai_train_cfg tc;
    XAI_TRY(xai_train_cfg_parse(&tc, c));
    const int epochs = o->epochs > 0 ? o->epochs : tc.epochs;
    const uint64_t seed = o->have_seed ? o->seed : tc.seed;
    const xai_split *tr = &d->train;
    pause_hook ph;
    XAI_TRY(pause_hook_from_env(&ph));
    int (*on_batch)(void *, int, int) = o->on_batch;
    void *hook_ctx = o->hook_ctx;
    if (!on_batch && ph.fifo) on_batch = pause_at_step, hook_ctx = &ph;
    if (!o->out || !*o->out) return xai_fail(XAI_EINVAL, "train: no output file given");
    if (tr->n <= 0) return xai_fail(XAI_EINVAL, "%s: the training split of %s is empty", d->path, d->name);

    run_state st;
    memset(&st, 0, sizeof st);
    xai_status s = xai_model_from_config(&st.m, c, tc.batch);
    if (s != XAI_OK) return s;
    xai_model *m = st.m;
    if (tr->shape.c != m->in.c || tr->shape.h != m->in.h || tr->shape.w != m->in.w || d->test.shape.c != m->in.c ||
        (d->test.n && (d->test.shape.h != m->in.h || d->test.shape.w != m->in.w))) {
        s = xai_fail(XAI_EINVAL, "%s: [model] input = %dx%dx%d but %s images are %dx%dx%d", c->path, m->in.c, m->in.h,
                     m->in.w, d->name, tr->shape.c, tr->shape.h, tr->shape.w);
        xai_model_free(m);
        return s;
    }
    if (d->nclasses != m->nclasses) {
        s = xai_fail(XAI_EINVAL, "%s: [model] classes = %d but %s has %d classes", c->path, m->nclasses, d->name,
                     d->nclasses);
        xai_model_free(m);
        return s;
    }
    for (int i = 0; i < tr->n; i++)
        if (tr->labels[i] < 0 || tr->labels[i] >= m->nclasses) {
            s = xai_fail(XAI_EFORMAT, "%s: training label %d of image %d is outside [0, %d)", d->path, tr->labels[i], i,
                         m->nclasses);
            xai_model_free(m);
            return s;
        }
    for (int i = 0; i < d->test.n; i++)
        if (d->test.labels[i] < 0 || d->test.labels[i] >= m->nclasses) {
            s = xai_fail(XAI_EFORMAT, "%s: test label %d of image %d is outside [0, %d)", d->path, d->test.labels[i], i,
                         m->nclasses);
            xai_model_free(m);
            return s;
        }
    for (int k = 0; k < m->in.c; k++) {
        if (!(d->std[k] > 0)) {
            s = xai_fail(XAI_EFORMAT, "%s: channel %d has std %g; expected > 0", d->path, k, d->std[k]);
            xai_model_free(m);
            return s;
        }
        m->mean[k] = d->mean[k];
        m->std[k] = d->std[k];
    }

    /* Held-out validation images: a fixed random subset of the training split. */
    int nval = (int)llround(tc.val_fraction * tr->n);
    if (tc.val_fraction > 0 && nval < 1) nval = 1;
    int ntr = tr->n - nval;
    if (ntr < 1) {
        xai_model_free(m);
        return xai_fail(XAI_EINVAL, "%s: val_fraction = %g leaves no training images of %d", c->path, tc.val_fraction,
                        tr->n);
    }
    int32_t *order = xai_malloc((size_t)tr->n * sizeof *order);
    for (int i = 0; i < tr->n; i++) order[i] = i;
    xai_rng vr;
    xai_rng_seed(&vr, VAL_SPLIT_SEED);
    xai_rng_shuffle(&vr, order, (size_t)tr->n);
    int32_t *val_idx = order, *tr_idx = order + nval;
    qsort(val_idx, nval, sizeof *val_idx, cmp_i32);
    qsort(tr_idx, ntr, sizeof *tr_idx, cmp_i32);

    const int bsz = tc.batch < ntr ? tc.batch : ntr;
    /* The last partial batch is dropped (a different random remainder each epoch): batchnorm
     * statistics over a handful of images are noise. */
    const int spe = ntr / bsz;
    tc.sched.steps_per_epoch = spe;
    tc.sched.total_steps = (int64_t)spe * epochs;
    if (!tc.sched.nmilestones && tc.step_epochs > 0)
        for (int e = tc.step_epochs; e < epochs && tc.sched.nmilestones < XAI_SCHED_MAX_MILESTONES; e += tc.step_epochs)
            tc.sched.milestones[tc.sched.nmilestones++] = e;

    char signature[512];
    snprintf(signature, sizeof signature, "train_hash=%016llx seed=%llu epochs=%d limit=%d dataset=%s:%.16s images=%d",
             (unsigned long long)train_hash(c), (unsigned long long)seed, epochs, o->limit, d->name, d->sha256, tr->n);

    s = xai_optim_init(&st.opt, &tc.optim, m->nparams);
    if (s != XAI_OK) {
        free(order);
        xai_model_free(m);
        return s;
    }
    xai_optim_decay_model(&st.opt, m, tc.decay_all);
    st.hist = xai_calloc((size_t)epochs * XAI_HIST_COLS, sizeof(double));
    st.best_params = xai_calloc(m->nparams ? m->nparams : 1, sizeof(float));
    st.best_buffers = xai_calloc(m->nbuffers ? m->nbuffers : 1, sizeof(float));
    st.best_val_acc = -1;
    xai_model_init(m, seed);
    /* The shuffling/augmentation stream is separate from the weight-init stream. */
    xai_rng_seed(&st.rng, seed ^ 0x73687566666c6531ull);

    char *ckpt = xai_train_ckpt_path(o->out);
    int resumed_from = 0;
    if (o->resume && xai_file_exists(ckpt)) {
        s = ckpt_read(ckpt, &st, signature, epochs);
        if (s == XAI_OK) {
            resumed_from = st.epoch;
            if (o->verbose)
                fprintf(stderr, "train: resuming from %s after epoch %d/%d (%.1f s trained so far)\n", ckpt, st.epoch,
                        epochs, st.seconds);
        }
    } else if (o->verbose) {
        if (o->resume) fprintf(stderr, "train: no checkpoint at %s; starting from scratch\n", ckpt);
        else if (xai_file_exists(ckpt))
            fprintf(stderr, "train: starting from scratch; %s will be replaced (use --resume to continue it)\n", ckpt);
    }

    const size_t isz = xai_shape_size(m->in);
    const int K = m->nclasses;
    xai_normalizer nz;
    xai_normalizer_init(&nz, m->in.c, d->mean, d->std);
    const uint8_t **ptrs = xai_malloc((size_t)m->max_batch * sizeof *ptrs);
    int32_t *ybuf = xai_malloc((size_t)m->max_batch * sizeof *ybuf);
    float *dlogits = xai_malloc((size_t)m->max_batch * K * sizeof *dlogits);
    int32_t *perm = xai_malloc((size_t)ntr * sizeof *perm);

    if (o->verbose && s == XAI_OK && st.epoch < epochs) {
        double cf, fl = xai_model_flops(m, &cf);
        fprintf(stderr,
                "train: %s: %d train / %d val / %d test images, %d epochs x %d steps of %d, %s lr %g (%s), "
                "%.2fM params, %.1f MFLOP/image, %d threads\n",
                d->name, ntr, nval, d->test.n, epochs, spe, bsz, xai_optim_name(tc.optim.type), tc.sched.lr,
                xai_sched_name(tc.sched.type), m->nparams / 1e6, fl / 1e6, xai_threads());
    }
    double run_t0 = xai_now(), run_imgs = 0, run_train_s = 0;
    for (; s == XAI_OK && st.epoch < epochs; st.epoch++) {
        const int e = st.epoch;
        double t0 = xai_now();
        for (int i = 0; i < ntr; i++) perm[i] = tr_idx[i];
        xai_rng_shuffle(&st.rng, perm, (size_t)ntr);
        xai_progress bar;
        char label[32];
        snprintf(label, sizeof label, "epoch %d/%d", e + 1, epochs);
        if (o->verbose) xai_progress_start(&bar, label, (double)spe * bsz, "img");
        double lsum = 0, lr = 0;
        long correct = 0;
        for (int b = 0; b < spe; b++) {
            for (int i = 0; i < bsz; i++) {
                int j = perm[(size_t)b * bsz + i];
                ptrs[i] = tr->images + (size_t)j * isz;
                ybuf[i] = tr->labels[j];
            }
            xai_augment_batch(m->acts[0], ptrs, bsz, m->in, &nz, &tc.aug, &st.rng);
            m->train = 1, m->lean = 1; /* nothing reads the activations a fused pool skips */
            xai_model_zero_grad(m);
            const float *logits = xai_model_forward(m, m->acts[0], bsz);
            int ok;
            double loss = xai_train_xent(logits, ybuf, bsz, K, tc.label_smoothing, dlogits, &ok);
            lr = xai_sched_lr(&tc.sched, st.step);
            if (!isfinite(loss)) {
                if (o->verbose) fprintf(stderr, "\n");
                if (st.epoch > 0)
                    s = xai_fail(XAI_ESTATE,
                                 "training diverged: the loss is %g at epoch %d, batch %d (lr %.4g); stopped. The last "
                                 "good checkpoint (after epoch %d) is kept at %s; lower [train] lr or lengthen "
                                 "warmup_epochs and train again",
                                 loss, e + 1, b + 1, lr, st.epoch, ckpt);
                else
                    s = xai_fail(XAI_ESTATE,
                                 "training diverged: the loss is %g at epoch 1, batch %d (lr %.4g); stopped before the "
                                 "first checkpoint; lower [train] lr or lengthen warmup_epochs and train again",
                                 loss, b + 1, lr);
                break;
            }
            xai_model_backward(m, dlogits, bsz, 0);
            if (tc.grad_clip > 0) {
                double ss = 0;
                for (size_t i = 0; i < m->nparams; i++) ss += (double)m->grads[i] * m->grads[i];
                double norm = sqrt(ss);
                if (norm > tc.grad_clip) {
                    float f = (float)(tc.grad_clip / norm);
                    for (size_t i = 0; i < m->nparams; i++) m->grads[i] *= f;
                }
            }
            xai_optim_step(&st.opt, m->params, m->grads, lr);
            st.step++;
            lsum += loss;
            correct += ok;
            if (o->verbose) xai_progress_update(&bar, (double)(b + 1) * bsz);
            if (on_batch && on_batch(hook_ctx, e, b)) {
                s = xai_fail(XAI_ESTATE, "training stopped by the test hook at epoch %d, batch %d", e + 1, b + 1);
                break;
            }
        }
        if (s != XAI_OK) break;
        double t_train = xai_now() - t0;
        run_train_s += t_train;
        run_imgs += (double)spe * bsz;
        if (!all_finite(m->params, m->nparams) || !all_finite(m->buffers, m->nbuffers)) {
            s = xai_fail(XAI_ESTATE,
                         "training diverged: weights became non-finite in epoch %d (lr %.4g); stopped. %s; lower "
                         "[train] lr and train again",
                         e + 1, lr, st.epoch ? "The last good checkpoint is kept" : "No checkpoint was written");
            break;
        }
        double vloss = NAN, vacc = NAN;
        if (nval) evaluate(m, tr, val_idx, nval, &nz, ptrs, ybuf, &vloss, &vacc);
        double secs = xai_now() - t0;
        double *h = st.hist + (size_t)e * XAI_HIST_COLS;
        h[XAI_HIST_EPOCH] = e + 1;
        h[XAI_HIST_LR] = lr;
        h[XAI_HIST_TRAIN_LOSS] = lsum / spe;
        h[XAI_HIST_TRAIN_ACC] = (double)correct / ((double)spe * bsz);
        h[XAI_HIST_VAL_LOSS] = vloss;
        h[XAI_HIST_VAL_ACC] = vacc;
        h[XAI_HIST_SECONDS] = secs;
        st.seconds += secs;
        /* Ties go to the later epoch (further down the schedule); without a validation
         * split the last epoch is kept. */
        if (nval && vacc >= st.best_val_acc) {
            st.best_val_acc = vacc;
            st.best_epoch = e + 1;
            memcpy(st.best_params, m->params, m->nparams * sizeof(float));
            memcpy(st.best_buffers, m->buffers, m->nbuffers * sizeof(float));
        }
        if (o->verbose) {
            char eta[16], summary[256];
            double per = (xai_now() - run_t0) / (e + 1 - resumed_from);
            fmt_eta(eta, sizeof eta, per * (epochs - e - 1));
            xai_progress_end(&bar, NULL);
            snprintf(summary, sizeof summary,
                     "epoch %d/%d  lr %.4g  loss %.4f  train %.2f%%  val %.2f%% (loss %.4f)  %.0f img/s  %.1f s  "
                     "ETA %s",
                     e + 1, epochs, lr, h[XAI_HIST_TRAIN_LOSS], 100 * h[XAI_HIST_TRAIN_ACC], 100 * vacc, vloss,
                     spe * bsz / t_train, secs, eta);
            fprintf(stderr, "%s\n", summary);
        }
        st.epoch = e + 1;
        s = ckpt_write(ckpt, &st, signature);
        st.epoch = e;
    }

    xai_train_result r;
    memset(&r, 0, sizeof r);
    if (s == XAI_OK) {
        if (tc.select_best && st.best_epoch > 0) {
            memcpy(m->params, st.best_params, m->nparams * sizeof(float));
            memcpy(m->buffers, st.best_buffers, m->nbuffers * sizeof(float));
        }
        int kept = tc.select_best && st.best_epoch > 0 ? st.best_epoch : epochs;
        const double *h = st.hist + (size_t)(kept - 1) * XAI_HIST_COLS;
        r.epochs = epochs;
        r.best_epoch = kept;
        r.ntrain = ntr;
        r.nval = nval;
        r.ntest = d->test.n;
        r.train_loss = h[XAI_HIST_TRAIN_LOSS];
        r.train_acc = h[XAI_HIST_TRAIN_ACC];
        r.val_loss = h[XAI_HIST_VAL_LOSS];
        r.val_acc = h[XAI_HIST_VAL_ACC];
        r.seconds = st.seconds;
        r.img_per_s = run_train_s > 0 ? run_imgs / run_train_s : 0;
        r.resumed_from = resumed_from;
        r.test_loss = r.test_acc = NAN;
        if (d->test.n) {
            if (o->verbose) fprintf(stderr, "train: evaluating %d test images\n", d->test.n);
            evaluate(m, &d->test, NULL, d->test.n, &nz, ptrs, ybuf, &r.test_loss, &r.test_acc);
        }
        s = write_model_file(o->out, &st, c, d, &tc, o, &r, epochs);
        /* The finished model supersedes the checkpoint. */
        if (s == XAI_OK) unlink(ckpt);
        if (s == XAI_OK && res) *res = r;
    }
    free(ckpt);
    free(perm);
    free(dlogits);
    free(ybuf);
    free(ptrs);
    free(order);
    free(st.hist);
    free(st.best_params);
    free(st.best_buffers);
    xai_optim_free(&st.opt);
    xai_model_free(m);
    return s;
}
