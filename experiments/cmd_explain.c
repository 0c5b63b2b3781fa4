/* cmd_explain.c: `xai explain`: options (from the command line and a config's [explain] section)
 * into one xai_explain_run, and a line of figures per method on stdout. */
#include "core/config.h"
#include "core/io.h"
#include "core/mpi.h"
#include "datasets/datasets.h"
#include "experiments/commands.h"
#include "explainers/explain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options that reach every method of a kind as a "key=value" setting (see xai_method_parse):
 * the value of option val[v] of the table below. */
enum { NVAL = 12 };
static const struct {
    const char *key;
    xai_method_kind kind;
    int v;
} PASS[] = {
    {"steps", XAI_METHOD_IG, 0},          {"rule", XAI_METHOD_IG, 1},       {"baseline", XAI_METHOD_IG, 2},
    {"value", XAI_METHOD_IG, 3},          {"sigma", XAI_METHOD_IG, 4},      {"eps", XAI_METHOD_LRP, 5},
    {"gamma", XAI_METHOD_LRP, 6},         {"bias", XAI_METHOD_LRP, 7},      {"stabilizer", XAI_METHOD_LRP, 8},
    {"samples", XAI_METHOD_SMOOTHGRAD, 9}, {"noise", XAI_METHOD_SMOOTHGRAD, 10}, {"seed", XAI_METHOD_IG, 11},
    {"seed", XAI_METHOD_SMOOTHGRAD, 11},  {"seed", XAI_METHOD_RANDOM, 11},
};

typedef struct {
    xai_explain_cfg cfg;
    const char *val[NVAL]; /* values of the PASS options, in their table order */
    const char *config;
    int images;
} explain_args;

#define STR(name, dest, meta, help) {name, XAI_ARG_STR, dest, meta, 0, 0, help}
#define ROWS_MAX (1 << 30)

static const char ABOUT[] =
    "Attributions of the model's target class for N test images, written to one HDF5 file\n"
    "(layout: explainers/README.md).\n"
    "\n"
    "Method specs: NAME[:key=value]..., e.g. ig:rule=midpoint:steps=64, ig:rule=exact (exact IG\n"
    "for piecewise-linear nets; steps unused), lrp-epsilon:eps=0.25,\n"
    "lrp-epsilon:first=flat:bias=ignore, smoothgrad:samples=20. LRP composites: lrp-0,\n"
    "lrp-epsilon, lrp-gamma, lrp-zplus, lrp-alpha1beta0, lrp-alpha2beta1, lrp-flat, lrp-wsquare,\n"
    "lrp-zbox, lrp-epsilon-plus-flat, lrp-epsilon-gamma-box, lrp-preset-a, lrp-preset-b.";

enum { NOPTS = 28 };

