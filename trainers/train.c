/* train.c: the from-scratch training loop: seeded shuffling and augmentation, held-out
 * validation, per-epoch atomic checkpoints with exact resume, and the trained-model file. */
#include "core/mpi.h"
#include "trainers/checkpoint.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The held-out validation images are a fixed function of the training-split size and
 * val_fraction, so that runs with different seeds are selected on the same images. */
#define VAL_SPLIT_SEED 0x76616c73706c6974ull

double xai_train_xent_part(const float *z, const int32_t *y, int n, int ntotal, int k, double eps, float *dz,
                           int *correct)
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
            dz[(size_t)i * k + j] = (float)((exp(zi[j] - lse) - (j == y[i] ? on : off)) / ntotal);
    }
    if (correct) *correct = ok;
    return loss / ntotal;
}

double xai_train_xent(const float *z, const int32_t *y, int n, int k, double eps, float *dz, int *correct)
{
    return xai_train_xent_part(z, y, n, n, k, eps, dz, correct);
}

static int all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* Every rank leaves together: a rank that failed alone would leave the others waiting in the
 * next collective (core/mpi.h). The serial build returns s. */
static xai_status all_ranks(xai_status s) { return (xai_status)xai_mpi_agree(s); }

/* Loss and accuracy of the net in inference mode on images idx (NULL: 0..n-1) of a split. Under
 * MPI each rank takes a contiguous share and the sums are combined in rank order. */
