/* experiment.c: trains the model of an experiment config: resolves its dataset and output file,
 * then runs xai_train. What `xai train` does, as a library call. */
#include "core/mpi.h"
#include "trainers/trainers.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

/* The [experiment] dataset, checked, and the [model]'s input side (the dataset's image size). */
static xai_status experiment_dataset(const xai_config *cfg, const char **name, int *size)
{
    xai_train_cfg tc;
    XAI_TRY(xai_train_cfg_parse(&tc, cfg));
    const char *ds = xai_config_str(cfg, "experiment", "dataset", NULL);
    if (!ds)
        return xai_fail(XAI_EINVAL, "%s: [experiment] needs `dataset = NAME` (one of %s)", cfg->path,
                        XAI_DATASET_NAMES);
    if (!xai_dataset_known(ds) && !xai_folder_name_ok(ds))
        return xai_fail(XAI_EINVAL, "%s: [experiment] dataset = '%s' is not one of %s nor a folder dataset name "
                        "(xai fetch --image-folder)", cfg->path, ds, XAI_DATASET_NAMES);
    /* Build the model once up front so a bad [model] fails before any download. */
    xai_model *probe = NULL;
    XAI_TRY(xai_model_from_config(&probe, cfg, 1));
    *size = probe->in.h;
    xai_model_free(probe);
    *name = ds;
    return XAI_OK;
}

/* results/<experiment name, else config file stem>/model.h5 */
static void default_out(char *out, size_t cap, const xai_config *cfg, const char *config_path)
{
    const char *name = xai_config_str(cfg, "experiment", "name", NULL);
    char stem[256];
    if (!name) {
        char *tmp = xai_strdup(config_path);
        snprintf(stem, sizeof stem, "%s", basename(tmp));
        free(tmp);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem) *dot = 0;
        name = stem;
    }
    snprintf(out, cap, "results/%s/model.h5", name);
}

static xai_status make_parent_dir(const char *path)
{
    char *dir = xai_strdup(path);
    xai_status s = xai_mkdirs(dirname(dir));
    free(dir);
    return s;
}

/* Under MPI rank 0 loads (and fetches, when the cache is missing) first, then the others read
 * the cache it left, so that no two ranks download or write the same cache. */
static xai_status load_on_every_rank(xai_dataset *d, const char *name, const xai_fetch_opts *fo)
{
    xai_status s = xai_mpi_rank() == 0 ? xai_dataset_load(d, name, fo) : XAI_OK;
    if ((s = (xai_status)xai_mpi_agree(s)) != XAI_OK) return s;
    if (xai_mpi_rank() != 0) s = xai_dataset_load(d, name, fo);
    return (xai_status)xai_mpi_agree(s);
}

xai_status xai_train_experiment(const xai_train_request *q, xai_train_outcome *out)
{
    memset(out, 0, sizeof *out);
    xai_config cfg;
    XAI_TRY(xai_config_load(&cfg, q->config));
    xai_dataset d;
    memset(&d, 0, sizeof d);
    const char *dsname = NULL;
    int size = 0;
    xai_status s;
    if ((s = experiment_dataset(&cfg, &dsname, &size)) != XAI_OK) goto done;
    if (q->out) snprintf(out->out, sizeof out->out, "%s", q->out);
    else default_out(out->out, sizeof out->out, &cfg, q->config);
    /* The default output too: training must never write over its own config. */
    if ((s = xai_output_not_input(q->out ? "--out" : "the default output", out->out, "--config", q->config)) != XAI_OK)
        goto done;
    if ((s = make_parent_dir(out->out)) != XAI_OK) goto done;

    xai_fetch_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.data_dir = q->data_dir;
    fo.mirror = q->mirror;
    fo.size = size;
    fo.limit = q->train.limit;
    if ((s = load_on_every_rank(&d, dsname, &fo)) != XAI_OK) goto done;
    snprintf(out->dataset, sizeof out->dataset, "%s", d.name);
    xai_train_opts o = q->train;
    o.out = out->out;
    s = xai_train(&cfg, &d, &o, &out->r);
done:
    xai_dataset_free(&d);
    xai_config_free(&cfg);
    return s;
}
