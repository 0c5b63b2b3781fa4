/* cmd_train.c: `xai train`: trains an experiment's model from scratch and writes it to HDF5.
 * Loads (fetching when needed) the dataset named in [experiment], then runs xai_train. */
#include "trainers/trainers.h"
#include "experiments/commands.h"

#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void train_usage(FILE *f)
{
    fprintf(f,
            "usage: xai train --config FILE [--out FILE] [--data-dir DIR] [--mirror DIR] [--resume]\n"
            "                 [--epochs N] [--limit N] [--seed N]\n"
            "Trains the [model] of an experiment config from scratch with its [train] settings on the\n"
            "[experiment] dataset and writes the model file (layout: trainers/README.md).\n"
            "\n"
            "  --config FILE   experiment config, e.g. experiments/mnist.ini\n"
            "  --out FILE      model file (default results/<experiment>/model.h5); the checkpoint of\n"
            "                  each epoch is kept beside it as <out>.ckpt.h5 until training ends\n"
            "  --data-dir DIR  dataset cache directory (default $XAI_DATA_DIR, else ./data)\n"
            "  --mirror DIR    look for dataset source files here first (default $XAI_MIRROR)\n"
            "  --resume        continue an interrupted run from its checkpoint (same config and\n"
            "                  options); gives the same weights as an uninterrupted run\n"
            "  --epochs N      train N epochs instead of [train] epochs\n"
            "  --limit N       use only the first N images of each split (quick smoke runs)\n"
            "  --seed N        seed instead of [experiment] seed\n"
            "Global options (before 'train'): --threads N, --quiet.\n");
}

static int parse_pos(const char *opt, const char *v, long lo, long *out)
{
    char *end;
    if (!v) {
        fprintf(stderr, "xai train: %s needs a value (see 'xai train --help')\n", opt);
        return 0;
    }
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo) {
        fprintf(stderr, "xai train: %s %s: expected an integer >= %ld\n", opt, v, lo);
        return 0;
    }
    *out = x;
    return 1;
}

int xai_cmd_train(int argc, char **argv)
{
    const char *config = NULL, *out = NULL, *data_dir = NULL, *mirror = NULL;
    xai_train_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 1; i < argc; i++) {
        const char *v;
        long x;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            train_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--resume")) {
            o.resume = 1;
        } else if (xai_opt(argc, argv, &i, "--config", &v)) {
            if (!(config = v)) return fprintf(stderr, "xai train: --config needs a file\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--out", &v)) {
            if (!(out = v)) return fprintf(stderr, "xai train: --out needs a file\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--data-dir", &v)) {
            if (!(data_dir = v)) return fprintf(stderr, "xai train: --data-dir needs a directory\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--mirror", &v)) {
            if (!(mirror = v)) return fprintf(stderr, "xai train: --mirror needs a directory or URL\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--epochs", &v)) {
            if (!parse_pos("--epochs", v, 1, &x)) return 2;
            o.epochs = (int)x;
        } else if (xai_opt(argc, argv, &i, "--limit", &v)) {
            if (!parse_pos("--limit", v, 1, &x)) return 2;
            o.limit = (int)x;
        } else if (xai_opt(argc, argv, &i, "--seed", &v)) {
            if (!parse_pos("--seed", v, 0, &x)) return 2;
            o.have_seed = 1;
            o.seed = (uint64_t)x;
        } else {
            fprintf(stderr, "xai train: unknown option '%s' (see 'xai train --help')\n", argv[i]);
            return 2;
        }
    }
    if (!config) {
        fprintf(stderr, "xai train: --config FILE is required, e.g. xai train --config experiments/mnist.ini\n");
        return 2;
    }
    xai_config cfg;
    xai_status s = xai_config_load(&cfg, config);
    if (s != XAI_OK) return xai_cli_error(s);
    xai_train_cfg tc;
    s = xai_train_cfg_parse(&tc, &cfg);
    const char *dsname = xai_config_str(&cfg, "experiment", "dataset", NULL);
    if (s == XAI_OK && !dsname)
        s = xai_fail(XAI_EINVAL, "%s: [experiment] needs `dataset = NAME` (one of %s)", config, XAI_DATASET_NAMES);
    if (s == XAI_OK && !xai_dataset_known(dsname))
        s = xai_fail(XAI_EINVAL, "%s: [experiment] dataset = '%s' is not one of %s", config, dsname,
                     XAI_DATASET_NAMES);
    /* Build the model once up front so a bad [model] fails before any download. */
    xai_model *probe = NULL;
    if (s == XAI_OK) s = xai_model_from_config(&probe, &cfg, 1);
    int size = probe ? probe->in.h : 0;
    xai_model_free(probe);
    if (s != XAI_OK) {
        xai_config_free(&cfg);
        return xai_cli_error(s);
    }

    /* Default output: results/<experiment name, else config file stem>/model.h5 */
    char defout[1024];
    if (!out) {
        const char *name = xai_config_str(&cfg, "experiment", "name", NULL);
        char stem[256];
        if (!name) {
            char *tmp = xai_strdup(config);
            snprintf(stem, sizeof stem, "%s", basename(tmp));
            free(tmp);
            char *dot = strrchr(stem, '.');
            if (dot && dot != stem) *dot = 0;
            name = stem;
        }
        snprintf(defout, sizeof defout, "results/%s/model.h5", name);
        out = defout;
    }
    char *dir = xai_strdup(out);
    s = xai_mkdirs(dirname(dir));
    free(dir);
    if (s != XAI_OK) {
        xai_config_free(&cfg);
        return xai_cli_error(s);
    }

    xai_fetch_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.data_dir = data_dir;
    fo.mirror = mirror;
    fo.size = size;
    fo.limit = o.limit;
    xai_dataset d;
    memset(&d, 0, sizeof d);
    s = xai_dataset_load(&d, dsname, &fo);
    if (s != XAI_OK) {
        xai_config_free(&cfg);
        return xai_cli_error(s);
    }
    o.out = out;
    o.verbose = !xai_quiet;
    xai_train_result r;
    s = xai_train(&cfg, &d, &o, &r);
    if (s == XAI_OK) {
        char val[96] = "no validation split";
        if (r.nval)
            snprintf(val, sizeof val, "val %.2f%% (%d images, epoch %d of %d kept)", 100 * r.val_acc, r.nval,
                     r.best_epoch, r.epochs);
        printf("%s: test accuracy %.2f%% (%d images), %s, train %.2f%%, %.1f s training, %.0f img/s\n", d.name,
               100 * r.test_acc, r.ntest, val, 100 * r.train_acc, r.seconds, r.img_per_s);
        printf("model written to %s\n", out);
    }
    xai_dataset_free(&d);
    xai_config_free(&cfg);
    return s == XAI_OK ? 0 : xai_cli_error(s);
}
