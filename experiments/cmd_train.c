/* cmd_train.c: `xai train`: trains an experiment's model from scratch and writes it to HDF5.
 * Options in, one xai_train_experiment call, the summary out. */
#include "core/io.h"
#include "core/mpi.h"
#include "experiments/commands.h"
#include "trainers/trainers.h"

#include <string.h>

int xai_cmd_train(int argc, char **argv)
{
    xai_train_request q;
    memset(&q, 0, sizeof q);
    int64_t seed = -1;
    const xai_optdef opts[] = {
        {"--config", XAI_ARG_STR, &q.config, "FILE", 0, 0, "experiment config, e.g. experiments/mnist.ini"},
        {"--out", XAI_ARG_STR, &q.out, "FILE",
         0, 0,
         "model file (default results/<experiment>/model.h5); the checkpoint of\n"
         "each epoch is kept beside it as <out>.ckpt.h5 until training ends"},
        {"--data-dir", XAI_ARG_STR, &q.data_dir, "DIR", 0, 0, "dataset cache directory (default $XAI_DATA_DIR, else ./data)"},
        {"--mirror", XAI_ARG_STR, &q.mirror, "DIR", 0, 0, "look for dataset source files here first (default $XAI_MIRROR)"},
        {"--resume", XAI_ARG_FLAG, &q.train.resume, NULL, 0, 0,
         "continue an interrupted run from its checkpoint (same config and\n"
         "options); gives the same weights as an uninterrupted run"},
        {"--epochs", XAI_ARG_INT, &q.train.epochs, "N", 1, 0, "train N epochs instead of [train] epochs"},
        {"--limit", XAI_ARG_INT, &q.train.limit, "N", 1, 0, "use only the first N images of each split (quick smoke runs)"},
        {"--seed", XAI_ARG_I64, &seed, "N", 0, 0, "seed instead of [experiment] seed"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {
        "xai train", "--config FILE [options]",
        "Trains the [model] of an experiment config from scratch with its [train] settings on the\n"
        "[experiment] dataset and writes the model file (layout: trainers/README.md).",
        opts, 0};
    int r = xai_opts_parse(&spec, argc, argv, NULL, NULL);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    if (!q.config) {
        fprintf(stderr, "xai train: --config FILE is required, e.g. xai train --config experiments/mnist.ini\n");
        return 2;
    }
    q.train.have_seed = seed >= 0;
    q.train.seed = (uint64_t)(seed >= 0 ? seed : 0);
    /* mpirun -n R: one data-parallel run; rank 0 speaks and writes (trainers/README.md, MPI). */
    q.train.verbose = !xai_quiet && xai_mpi_rank() == 0;

    xai_train_outcome t;
    xai_status s = xai_output_not_input("--out", q.out, "--config", q.config);
    if (s != XAI_OK) return xai_cli_error(s);
    s = xai_train_experiment(&q, &t);
    if (s != XAI_OK) return xai_cli_error(s);
    if (xai_mpi_rank() != 0) return 0;
    char val[96] = "no validation split";
    if (t.r.nval)
        snprintf(val, sizeof val, "val %.2f%% (%d images, epoch %d of %d kept)", 100 * t.r.val_acc, t.r.nval,
                 t.r.best_epoch, t.r.epochs);
    printf("%s: test accuracy %.2f%% (%d images), %s, train %.2f%%, %.1f s training, %.0f img/s\n", t.dataset,
           100 * t.r.test_acc, t.r.ntest, val, 100 * t.r.train_acc, t.r.seconds, t.r.img_per_s);
    printf("model written to %s\n", t.out);
    return 0;
}
