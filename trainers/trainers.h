/* trainers.h: public API of the training module: optimisers, learning-rate schedules,
 * augmentation, checkpoints, the from-scratch training loop behind `xai train` and the reader
 * of what training recorded in the model file. */
#ifndef XAI_TRAINERS_H
#define XAI_TRAINERS_H

#include "core/base.h"
#include "core/io.h"
#include "core/config.h"
#include "core/nn.h"
#include "datasets/datasets.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------- optimisers */

typedef enum { XAI_OPTIM_SGD, XAI_OPTIM_ADAM, XAI_OPTIM_ADAMW } xai_optim_type;

typedef struct {
    xai_optim_type type;
    double momentum;     /* sgd: heavy-ball coefficient (0: plain SGD) */
    int nesterov;        /* sgd: Nesterov momentum (PyTorch's formulation) */
    double beta1, beta2; /* adam/adamw: moment decay rates */
    double eps;          /* adam/adamw: added to sqrt(v_hat) */
    double weight_decay; /* sgd/adam: L2 added to the gradient; adamw: decoupled decay */
} xai_optim_cfg;

/* Optimiser state over a flat parameter array (a model's m->params). */
typedef struct {
    xai_optim_cfg cfg;
    size_t n;        /* parameters */
    float *m1;       /* (n) sgd momentum buffer / adam first moment */
    float *m2;       /* (n) adam second moment; NULL for sgd */
    uint8_t *decay;  /* (n) 1 where weight decay applies */
    int64_t t;       /* steps taken (adam bias correction) */
} xai_optim;

/* Zeroed state for n parameters; weight decay applies to all of them until
 * xai_optim_decay_model narrows it. */
xai_status xai_optim_init(xai_optim *o, const xai_optim_cfg *c, size_t n);
/* Decay only conv and linear weights of m (biases and batchnorm scale/shift
 * are exempt) unless all is 1. o->n must equal m->nparams. */
void xai_optim_decay_model(xai_optim *o, const xai_model *m, int all);
/* One update at learning rate lr: params (n) -= f(grads (n), state). */
void xai_optim_step(xai_optim *o, float *params /* (n) */, const float *grads /* (n) */, double lr);
void xai_optim_free(xai_optim *o);
const char *xai_optim_name(xai_optim_type t); /* "sgd", "adam", "adamw" */

/* ---------------------------------------------------------------- schedules */

typedef enum { XAI_SCHED_CONSTANT, XAI_SCHED_STEP, XAI_SCHED_COSINE, XAI_SCHED_ONECYCLE } xai_sched_type;

#define XAI_SCHED_MAX_MILESTONES 16

/* Learning rate as a function of the optimiser step (0-based), see trainers/README.md. */
typedef struct {
    xai_sched_type type;
    double lr;                /* base (constant, step) or peak (cosine, onecycle) rate */
    int64_t total_steps;      /* epochs * steps_per_epoch */
    int64_t steps_per_epoch;
    double warmup_epochs;     /* cosine: linear ramp; onecycle: rising phase */
    double min_lr;            /* cosine: floor */
    double div_factor;        /* onecycle: start at lr / div_factor */
    double final_div_factor;  /* onecycle: end at lr / div_factor / final_div_factor */
    double gamma;             /* step: factor at each milestone */
    int milestones[XAI_SCHED_MAX_MILESTONES]; /* step: epochs (ascending) where lr *= gamma */
    int nmilestones;
} xai_sched;

double xai_sched_lr(const xai_sched *s, int64_t step);
const char *xai_sched_name(xai_sched_type t); /* "constant", "step", "cosine", "onecycle" */

/* ------------------------------------------------------------- augmentation */

typedef enum { XAI_AUG_NONE, XAI_AUG_CROP, XAI_AUG_RRC } xai_aug_type;

typedef struct {
    xai_aug_type type;  /* crop: random crop of the zero-padded image; rrc: random-resized crop */
    int pad;            /* crop: padding on every side, in pixels (padded pixels are black, value 0) */
    double min_scale;   /* rrc: smallest crop area as a fraction of the image */
    int flip;           /* 1: horizontal flip with probability 1/2 */
} xai_aug_cfg;

/* Per-channel lookup from a uint8 pixel to the net's input (pixel/255 - mean)/std. */
typedef struct {
    int c;
    float lut[4][256];
    float mean[4], std[4];
} xai_normalizer;

void xai_normalizer_init(xai_normalizer *nz, int c, const float *mean /* (C) */, const float *std /* (C) */);
/* Normalises n images without augmentation. */
void xai_normalize_batch(float *out /* (N, C, H, W) */, const uint8_t *const *imgs /* (N) -> (C, H, W) */, int n,
                         xai_shape s, const xai_normalizer *nz);
/* Augments and normalises n images; the random choices are drawn from r in
 * sample order before any pixel is written, so the result is the same for every
 * thread count. */
void xai_augment_batch(float *out /* (N, C, H, W) */, const uint8_t *const *imgs /* (N) -> (C, H, W) */, int n,
                       xai_shape s, const xai_normalizer *nz, const xai_aug_cfg *a, xai_rng *r);

/* ------------------------------------------------------------------ training */

/* The [train] section of an experiment config (keys and defaults: trainers/README.md). */
typedef struct {
    int epochs, batch;
    xai_optim_cfg optim;
    xai_sched sched;          /* total/steps_per_epoch are filled in when the data is known */
    int step_epochs;          /* step schedule without milestones: lr *= gamma every this many epochs */
    int decay_all;            /* 1: weight decay on biases and batchnorm parameters too */
    double label_smoothing;
    double grad_clip;         /* > 0: clip the global gradient L2 norm to this */
    double val_fraction;      /* share of the training split held out for validation */
    xai_aug_cfg aug;
    int select_best;          /* 1: keep the weights of the epoch with the best val accuracy */
    uint64_t seed;            /* [experiment] seed */
} xai_train_cfg;

