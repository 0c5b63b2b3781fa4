/* cmd_datasets.c: `xai fetch` and `xai datasets`: options in, xai_dataset_fetch / _info / _check /
 * _list out; the work is in datasets/. */
#include "datasets/datasets.h"
#include "experiments/commands.h"

#include <stdlib.h>
#include <string.h>

/* The options fetch and datasets share. */
typedef struct {
    xai_fetch_opts o;
    int size;
    const char *mirror;
} common_opts;

#define COMMON_OPTS(c)                                                                                                \
    {"--data-dir", XAI_ARG_STR, &(c).o.data_dir, "DIR", 0, 0,                                                        \
     "where downloads and caches go (default: $XAI_DATA_DIR or ./data)"},                                             \
        {"--mirror", XAI_ARG_STR0, &(c).mirror, "PATH|URL", 0, 0,                                                     \
         "a mirror laid out as <mirror>/<dataset>/<file> with a SHA256SUMS\n(default: $XAI_MIRROR; '' for none)"},    \
        {"--size", XAI_ARG_INT, &(c).size, "N", 1, 4096,                                                              \
         "image side for imagenette/imagewoof (default 64; MNIST stays 28)"}

/* One --size for a mixed list means the resizable datasets. */
static xai_fetch_opts opts_for(const common_opts *c, const char *name)
{
    xai_fetch_opts o = c->o;
    if (c->mirror) o.mirror = c->mirror;
    o.size = xai_dataset_resizable(name) ? c->size : 0;
    return o;
}

static int fetch_folder_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--image-folder", 14) || !strncmp(argv[i], "--name", 6)) return 1;
    return 0;
}

/* xai fetch --image-folder DIR --name NAME: one xai_folder_import. */
static int fetch_folder(common_opts *c, const xai_optdef *opts, int argc, char **argv, const char **folder,
                        const char **name)
{
    const xai_cmdspec spec = {"xai fetch", "--image-folder DIR --name NAME [--size N] [--data-dir DIR]", NULL, opts, 0};
    int r = xai_opts_parse(&spec, argc, argv, NULL, NULL);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    if (!*folder || !*name) {
        fprintf(stderr, "xai fetch: --image-folder DIR and --name NAME go together\n");
        return 2;
    }
    xai_fetch_opts o = c->o;
    o.size = c->size;
    xai_status s = xai_folder_import(*folder, *name, &o);
    return s == XAI_OK ? 0 : xai_cli_error(s);
}