static xai_status evaluate(xai_model *m, const xai_split *sp, const int32_t *idx, int n, const xai_normalizer *nz,
                           const uint8_t **ptrs, int32_t *ybuf, double *loss, double *acc)
{
    const size_t isz = xai_shape_size(sp->shape);
    int64_t lo, hi;
    xai_mpi_shard(n, &lo, &hi);
    double sums[2] = {0, 0}; /* loss * images, correct */
    xai_eval_scope mode = xai_eval_begin(m, 1); /* logits only */
    for (int b = (int)lo; b < hi; b += m->max_batch) {
        int nb = hi - b < m->max_batch ? (int)hi - b : m->max_batch;
        for (int i = 0; i < nb; i++) {
            int j = idx ? idx[b + i] : b + i;
            ptrs[i] = sp->images + (size_t)j * isz;
            ybuf[i] = sp->labels[j];
        }
        xai_normalize_batch(m->acts[0], ptrs, nb, sp->shape, nz);
        float *logits = xai_model_forward(m, m->acts[0], nb);
        int c;
        sums[0] += xai_softmax_xent(logits, ybuf, nb, m->nclasses, NULL, &c) * nb;
        sums[1] += c;
    }
    xai_eval_end(m, mode);
    XAI_TRY(xai_mpi_allreduce_sum_f64(sums, 2));
    *loss = n ? sums[0] / n : NAN;
    *acc = n ? sums[1] / n : NAN;
    return XAI_OK;
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

/* One training run: the settings, the data plan and the buffers of the loop. */
typedef struct {
    const xai_config *c;
    const xai_dataset *d;
    const xai_train_opts *o;
    xai_train_cfg tc;
    int epochs;
    uint64_t seed;
    pause_hook ph;
    int (*on_batch)(void *, int, int);
    void *hook_ctx;
    xai_train_state st;
    int32_t *order;          /* (ntrain) val_idx then tr_idx, each ascending */
    int32_t *val_idx, *tr_idx;
    int nval, ntr, bsz, spe; /* spe: steps per epoch of bsz images */
    int lo, nloc;            /* this MPI rank's images [lo, lo + nloc) of every batch */
    double comm_s;           /* this run's seconds in the gradient sums (MPI) */
    char signature[512];
    char *ckpt;
    int resumed_from;
    xai_normalizer nz;
    const uint8_t **ptrs;    /* (max_batch) */
    int32_t *ybuf;           /* (max_batch) */
    float *dlogits;          /* (max_batch, K) */
    int32_t *perm;           /* (ntr) this epoch's order */
    double run_t0, run_imgs, run_train_s;
} trainer;

static void trainer_free(trainer *t)
{
    free(t->ckpt);
    free(t->perm);
    free(t->dlogits);
    free(t->ybuf);
    free(t->ptrs);
    free(t->order);
    free(t->st.hist);
    free(t->st.best_params);
    free(t->st.best_buffers);
    xai_optim_free(&t->st.opt);
    xai_model_free(t->st.m);
}

static xai_status check_labels(const xai_split *sp, const char *which, const char *path, int nclasses)
{
    for (int i = 0; i < sp->n; i++)
        if (sp->labels[i] < 0 || sp->labels[i] >= nclasses)
            return xai_fail(XAI_EFORMAT, "%s: %s label %d of image %d is outside [0, %d)", path, which, sp->labels[i],
                            i, nclasses);
    return XAI_OK;
}

/* The dataset must fit the [model]; its normalisation becomes the model's. */
static xai_status fit_model_to_data(xai_model *m, const xai_config *c, const xai_dataset *d)
{
    const xai_split *tr = &d->train;
    if (tr->shape.c != m->in.c || tr->shape.h != m->in.h || tr->shape.w != m->in.w || d->test.shape.c != m->in.c ||
        (d->test.n && (d->test.shape.h != m->in.h || d->test.shape.w != m->in.w)))
        return xai_fail(XAI_EINVAL, "%s: [model] input = %dx%dx%d but %s images are %dx%dx%d", c->path, m->in.c,
                        m->in.h, m->in.w, d->name, tr->shape.c, tr->shape.h, tr->shape.w);
    if (d->nclasses != m->nclasses)
        return xai_fail(XAI_EINVAL, "%s: [model] classes = %d but %s has %d classes", c->path, m->nclasses, d->name,
                        d->nclasses);
    XAI_TRY(check_labels(tr, "training", d->path, m->nclasses));
    XAI_TRY(check_labels(&d->test, "test", d->path, m->nclasses));
    for (int k = 0; k < m->in.c; k++) {
        if (!(d->std[k] > 0))
            return xai_fail(XAI_EFORMAT, "%s: channel %d has std %g; expected > 0", d->path, k, d->std[k]);
        m->mean[k] = d->mean[k];
        m->std[k] = d->std[k];
    }
    return XAI_OK;
}

/* Held-out validation images: a fixed random subset of the training split; then the batch
 * size, steps per epoch and the schedule's length. */
static xai_status plan_data(trainer *t)
{
    const xai_split *tr = &t->d->train;
    t->nval = (int)llround(t->tc.val_fraction * tr->n);
    if (t->tc.val_fraction > 0 && t->nval < 1) t->nval = 1;
    t->ntr = tr->n - t->nval;
    if (t->ntr < 1)
        return xai_fail(XAI_EINVAL, "%s: val_fraction = %g leaves no training images of %d", t->c->path,
                        t->tc.val_fraction, tr->n);
    t->order = xai_malloc((size_t)tr->n * sizeof *t->order);
    for (int i = 0; i < tr->n; i++) t->order[i] = i;
    xai_rng vr;
    xai_rng_seed(&vr, VAL_SPLIT_SEED);
    xai_rng_shuffle(&vr, t->order, (size_t)tr->n);
    t->val_idx = t->order, t->tr_idx = t->order + t->nval;
    qsort(t->val_idx, t->nval, sizeof *t->val_idx, cmp_i32);
    qsort(t->tr_idx, t->ntr, sizeof *t->tr_idx, cmp_i32);

    xai_train_cfg *tc = &t->tc;
    t->bsz = tc->batch < t->ntr ? tc->batch : t->ntr;
    /* The last partial batch is dropped (a different random remainder each epoch): batchnorm
     * statistics over a handful of images are noise. */
    t->spe = t->ntr / t->bsz;
    /* Data-parallel MPI: each rank runs forward/backward on its contiguous share of every batch. */
    int64_t b0, b1;
    xai_mpi_shard(t->bsz, &b0, &b1);
    t->lo = (int)b0, t->nloc = (int)(b1 - b0);
    if (t->nloc < 1)
        return xai_fail(XAI_EINVAL, "%s: a batch of %d images cannot be shared by %d MPI ranks; expected [train] batch >= %d",
                        t->c->path, t->bsz, xai_mpi_size(), xai_mpi_size());
    tc->sched.steps_per_epoch = t->spe;
    tc->sched.total_steps = (int64_t)t->spe * t->epochs;
    if (!tc->sched.nmilestones && tc->step_epochs > 0)
        for (int e = tc->step_epochs; e < t->epochs && tc->sched.nmilestones < XAI_SCHED_MAX_MILESTONES;
             e += tc->step_epochs)
            tc->sched.milestones[tc->sched.nmilestones++] = e;
    return XAI_OK;
}

/* Fresh weights, optimiser and streams; then the checkpoint's state when resuming. */
static xai_status start_or_resume(trainer *t)
{
    xai_model *m = t->st.m;
    const xai_train_opts *o = t->o;
    XAI_TRY(xai_optim_init(&t->st.opt, &t->tc.optim, m->nparams));
    xai_optim_decay_model(&t->st.opt, m, t->tc.decay_all);
    t->st.hist = xai_calloc((size_t)t->epochs * XAI_HIST_COLS, sizeof(double));
    t->st.best_params = xai_calloc(m->nparams ? m->nparams : 1, sizeof(float));
    t->st.best_buffers = xai_calloc(m->nbuffers ? m->nbuffers : 1, sizeof(float));
    t->st.best_val_acc = -1;
    xai_model_init(m, t->seed);
    /* The shuffling/augmentation stream is separate from the weight-init stream. */
    xai_rng_seed(&t->st.rng, t->seed ^ 0x73687566666c6531ull);

    t->ckpt = xai_train_ckpt_path(o->out);
    if (o->resume && xai_file_exists(t->ckpt)) {
        XAI_TRY(xai_ckpt_read(t->ckpt, &t->st, t->signature, t->epochs));
        t->resumed_from = t->st.epoch;
        if (o->verbose)
            fprintf(stderr, "train: resuming from %s after epoch %d/%d (%.1f s trained so far)\n", t->ckpt,
                    t->st.epoch, t->epochs, t->st.seconds);
    } else if (o->verbose) {
        if (o->resume) fprintf(stderr, "train: no checkpoint at %s; starting from scratch\n", t->ckpt);
        else if (xai_file_exists(t->ckpt))
            fprintf(stderr, "train: starting from scratch; %s will be replaced (use --resume to continue it)\n",
                    t->ckpt);
    }
    return XAI_OK;
}

static xai_status train_setup(trainer *t, const xai_config *c, const xai_dataset *d, const xai_train_opts *o)
{
    t->c = c, t->d = d, t->o = o;
    XAI_TRY(xai_train_cfg_parse(&t->tc, c));
    t->epochs = o->epochs > 0 ? o->epochs : t->tc.epochs;
    t->seed = o->have_seed ? o->seed : t->tc.seed;
    XAI_TRY(pause_hook_from_env(&t->ph));
    t->on_batch = o->on_batch, t->hook_ctx = o->hook_ctx;
    if (!t->on_batch && t->ph.fifo) t->on_batch = pause_at_step, t->hook_ctx = &t->ph;
    if (!o->out || !*o->out) return xai_fail(XAI_EINVAL, "train: no output file given");
    if (d->train.n <= 0) return xai_fail(XAI_EINVAL, "%s: the training split of %s is empty", d->path, d->name);
    XAI_TRY(xai_model_from_config(&t->st.m, c, t->tc.batch));
    XAI_TRY(fit_model_to_data(t->st.m, c, d));
    XAI_TRY(plan_data(t));
    snprintf(t->signature, sizeof t->signature,
             "train_hash=%016llx seed=%llu epochs=%d limit=%d dataset=%s:%.16s images=%d",
             (unsigned long long)xai_train_hash(c), (unsigned long long)t->seed, t->epochs, o->limit, d->name,
             d->sha256, d->train.n);
    /* Another rank count sums the gradients in another order: a checkpoint is continued by the
     * rank count that wrote it (the serial signature is unchanged). */
    if (xai_mpi_size() > 1) {
        size_t len = strlen(t->signature);
        snprintf(t->signature + len, sizeof t->signature - len, " mpi_ranks=%d", xai_mpi_size());
    }
    XAI_TRY(start_or_resume(t));

    const xai_model *m = t->st.m;
    xai_normalizer_init(&t->nz, m->in.c, d->mean, d->std);
    t->ptrs = xai_malloc((size_t)m->max_batch * sizeof *t->ptrs);
    t->ybuf = xai_malloc((size_t)m->max_batch * sizeof *t->ybuf);
    t->dlogits = xai_malloc((size_t)m->max_batch * m->nclasses * sizeof *t->dlogits);
    t->perm = xai_malloc((size_t)t->ntr * sizeof *t->perm);
    if (o->verbose && t->st.epoch < t->epochs) {
        double cf, fl = xai_model_flops(m, &cf);
        fprintf(stderr,
                "train: %s: %d train / %d val / %d test images, %d epochs x %d steps of %d, %s lr %g (%s), "
                "%.2fM params, %.1f MFLOP/image, %d threads x %d MPI ranks\n",
                d->name, t->ntr, t->nval, d->test.n, t->epochs, t->spe, t->bsz, xai_optim_name(t->tc.optim.type),
                t->tc.sched.lr, xai_sched_name(t->tc.sched.type), m->nparams / 1e6, fl / 1e6, xai_threads(),
                xai_mpi_size());
    }
    t->run_t0 = xai_now();
    return XAI_OK;
}

/* ------------------------------------------------------------- one epoch */

static xai_status diverged_loss(const trainer *t, double loss, int b, double lr)
{
    const int e = t->st.epoch;
    if (t->o->verbose) fprintf(stderr, "\n");
    if (e > 0)
        return xai_fail(XAI_ESTATE,
                        "training diverged: the loss is %g at epoch %d, batch %d (lr %.4g); stopped. The last good "
                        "checkpoint (after epoch %d) is kept at %s; lower [train] lr or lengthen warmup_epochs and "
                        "train again",
                        loss, e + 1, b + 1, lr, e, t->ckpt);
    return xai_fail(XAI_ESTATE,
                    "training diverged: the loss is %g at epoch 1, batch %d (lr %.4g); stopped before the first "
                    "checkpoint; lower [train] lr or lengthen warmup_epochs and train again",
                    loss, b + 1, lr);
}

/* Scales the gradients so that their global L2 norm is at most max_norm. */
static void clip_grads(xai_model *m, double max_norm)
{
    double ss = 0;
    for (size_t i = 0; i < m->nparams; i++) ss += (double)m->grads[i] * m->grads[i];
    double norm = sqrt(ss);
    if (norm > max_norm) {
        float f = (float)(max_norm / norm);
        for (size_t i = 0; i < m->nparams; i++) m->grads[i] *= f;
    }
}

/* The batch's images and labels, augmented and normalised on every rank (the random choices are
 * drawn for the whole batch, so the stream stays the same on all ranks); this rank's share is
 * then moved to the front of the input. */
static void load_batch(trainer *t, int b)
{
    xai_model *m = t->st.m;
    const xai_split *tr = &t->d->train;
    const size_t isz = xai_shape_size(m->in);
    for (int i = 0; i < t->bsz; i++) {
        int j = t->perm[(size_t)b * t->bsz + i];
        t->ptrs[i] = tr->images + (size_t)j * isz;
        t->ybuf[i] = tr->labels[j];
    }
    xai_augment_batch(m->acts[0], t->ptrs, t->bsz, m->in, &t->nz, &t->tc.aug, &t->st.rng);
    if (t->lo) memmove(m->acts[0], m->acts[0] + (size_t)t->lo * isz, (size_t)t->nloc * isz * sizeof *m->acts[0]);
}

/* The gradients of the whole batch on every rank: the ranks' sums added in rank order (the same
 * bits on every rank and on every run at this rank count, core/mpi.h). */
static xai_status sum_gradients(trainer *t)
{
    if (xai_mpi_size() == 1) return XAI_OK;
    double t0 = xai_now();
    xai_status s = xai_mpi_allreduce_sum_f32(t->st.m->grads, (int64_t)t->st.m->nparams);
    t->comm_s += xai_now() - t0;
    return s;
}

/* The optimiser steps of one epoch over t->perm; sums the loss and hits, leaves the last lr. */
static xai_status train_batches(trainer *t, xai_progress *bar, double *lsum, long *correct, double *lr)
{
    xai_model *m = t->st.m;
    const int e = t->st.epoch, bsz = t->bsz;
    for (int b = 0; b < t->spe; b++) {
        load_batch(t, b);
        m->train = 1, m->lean = 1; /* nothing reads the activations a fused pool skips */
        xai_model_zero_grad(m);
        const float *logits = xai_model_forward(m, m->acts[0], t->nloc);
        int ok;
        double part[2]; /* this rank's share of the batch loss, its hits */
        part[0] = xai_train_xent_part(logits, t->ybuf + t->lo, t->nloc, bsz, m->nclasses, t->tc.label_smoothing,
                                      t->dlogits, &ok);
        part[1] = ok;
        XAI_TRY(xai_mpi_allreduce_sum_f64(part, 2));
        double loss = part[0];
        *lr = xai_sched_lr(&t->tc.sched, t->st.step);
        if (!isfinite(loss)) return diverged_loss(t, loss, b, *lr); /* the same on every rank */
        xai_model_backward(m, t->dlogits, t->nloc, 0);
        XAI_TRY(sum_gradients(t));
        if (t->tc.grad_clip > 0) clip_grads(m, t->tc.grad_clip);
        xai_optim_step(&t->st.opt, m->params, m->grads, *lr);
        t->st.step++;
        *lsum += loss;
        *correct += (long)part[1];
        if (t->o->verbose) xai_progress_update(bar, (double)(b + 1) * bsz);
        if (t->on_batch && t->on_batch(t->hook_ctx, e, b))
            return xai_fail(XAI_ESTATE, "training stopped by the test hook at epoch %d, batch %d", e + 1, b + 1);
    }
    return XAI_OK;
}

/* Batchnorm running statistics were updated from each rank's own share of the batches: their
 * mean over ranks (rank order) makes every rank's buffers, and so the checkpoint, the same. */
static xai_status sync_buffers(xai_model *m)
{
    const int R = xai_mpi_size();
    if (R == 1 || !m->nbuffers) return XAI_OK;
    XAI_TRY(xai_mpi_allreduce_sum_f32(m->buffers, (int64_t)m->nbuffers));
    for (size_t i = 0; i < m->nbuffers; i++) m->buffers[i] /= (float)R;
    return XAI_OK;
}

static void print_epoch(const trainer *t, xai_progress *bar, const double *h, double t_train)
{
    const int e = t->st.epoch;
    char eta[16], summary[256];
    double per = (xai_now() - t->run_t0) / (e + 1 - t->resumed_from);
    fmt_eta(eta, sizeof eta, per * (t->epochs - e - 1));
    xai_progress_end(bar, NULL);
    snprintf(summary, sizeof summary,
             "epoch %d/%d  lr %.4g  loss %.4f  train %.2f%%  val %.2f%% (loss %.4f)  %.0f img/s  %.1f s  ETA %s",
             e + 1, t->epochs, h[XAI_HIST_LR], h[XAI_HIST_TRAIN_LOSS], 100 * h[XAI_HIST_TRAIN_ACC],
             100 * h[XAI_HIST_VAL_ACC], h[XAI_HIST_VAL_LOSS], t->spe * t->bsz / t_train, h[XAI_HIST_SECONDS], eta);
    if (xai_mpi_size() > 1) /* rank 0's share of the step time spent summing gradients */
        fprintf(stderr, "%s  (%d ranks; gradient sums %.2f ms/step)\n", summary, xai_mpi_size(),
                1e3 * t->comm_s / ((double)(e + 1 - t->resumed_from) * t->spe));
    else
        fprintf(stderr, "%s\n", summary);
}

/* Trains epoch st.epoch, validates, records its history row, keeps the best weights and
 * writes the checkpoint; st.epoch then counts it. */
static xai_status train_epoch(trainer *t)
{
    xai_train_state *st = &t->st;
    xai_model *m = st->m;
    const int e = st->epoch;
    double t0 = xai_now();
    for (int i = 0; i < t->ntr; i++) t->perm[i] = t->tr_idx[i];
    xai_rng_shuffle(&st->rng, t->perm, (size_t)t->ntr);
    xai_progress bar;
    char label[32];
    snprintf(label, sizeof label, "epoch %d/%d", e + 1, t->epochs);
    if (t->o->verbose) xai_progress_start(&bar, label, (double)t->spe * t->bsz, "img");
    double lsum = 0, lr = 0;
    long correct = 0;
    XAI_TRY(train_batches(t, &bar, &lsum, &correct, &lr));
    XAI_TRY(sync_buffers(m));
    double t_train = xai_now() - t0;
    t->run_train_s += t_train;
    t->run_imgs += (double)t->spe * t->bsz;
    if (!all_finite(m->params, m->nparams) || !all_finite(m->buffers, m->nbuffers))
        return xai_fail(XAI_ESTATE,
                        "training diverged: weights became non-finite in epoch %d (lr %.4g); stopped. %s; lower "
                        "[train] lr and train again",
                        e + 1, lr, e ? "The last good checkpoint is kept" : "No checkpoint was written");
    double vloss = NAN, vacc = NAN;
    if (t->nval) XAI_TRY(evaluate(m, &t->d->train, t->val_idx, t->nval, &t->nz, t->ptrs, t->ybuf, &vloss, &vacc));
    double secs = xai_now() - t0;
    double *h = st->hist + (size_t)e * XAI_HIST_COLS;
    h[XAI_HIST_EPOCH] = e + 1;
    h[XAI_HIST_LR] = lr;
    h[XAI_HIST_TRAIN_LOSS] = lsum / t->spe;
    h[XAI_HIST_TRAIN_ACC] = (double)correct / ((double)t->spe * t->bsz);
    h[XAI_HIST_VAL_LOSS] = vloss;
    h[XAI_HIST_VAL_ACC] = vacc;
    h[XAI_HIST_SECONDS] = secs;
    st->seconds += secs;
    /* Ties go to the later epoch (further down the schedule); without a validation
     * split the last epoch is kept. */
    if (t->nval && vacc >= st->best_val_acc) {
        st->best_val_acc = vacc;
        st->best_epoch = e + 1;
        memcpy(st->best_params, m->params, m->nparams * sizeof(float));
        memcpy(st->best_buffers, m->buffers, m->nbuffers * sizeof(float));
    }
    if (t->o->verbose) print_epoch(t, &bar, h, t_train);
    st->epoch = e + 1;
    /* Every rank holds the same state; rank 0 writes it. */
    return all_ranks(xai_mpi_rank() == 0 ? xai_ckpt_write(t->ckpt, st, t->signature) : XAI_OK);
}

/* ------------------------------------------------------------- finishing */

/* Keeps the selected epoch's weights, tests them, writes the model file and drops the checkpoint. */
static xai_status train_finish(trainer *t, xai_train_result *res)
{
    xai_train_state *st = &t->st;
    xai_model *m = st->m;
    const xai_dataset *d = t->d;
    const int best = t->tc.select_best && st->best_epoch > 0;
    if (best) {
        memcpy(m->params, st->best_params, m->nparams * sizeof(float));
        memcpy(m->buffers, st->best_buffers, m->nbuffers * sizeof(float));
    }
    int kept = best ? st->best_epoch : t->epochs;
    const double *h = st->hist + (size_t)(kept - 1) * XAI_HIST_COLS;
    xai_train_result r;
    memset(&r, 0, sizeof r);
    r.epochs = t->epochs;
    r.best_epoch = kept;
    r.ntrain = t->ntr;
    r.nval = t->nval;
    r.ntest = d->test.n;
    r.train_loss = h[XAI_HIST_TRAIN_LOSS];
    r.train_acc = h[XAI_HIST_TRAIN_ACC];
    r.val_loss = h[XAI_HIST_VAL_LOSS];
    r.val_acc = h[XAI_HIST_VAL_ACC];
    r.seconds = st->seconds;
    r.img_per_s = t->run_train_s > 0 ? t->run_imgs / t->run_train_s : 0;
    r.resumed_from = t->resumed_from;
    r.test_loss = r.test_acc = NAN;
    if (d->test.n) {
        if (t->o->verbose) fprintf(stderr, "train: evaluating %d test images\n", d->test.n);
        XAI_TRY(evaluate(m, &d->test, NULL, d->test.n, &t->nz, t->ptrs, t->ybuf, &r.test_loss, &r.test_acc));
    }
    xai_train_run rec = {&t->tc, t->seed, t->o->limit, t->epochs, &r};
    if (xai_mpi_rank() == 0) {
        XAI_TRY(all_ranks(xai_train_file_write(t->o->out, st, t->c, d, &rec)));
        /* The finished model supersedes the checkpoint. */
        unlink(t->ckpt);
    } else {
        XAI_TRY(all_ranks(XAI_OK));
    }
    if (res) *res = r;
    return XAI_OK;
}

xai_status xai_train(const xai_config *c, const xai_dataset *d, const xai_train_opts *o, xai_train_result *res)
{
    trainer t;
    memset(&t, 0, sizeof t);
    xai_status s;
    if ((s = all_ranks(train_setup(&t, c, d, o))) != XAI_OK) goto done;
    while (t.st.epoch < t.epochs)
        if ((s = train_epoch(&t)) != XAI_OK) goto done;
    s = train_finish(&t, res);
done:
    trainer_free(&t);
    return s;
}
