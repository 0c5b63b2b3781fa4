/* checkpoint.h: private to trainers/: the training state a checkpoint restores, and the writers
 * of the two files training produces (the per-epoch checkpoint, the model file's /train group). */
#ifndef XAI_TRAINERS_CHECKPOINT_H
#define XAI_TRAINERS_CHECKPOINT_H

#include "trainers/trainers.h"

/* Everything a checkpoint must restore for the continuation to be bit-identical. */
typedef struct {
    xai_model *m;
    xai_optim opt;
    xai_rng rng;         /* shuffling and augmentation stream, at an epoch boundary */
    int epoch;           /* completed epochs */
    int64_t step;        /* optimiser steps taken */
    double *hist;        /* (epochs, XAI_HIST_COLS) */
    float *best_params;  /* (nparams) */
    float *best_buffers; /* (nbuffers) */
    int best_epoch;      /* 1-based; 0: none yet */
    double best_val_acc;
    double seconds;      /* training wall time of all runs so far */
} xai_train_state;

/* FNV-1a over the entries that decide the trained weights ([experiment], [model], [train]),
 * so that adding [explain]/[evaluate] settings later does not orphan a checkpoint. */
uint64_t xai_train_hash(const xai_config *c);

/* Writes st atomically (and fsync'd) to path; signature names the run it belongs to. */
xai_status xai_ckpt_write(const char *path, const xai_train_state *st, const char *signature);
/* Restores st (its model, optimiser and buffers already allocated for the config's [model])
 * from a checkpoint written with the same signature. */
xai_status xai_ckpt_read(const char *path, xai_train_state *st, const char *signature, int epochs);

/* What the writer puts in the /train group besides the config and the dataset (the reader
 * returns xai_train_record, trainers.h). */
typedef struct {
    const xai_train_cfg *tc;
    uint64_t seed;
    int limit, epochs;
    const xai_train_result *r;
} xai_train_run;

/* Writes the trained model file: st's model plus the /train group (provenance, history). */
xai_status xai_train_file_write(const char *out, const xai_train_state *st, const xai_config *c,
                                const xai_dataset *d, const xai_train_run *rec);

#endif