int xai_cmd_fetch(int argc, char **argv)
{
    common_opts c;
    memset(&c, 0, sizeof c);
    const char *folder = NULL, *fname = NULL;
    const xai_optdef opts[] = {
        COMMON_OPTS(c),
        {"--skip-bad", XAI_ARG_FLAG, &c.o.skip_bad, NULL, 0, 0, "skip corrupt JPEGs (reported) instead of failing"},
        {"--image-folder", XAI_ARG_STR, &folder, "DIR", 0, 0,
         "build a dataset from DIR/<class>/<images> (or DIR/{train,val}/<class>/...;\nPNG, JPEG) at --size "
         "(default 64); needs --name"},
        {"--name", XAI_ARG_STR, &fname, "NAME", 0, 0, "the new dataset's name (a-z, 0-9, -, _), used as --dataset NAME"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    if (fetch_folder_wanted(argc, argv)) return fetch_folder(&c, opts, argc, argv, &folder, &fname);
    const xai_cmdspec spec = {
        "xai fetch", "[options] DATASET... | all",
        "\nDownloads, verifies, decodes and caches datasets (" XAI_DATASET_NAMES ").\n"
        "Sources, in order: a mirror (when set), the system copy (Debian's dataset-fashion-mnist),\n"
        "upstream over HTTPS. Nothing is used unless its checksum matches.",
        opts, -1};
    char **pos = xai_malloc(sizeof(char *) * (size_t)argc);
    const char **names = xai_malloc(sizeof(char *) * ((size_t)argc * 4 + 4));
    int npos = 0, n = 0, rc = 0;
    int r = xai_opts_parse(&spec, argc, argv, pos, &npos);
    if (r != XAI_OPTS_OK) {
        rc = r == XAI_OPTS_HELP ? 0 : 2;
        goto done;
    }
    for (int i = 0; i < npos; i++) {
        if (!strcmp(pos[i], "all")) {
            for (int k = 0; k < xai_dataset_count(); k++) names[n++] = xai_dataset_name(k);
        } else if (xai_dataset_known(pos[i]) || xai_folder_name_ok(pos[i])) {
            names[n++] = pos[i];
        } else {
            fprintf(stderr, "xai fetch: unknown dataset '%s'; expected one of: %s, all\n", pos[i], XAI_DATASET_NAMES);
            rc = 2;
            goto done;
        }
    }
    if (n == 0) {
        xai_opts_usage(&spec, stderr);
        rc = 2;
        goto done;
    }
    int failed = 0;
    for (int k = 0; k < n; k++) {
        xai_fetch_opts o = opts_for(&c, names[k]);
        double t0 = xai_now();
        xai_status s = xai_dataset_fetch(names[k], &o);
        if (s != XAI_OK) {
            xai_cli_error(s);
            failed++;
        } else if (!xai_quiet) {
            fprintf(stderr, "%s: ok (%.2f s)\n", names[k], xai_now() - t0);
        }
    }
    if (failed && n > 1) fprintf(stderr, "xai fetch: %d of %d datasets failed\n", failed, n);
    rc = failed ? 1 : 0;
done:
    free(pos);
    free(names);
    return rc;
}

int xai_cmd_datasets(int argc, char **argv)
{
    common_opts c;
    memset(&c, 0, sizeof c);
    const xai_optdef opts[] = {COMMON_OPTS(c), {NULL, 0, NULL, NULL, 0, 0, NULL}};
    const xai_cmdspec spec = {
        "xai datasets", "info|check DATASET [options]\n       xai datasets list [--data-dir DIR]\n"
        "       xai datasets import NAME DIR [--size S] [--data-dir DIR]",
        "\ninfo:   counts per split and class, image size, source files and checksums of a fetched dataset.\n"
        "check:  loads every image of the cache (timed) and recomputes its channel statistics.\n"
        "list:   the known datasets and the caches present in the data directory.\n"
        "import: an ImageFolder tree (DIR/{train,val}/<class>/<images> or DIR/<class>/<images>; PNG,\n"
        "        JPEG) as dataset NAME at S x S (default 64); the same as xai fetch --image-folder.",
        opts, 3};
    char *pos[3] = {NULL, NULL, NULL};
    int npos = 0;
    int r = xai_opts_parse(&spec, argc, argv, pos, &npos);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    const char *sub = pos[0], *name = pos[1];
    if (sub && !strcmp(sub, "import") && name && pos[2]) {
        xai_fetch_opts o = c.o;
        o.size = c.size;
        xai_status s = xai_folder_import(pos[2], name, &o);
        return s == XAI_OK ? 0 : xai_cli_error(s);
    }
    if (sub && !strcmp(sub, "list")) {
        xai_dataset_list(stdout, c.o.data_dir);
        return 0;
    }
    if (!sub || (strcmp(sub, "info") != 0 && strcmp(sub, "check") != 0) || !name) {
        xai_opts_usage(&spec, stderr);
        return 2;
    }
    if (!xai_dataset_known(name) && !xai_folder_name_ok(name)) {
        fprintf(stderr, "xai datasets: unknown dataset '%s'; expected one of: %s, or a folder dataset's name\n", name,
                XAI_DATASET_NAMES);
        return 2;
    }
    xai_fetch_opts o = opts_for(&c, name);
    if (!xai_dataset_known(name)) o.size = c.size; /* a folder dataset: --size picks one of its caches */
    int match = 1;
    xai_status s = !strcmp(sub, "check") ? xai_dataset_check(stdout, name, &o, &match) : xai_dataset_info(stdout, name, &o);
    if (s != XAI_OK) return xai_cli_error(s);
    return match ? 0 : 1;
}