/* The option table, pointing into a. */
static void option_table(xai_optdef *t, explain_args *a)
{
    xai_explain_cfg *c = &a->cfg;
    const xai_optdef opts[] = {
        STR("--model", &c->model, "FILE", "trained model (xai train)"),
        STR("--dataset", &c->dataset, "NAME", XAI_DATASET_NAMES ", or a dataset cache file (.h5)"),
        {"--images", XAI_ARG_FLAG, &a->images, NULL, 0, 0,
         "explain the PNG/JPEG files (and folders of them) given as arguments\ninstead of a dataset: centre-cropped, "
         "resized and normalised as\nthe model file says; all of them (--n, --start ignored)"},
        STR("--methods", &c->methods, "LIST",
            "comma-separated method specs (default: ig,lrp-epsilon,lrp-zplus,\nlrp-alpha2beta1,lrp-epsilon-plus-flat,"
            "lrp-epsilon-gamma-box,gradient,\ngradient-x-input,smoothgrad,random)"),
        {"--n", XAI_ARG_INT, &c->n, "N", 1, ROWS_MAX, "images to explain (default 256)"},
        {"--start", XAI_ARG_INT, &c->start, "S", 0, ROWS_MAX, "first test image (default 0)"},
        STR("--select", &c->select, "HOW",
            "first (test images from --start in order, default) or stratified\n(classes in turn, each in index "
            "order: every prefix is class-balanced)"),
        STR("--target", &c->target, "T", "pred (predicted class, default), label (true class), a class index,\nor a class name or id of the dataset (e.g. tench, n01440764)"),
        STR("--out", &c->out, "FILE", "output (default: attributions.h5 beside the model)"),
        STR("--heatmaps", &c->heatmaps, "DIR",
            "one PNG per image and method (the study's colours); default with\n--images: <out without .h5>_heatmaps; "
            "'none': no PNG files"),
        {"--ig-batch", XAI_ARG_INT, &c->rows, "R", 1, XAI_BATCH_MAX,
         "rows per batched pass, for every method; bounds memory (default: up\nto 256 rows within about 512 MB of "
         "activations)"},
        {"--batch", XAI_ARG_INT, &c->rows, "R", 1, XAI_BATCH_MAX, "the same as --ig-batch"},
        STR("--ig-steps", &a->val[0], "S", "IG quadrature points (default 50)"),
        STR("--ig-rule", &a->val[1], "R", "left, right, midpoint, trapezoid, gauss (default gauss), exact"),
        STR("--ig-baseline", &a->val[2], "B", "black (= zero), const, mean, uniform, blur (default black)"),
        STR("--ig-value", &a->val[3], "V", "const baseline's pixel value in [0, 1]"),
        STR("--ig-sigma", &a->val[4], "S", "blur baseline's sigma in pixels (default 5)"),
        STR("--lrp-epsilon", &a->val[5], "E", "epsilon rule stabiliser (default 1e-6; presets 0.1)"),
        STR("--lrp-gamma", &a->val[6], "G", "gamma rule (default 0.25)"),
        STR("--lrp-bias", &a->val[7], "MODE", "input (biases take a share of relevance, default) or ignore"),
        STR("--lrp-stabilizer", &a->val[8], "S", "other rules' denominators (default 1e-9)"),
        STR("--sg-samples", &a->val[9], "N", "SmoothGrad samples (default 50)"),
        STR("--sg-noise", &a->val[10], "F", "SmoothGrad noise, a fraction of the input range (default 0.15)"),
        STR("--seed", &a->val[11], "S", "seed of IG's uniform baseline, SmoothGrad and random (default 1)"),
        STR("--config", &a->config, "FILE",
            "read these options from its [explain] section (key = value, with\nthe option's name, e.g. `ig-steps = "
            "64`); the command line wins"),
        STR("--data-dir", &c->data_dir, "DIR", "where datasets live (see xai fetch)"),
        STR("--mirror", &c->mirror, "DIR", "where datasets come from (see xai fetch)"),
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    _Static_assert(sizeof opts / sizeof *opts == NOPTS, "NOPTS counts the table");
    memcpy(t, opts, sizeof opts);
}

/* The per-kind "key=value:..." lists that xai_method_parse applies to every method of a kind. */
static void build_overrides(xai_sbuf *over /* (XAI_METHOD_KINDS) */, const explain_args *a)
{
    for (size_t i = 0; i < sizeof PASS / sizeof *PASS; i++) {
        const char *v = a->val[PASS[i].v];
        if (!v) continue;
        xai_sbuf *b = &over[PASS[i].kind];
        xai_sbuf_printf(b, "%s%s=%s", b->n ? ":" : "", PASS[i].key, v);
    }
}

/* Each of those values on its own, on a method of its kind, whether or not --methods has one: a
 * typo in --lrp-bias with --methods gradient is refused, not ignored. The error names the option. */
static xai_status check_values(const explain_args *a, const xai_optdef *table)
{
    static const char *const PROBE[XAI_METHOD_KINDS] = {[XAI_METHOD_IG] = "ig", [XAI_METHOD_LRP] = "lrp-epsilon",
                                                        [XAI_METHOD_SMOOTHGRAD] = "smoothgrad",
                                                        [XAI_METHOD_RANDOM] = "random"};
    for (size_t i = 0; i < sizeof PASS / sizeof *PASS; i++) {
        const char *v = a->val[PASS[i].v];
        if (!v) continue;
        const xai_optdef *d = table;
        while (d->dest != &a->val[PASS[i].v]) d++;
        /* ':' ends a setting: "--ig-rule gauss:steps=3" would set another key */
        if (strchr(v, ':')) return xai_fail(XAI_EINVAL, "%s %s: ':' is not allowed in the value", d->name, v);
        xai_sbuf set = {0};
        xai_sbuf_printf(&set, "%s=%s", PASS[i].key, v);
        const char *ov[XAI_METHOD_KINDS] = {NULL};
        ov[PASS[i].kind] = set.s;
        xai_method m;
        xai_status s = xai_method_parse(&m, PROBE[PASS[i].kind], ov);
        xai_sbuf_free(&set);
        if (s != XAI_OK) return xai_fail(s, "%s %s: %s", d->name, v, xai_errmsg());
    }
    return XAI_OK;
}

/* --config FILE anywhere on the line: its [explain] entries become "--key=value" arguments
 * placed before the command line's, so the command line wins. */
static xai_status with_config(int *argc, char ***argv, xai_config *cfg, const xai_optdef *table)
{
    const char *path = NULL;
    for (int i = 1; i < *argc; i++) {
        const char *a = (*argv)[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return XAI_OK;
        if (!strcmp(a, "--config") && i + 1 < *argc) path = (*argv)[++i];
        else if (!strncmp(a, "--config=", 9)) path = a + 9;
    }
    if (!path) return XAI_OK;
    XAI_TRY(xai_config_load(cfg, path));
    char **v = xai_calloc((size_t)*argc + cfg->n + 1, sizeof *v);
    int n = 0;
    v[n++] = (*argv)[0];
    for (int i = 0; i < cfg->n; i++) {
        const xai_config_entry *e = &cfg->e[i];
        if (strcmp(e->section, "explain")) continue;
        char opt[80];
        snprintf(opt, sizeof opt, "--%s", e->key);
        for (char *c = opt; *c; c++)
            if (*c == '_') *c = '-';
        const xai_optdef *d = table;
        while (d->name && (strcmp(d->name, opt) || !strcmp(opt, "--config"))) d++;
        if (!d->name) {
            for (int j = 1; j < n; j++) free(v[j]);
            free(v);
            return xai_fail(XAI_EINVAL, "%s:%d: [explain] has no setting '%s' (see 'xai explain --help')", path,
                            e->line, e->key);
        }
        size_t len = strlen(opt) + strlen(e->value) + 2;
        v[n] = xai_malloc(len);
        snprintf(v[n++], len, "%s=%s", opt, e->value);
    }
    for (int i = 1; i < *argc; i++) v[n++] = (*argv)[i];
    *argc = n;
    *argv = v;
    return XAI_OK;
}

static char *join_args(int argc, char **argv)
{
    xai_sbuf b = {0};
    xai_sbuf_printf(&b, "xai");
    for (int i = 0; i < argc; i++) xai_sbuf_printf(&b, " %s", argv[i]);
    return b.s;
}

static void print_method(void *ctx, const xai_explain_result *r)
{
    (void)ctx;
    printf("%-28s %8.2f ms/attr", r->method->spec, 1e3 * r->seconds / r->n);
    if (r->method->kind == XAI_METHOD_IG && r->method->ig.exact)
        printf("  exact: regions median %.0f max %.0f, completeness residual median %.3g", r->exact_regions_median,
               r->exact_regions_max, r->exact_residual_median);
    else if (r->method->kind == XAI_METHOD_IG)
        printf("  completeness error median %.3g (|delta| median %.3g)", r->ig_completeness_median, r->ig_delta_median);
    else if (r->method->kind == XAI_METHOD_LRP)
        printf("  conservation residual |sum R - f(x)| median %.3g", r->lrp_residual_median);
    printf("\n");
}

int xai_cmd_explain(int argc, char **argv)
{
    explain_args a;
    memset(&a, 0, sizeof a);
    a.cfg.n = 256;
    xai_optdef table[NOPTS];
    option_table(table, &a);
    const xai_cmdspec spec = {"xai explain", "--model M.h5 (--dataset D | --images FILE...) [options]", ABOUT, table,
                              -1};
    xai_config file;
    memset(&file, 0, sizeof file);
    xai_sbuf over[XAI_METHOD_KINDS] = {{0}};
    int nargc = argc, rc = 0;
    char **nargv = argv, *command = NULL, *outpath = NULL, **pos = NULL;
    int npos = 0;
    xai_status s = with_config(&nargc, &nargv, &file, table);
    if (s != XAI_OK) {
        rc = xai_cli_error(s);
        goto done;
    }
    pos = xai_calloc((size_t)nargc + 1, sizeof *pos);
    int r = xai_opts_parse(&spec, nargc, nargv, pos, &npos);
    if (r != XAI_OPTS_OK) {
        rc = r == XAI_OPTS_HELP ? 0 : 2;
        goto done;
    }
    if (!a.cfg.model || !a.cfg.dataset == !a.images || (npos > 0) != a.images) {
        fprintf(stderr, "xai explain: --model and either --dataset or --images FILE... are required (e.g. xai explain "
                        "--model results/mnist/model.h5 --dataset mnist, or --images a.png b.jpg)\n");
        rc = 2;
        goto done;
    }
    a.cfg.images = a.images ? (const char *const *)pos : NULL;
    a.cfg.nimages = npos;
    if (a.images) a.cfg.n = 1 << 30;
    /* The default output (beside the model) is checked where explain resolves it. */
    if ((s = xai_output_not_input("--out", a.cfg.out, "--model", a.cfg.model)) != XAI_OK ||
        (s = xai_output_not_input("--out", a.cfg.out, "--config", a.config)) != XAI_OK) {
        rc = xai_cli_error(s);
        goto done;
    }
    if ((s = check_values(&a, table)) != XAI_OK) {
        rc = xai_cli_error(s);
        goto done;
    }
    build_overrides(over, &a);
    const char *ov[XAI_METHOD_KINDS];
    for (int k = 0; k < XAI_METHOD_KINDS; k++) ov[k] = over[k].s ? over[k].s : "";
    command = join_args(argc, argv);
    a.cfg.overrides = ov;
    a.cfg.command = command;
    a.cfg.on_method = print_method;
    if ((s = xai_explain_run(&a.cfg, &outpath)) != XAI_OK) rc = xai_cli_error(s);
    else if (xai_mpi_rank() == 0) fprintf(stderr, "xai explain: wrote %s\n", outpath);
done:
    if (nargv != argv) {
        for (int i = 1; i < nargc - (argc - 1); i++) free(nargv[i]);
        free(nargv);
    }
    xai_config_free(&file);
    for (int k = 0; k < XAI_METHOD_KINDS; k++) xai_sbuf_free(&over[k]);
    free(command);
    free(outpath);
    free(pos);
    return rc;
}