/* Parses [train] (and [experiment] seed); unknown [train] keys are errors naming the line. */
xai_status xai_train_cfg_parse(xai_train_cfg *t, const xai_config *c);

/* Training loss: softmax cross-entropy against (1 - eps) one-hot + eps/K targets, averaged
 * over the batch; dz gets its gradient (softmax - target) / n. correct (may be NULL) counts
 * argmax hits. eps = 0 is xai_softmax_xent. */
double xai_train_xent(const float *z /* (N, K) */, const int32_t *y /* (N) */, int n, int k, double eps,
                      float *dz /* (N, K) */, int *correct);

/* The same over images [0, n) of a batch of ntotal (one MPI rank's share): the loss summed over
 * them divided by ntotal, dz = (softmax - target) / ntotal. n = ntotal is xai_train_xent. */
double xai_train_xent_part(const float *z, const int32_t *y, int n, int ntotal, int k, double eps, float *dz,
                           int *correct);

/* Columns of the per-epoch history (dataset /train/history). */
enum { XAI_HIST_EPOCH, XAI_HIST_LR, XAI_HIST_TRAIN_LOSS, XAI_HIST_TRAIN_ACC, XAI_HIST_VAL_LOSS, XAI_HIST_VAL_ACC,
       XAI_HIST_SECONDS, XAI_HIST_COLS };
#define XAI_HIST_COLUMNS "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds"

typedef struct {
    const char *out;       /* model file to write; the checkpoint is "<out>.ckpt.h5" */
    int resume;            /* 1: continue from the checkpoint when there is one */
    int epochs;            /* > 0: overrides [train] epochs */
    int have_seed;         /* 1: seed overrides [experiment] seed */
    uint64_t seed;
    int limit;             /* recorded only: the dataset was loaded with this image limit (0: none) */
    int verbose;           /* per-epoch lines and progress bars on stderr */
    /* Test hook, called after every optimiser step (epoch and batch 0-based);
     * returning nonzero stops at once, writing nothing, as a kill would. */
    int (*on_batch)(void *ctx, int epoch, int batch);
    void *hook_ctx;
} xai_train_opts;

typedef struct {
    int epochs, best_epoch;    /* best_epoch 1-based: the epoch whose weights were kept */
    int ntrain, nval, ntest;
    double train_loss, train_acc; /* running means over the kept epoch (augmented inputs) */
    double val_loss, val_acc, test_loss, test_acc;
    double seconds;            /* training wall time, summed over resumed runs */
    double img_per_s;          /* training throughput of the last run */
    int resumed_from;          /* epochs restored from a checkpoint (0: fresh start) */
} xai_train_result;

/* Trains the [model] of c from scratch on d (train split minus a held-out val
 * part; test accuracy on d->test), checkpointing after every epoch, and writes
 * the model file (xai_model_load reads it) with a /train group of provenance
 * and history. A non-finite loss stops with XAI_ESTATE and keeps the last good
 * checkpoint. r may be NULL. */
xai_status xai_train(const xai_config *c, const xai_dataset *d, const xai_train_opts *o, xai_train_result *r);

/* "<out>.ckpt.h5" (malloc'd). */
char *xai_train_ckpt_path(const char *out);

/* What a trainer recorded in a model file's /train group (layout: trainers/README.md): final
 * accuracies, settings, provenance and the per-epoch history. NaN / -1 / "" where the attribute
 * is absent (limit: 0). */
typedef struct {
    char dataset[128];
    double train_acc, val_acc, test_acc, train_loss, val_loss, test_loss, lr, train_seconds, img_per_s;
    int64_t epochs, best_epoch, batch, seed, train_images, val_images, test_images, threads, limit;
    char optimizer[32], schedule[32], select[16], created_utc[32], config_path[512], dataset_sha256[80];
    double *history;        /* (hist_rows, hist_cols) /train/history, malloc'd; NULL when absent */
    int hist_rows, hist_cols;
    char hist_columns[256]; /* its @columns, comma-separated */
} xai_train_record;

/* Reads /train of a model file. *found = 0 (and the record left at its defaults) when the file
 * has no /train group; an unreadable file is an error naming it. Free with xai_train_record_free. */
xai_status xai_train_record_read(xai_train_record *r, const char *model_path, int *found);
void xai_train_record_free(xai_train_record *r);

/* ---------------------------------------------------- training an experiment */

/* What `xai train` asks for. */
typedef struct {
    const char *config;    /* experiment config file */
    const char *out;       /* NULL: results/<[experiment] name, else the config file's stem>/model.h5 */
    const char *data_dir;  /* as in xai_fetch_opts */
    const char *mirror;
    xai_train_opts train;  /* resume, epochs, limit, seed, verbose, hooks; `out` is filled in */
} xai_train_request;

typedef struct {
    xai_train_result r;
    char dataset[32];      /* the [experiment] dataset trained on */
    char out[1024];        /* the model file written */
} xai_train_outcome;

/* Trains the experiment of q->config: checks [experiment] dataset and builds the [model]
 * (so a bad config fails before any download), loads the dataset (fetching it when missing,
 * q->train.limit images per split), creates the output folder and runs xai_train. */
xai_status xai_train_experiment(const xai_train_request *q, xai_train_outcome *out);

#endif
