/* cmd_datasets.c: the `xai fetch` and `xai datasets` subcommands.
 * Thin option parsing over xai_dataset_fetch / xai_dataset_info; the work is in dataset.c. */
#include "datasets/datasets.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const ALL[] = {"mnist", "fashion-mnist", "imagenette", "imagewoof"};

static void fetch_usage(FILE *f)
{
    fprintf(f,
            "usage: xai fetch [options] DATASET... | all\n"
            "\n"
            "Downloads, verifies, decodes and caches datasets (%s).\n"
            "Sources, in order: a mirror (when set), the system copy (Debian's dataset-fashion-mnist),\n"
            "upstream over HTTPS. Nothing is used unless its checksum matches.\n"
            "\n"
            "options:\n"
            "  --data-dir DIR     where downloads and caches go (default: $XAI_DATA_DIR or ./data)\n"
            "  --mirror PATH|URL  a mirror laid out as <mirror>/<dataset>/<file> with a SHA256SUMS\n"
            "                     (default: $XAI_MIRROR; '' for none)\n"
            "  --size N           image side for imagenette/imagewoof (default 64; MNIST stays 28)\n"
            "  --skip-bad         skip corrupt JPEGs (reported) instead of failing\n",
            XAI_DATASET_NAMES);
}

/* Parses the options shared by fetch and datasets; returns -1 when argv[*i]
 * is not one of them, 2 on a bad value, 0 when consumed. */
static int common_opt(int argc, char **argv, int *i, xai_fetch_opts *o, int *size_set)
{
    const char *v;
    if (xai_opt(argc, argv, i, "--data-dir", &v)) {
        if (!v || !*v) return fprintf(stderr, "xai: --data-dir needs a directory\n"), 2;
        o->data_dir = v;
        return 0;
    }
    if (xai_opt(argc, argv, i, "--mirror", &v)) {
        if (!v) return fprintf(stderr, "xai: --mirror needs a path or URL ('' for none)\n"), 2;
        o->mirror = v;
        return 0;
    }
    if (xai_opt(argc, argv, i, "--size", &v)) {
        char *end;
        long n = v ? strtol(v, &end, 10) : 0;
        if (!v || *end || n < 1 || n > 4096) return fprintf(stderr, "xai: --size needs a positive integer\n"), 2;
        o->size = (int)n;
        *size_set = 1;
        return 0;
    }
    if (!strcmp(argv[*i], "--skip-bad")) {
        o->skip_bad = 1;
        return 0;
    }
    return -1;
}

static int is_resizable(const char *name) { return !strcmp(name, "imagenette") || !strcmp(name, "imagewoof"); }

int xai_cmd_fetch(int argc, char **argv)
{
    xai_fetch_opts o = {0};
    int size_set = 0;
    const char *names[64];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fetch_usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-') {
            int r = common_opt(argc, argv, &i, &o, &size_set);
            if (r > 0) return r;
            if (r < 0) {
                fprintf(stderr, "xai fetch: unknown option '%s' (see 'xai fetch --help')\n", argv[i]);
                return 2;
            }
            continue;
        }
        if (!strcmp(argv[i], "all")) {
            for (int k = 0; k < 4 && n < 64; k++) names[n++] = ALL[k];
            continue;
        }
        if (!xai_dataset_known(argv[i])) {
            fprintf(stderr, "xai fetch: unknown dataset '%s'; expected one of: %s, all\n", argv[i], XAI_DATASET_NAMES);
            return 2;
        }
        if (n < 64) names[n++] = argv[i];
    }
    if (n == 0) {
        fetch_usage(stderr);
        return 2;
    }
    int failed = 0;
    for (int k = 0; k < n; k++) {
        xai_fetch_opts ok = o;
        /* One --size for a mixed list means the resizable datasets. */
        if (size_set && !is_resizable(names[k])) ok.size = 0;
        double t0 = xai_now();
        xai_status s = xai_dataset_fetch(names[k], &ok);
        if (s != XAI_OK) {
            xai_cli_error(s);
            failed++;
        } else if (!xai_quiet) {
            fprintf(stderr, "%s: ok (%.2f s)\n", names[k], xai_now() - t0);
        }
    }
    if (failed && n > 1) fprintf(stderr, "xai fetch: %d of %d datasets failed\n", failed, n);
    return failed ? 1 : 0;
}

static void datasets_usage(FILE *f)
{
    fprintf(f,
            "usage: xai datasets info DATASET [--data-dir DIR] [--size N]\n"
            "       xai datasets check DATASET [--data-dir DIR] [--size N]\n"
            "       xai datasets list [--data-dir DIR]\n"
            "\n"
            "info:  counts per split and class, image size, source files and checksums of a fetched dataset.\n"
            "check: loads every image of the cache (timed) and recomputes its channel statistics.\n"
            "list:  the known datasets and the caches present in the data directory.\n");
}

static int cmd_list(const xai_fetch_opts *o)
{
    const char *dd = o->data_dir ? o->data_dir : getenv("XAI_DATA_DIR");
    if (!dd || !*dd) dd = "./data";
    printf("data directory: %s\n", dd);
    DIR *d = opendir(dd);
    for (int k = 0; k < 4; k++) {
        printf("%-14s", ALL[k]);
        int found = 0;
        if (d) {
            rewinddir(d);
            size_t nl = strlen(ALL[k]);
            for (struct dirent *e; (e = readdir(d));) {
                const char *s = e->d_name;
                size_t len = strlen(s);
                if (!strncmp(s, ALL[k], nl) && s[nl] == '-' && len > nl + 4 && !strcmp(s + len - 3, ".h5") &&
                    strspn(s + nl + 1, "0123456789") == len - nl - 4) {
                    printf(" %s", s);
                    found = 1;
                }
            }
        }
        printf("%s\n", found ? "" : " (not fetched)");
    }
    if (d) closedir(d);
    return 0;
}

/* Reads the whole cache back, as training will, and checks the stored
 * statistics against the pixels: a cheap end-to-end test of the file. */
static int cmd_check(const char *name, const xai_fetch_opts *o)
{
    char *path;
    xai_status s = xai_dataset_cache_path(&path, name, o);
    if (s != XAI_OK) return xai_cli_error(s);
    if (!xai_file_exists(path)) {
        fprintf(stderr, "xai: %s: not fetched yet (no %s); run 'xai fetch %s'\n", name, path, name);
        free(path);
        return 1;
    }
    xai_dataset d;
    double t0 = xai_now();
    s = xai_dataset_load_file(&d, path, 0);
    double dt = xai_now() - t0;
    free(path);
    if (s != XAI_OK) return xai_cli_error(s);
    int C = d.train.shape.c, bad = 0;
    size_t hw = (size_t)d.train.shape.h * d.train.shape.w;
    for (int c = 0; c < C; c++) {
        double s1 = 0, s2 = 0;
        for (int i = 0; i < d.train.n; i++) {
            const uint8_t *p = d.train.images + ((size_t)i * C + c) * hw;
            for (size_t k = 0; k < hw; k++) s1 += p[k], s2 += (double)p[k] * p[k];
        }
        double n = (double)d.train.n * hw, m = s1 / n, sd = sqrt(s2 / n - m * m);
        if (fabs(m / 255 - d.mean[c]) > 1e-4 || fabs(sd / 255 - d.std[c]) > 1e-4) bad = 1;
    }
    printf("%s: loaded %d train + %d test images (%dx%dx%d) from %s in %.3f s; channel statistics %s\n", d.name,
           d.train.n, d.test.n, C, d.train.shape.h, d.train.shape.w, d.path, dt, bad ? "DO NOT MATCH" : "match");
    xai_dataset_free(&d);
    return bad;
}

int xai_cmd_datasets(int argc, char **argv)
{
    xai_fetch_opts o = {0};
    int size_set = 0;
    const char *sub = NULL, *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            datasets_usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-') {
            int r = common_opt(argc, argv, &i, &o, &size_set);
            if (r > 0) return r;
            if (r < 0) {
                fprintf(stderr, "xai datasets: unknown option '%s' (see 'xai datasets --help')\n", argv[i]);
                return 2;
            }
        } else if (!sub) {
            sub = argv[i];
        } else if (!name) {
            name = argv[i];
        } else {
            fprintf(stderr, "xai datasets: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (sub && !strcmp(sub, "list")) return cmd_list(&o);
    if (!sub || (strcmp(sub, "info") != 0 && strcmp(sub, "check") != 0) || !name) {
        datasets_usage(stderr);
        return 2;
    }
    if (!xai_dataset_known(name)) {
        fprintf(stderr, "xai datasets: unknown dataset '%s'; expected one of: %s\n", name, XAI_DATASET_NAMES);
        return 2;
    }
    if (size_set && !is_resizable(name)) o.size = 0;
    if (!strcmp(sub, "check")) return cmd_check(name, &o);
    xai_status s = xai_dataset_info(stdout, name, &o);
    return s == XAI_OK ? 0 : xai_cli_error(s);
}
