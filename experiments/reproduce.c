/* reproduce.c: `xai reproduce`, the whole study as make-like stages per experiment.
 * Each stage runs as a child `xai <command>` and records what it was built from. */
#include "core/base.h"
#include "core/config.h"
#include "core/io.h"
#include "core/mpi.h"
#include "datasets/datasets.h"
#include "experiments/commands.h"
#include "experiments/predict.h"
#include "experiments/provenance.h"
#include "experiments/schedule.h"
#include "paper/publish.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_EXP 32
#define MAX_ARGS 96

enum { ST_FETCH, ST_TRAIN, ST_EXPLAIN, ST_EVALUATE, ST_CONFOUND, ST_EXPORT, NSTAGE };

typedef struct {
    char name[64];           /* <experiment>, or <experiment>/seed<k> for the models after the first */
    char config[512];
    char dir[512];           /* results/<name> */
    xai_config cfg;
    int seed_k;              /* which of the [train] seeds models this is (0: the experiment itself) */
    long seed;               /* its training seed: [experiment] seed + SEED_STRIDE * seed_k */
    int index;               /* position in the run, for "[stage k/N]" */
    double stage_s[8];
    int stage_ran[8];
    double prev_s[NSTAGE];   /* wall time of each stage in the last run that recorded it, -1: none */
    double predicted[NSTAGE]; /* the cost model's seconds (predict.h), -1: not modelled */
    xai_rates rates;         /* its net's measured rates; rates.n == 0: none */
    int prev_ranks[NSTAGE];  /* the ranks that ran it then (a group shares explain and evaluate) */
    char log[700];           /* the log of the stage that ran last, "" when none was written */
} experiment;

typedef struct {
    int quick, full, force, jobs, threads, verbose, predict;
    int shard;               /* --shard-stages: under mpirun, groups of ranks share explain/evaluate */
    const char *only;        /* comma list or NULL */
    const char *rates;       /* --rates: a file of rates for every net instead of measuring them, or NULL */
    const char *results;     /* results root */
    const char *configs;     /* experiments dir */
    const char *data_dir, *mirror;
    const char *self;        /* path of the xai binary */
    const experiment *all;   /* every experiment of the run, for the overall ETA */
    int nall;
    int rank, ranks;         /* under mpirun: this process's rank of the run and their number */
} repro_opts;
static const char *stage_names[NSTAGE] = {"fetch", "train", "explain", "evaluate", "confound", "export"};

#define SEED_STRIDE 1000L /* model k of an experiment trains with seed + 1000 k */
#define MAX_SEEDS 16

static const char *profile_name(const repro_opts *o) { return o->quick ? "quick" : o->full ? "full" : "default"; }

/* The profile's own section, whose keys override the experiment's ([quick], [full]); NULL: default. */
static const char *profile_section(const repro_opts *o) { return o->quick ? "quick" : o->full ? "full" : NULL; }

/* ------------------------------------------------------------ stage records */

/* A stage is up to date when its record names the same config hash, program
 * version and input checksums, and its outputs exist. */
static void record_path(char *buf, size_t n, const experiment *e, const char *stage)
{
    snprintf(buf, n, "%s/stages/%s.done", e->dir, stage);
}

static void file_digest(const char *path, char hex[65])
{
    if (xai_hash_file(path, hex, NULL) != XAI_OK) snprintf(hex, 65, "missing");
}

static void make_key(char *key, size_t n, const experiment *e, const repro_opts *o, const char *const *inputs)
{
    size_t len = snprintf(key, n, "config %016llx\nversion %s\nprofile %s\nseed %ld\n",
                          (unsigned long long)xai_config_hash(&e->cfg), xai_version(), profile_name(o), e->seed);
    for (int i = 0; inputs && inputs[i] && len < n; i++) {
        char h[65];
        file_digest(inputs[i], h);
        len += snprintf(key + len, n - len, "input %s %s\n", inputs[i], h);
    }
}

static int up_to_date(const experiment *e, const repro_opts *o, const char *stage, const char *key,
                      const char *const *outputs)
{
    if (o->force) return 0;
    for (int i = 0; outputs && outputs[i]; i++)
        if (!xai_file_exists(outputs[i])) return 0;
    char path[600], *text;
    record_path(path, sizeof path, e, stage);
    if (xai_read_file(path, &text, NULL) != XAI_OK) return 0;
    /* The record starts with the key, then timing lines. */
    int same = !strncmp(text, key, strlen(key));
    free(text);
    return same;
}

static xai_status write_record(const experiment *e, const char *stage, const char *key, double secs, int ranks)
{
    char path[600], dir[600];
    snprintf(dir, sizeof dir, "%s/stages", e->dir);
    XAI_TRY(xai_mkdirs(dir));
    record_path(path, sizeof path, e, stage);
    size_t n = strlen(key) + 128;
    char *text = xai_malloc(n);
    snprintf(text, n, "%swall_seconds %.3f\nranks %d\n", key, secs, ranks);
    xai_status s = xai_write_file_atomic(path, text, strlen(text));
    free(text);
    return s;
}

/* The stage's wall seconds in its record (-1: none) and, where ranks is not NULL, on how many
 * ranks it ran (1 in records without the line). */
static double recorded_seconds(const experiment *e, const char *stage, int *ranks)
{
    char path[600], *text;
    record_path(path, sizeof path, e, stage);
    if (ranks) *ranks = 1;
    if (xai_read_file(path, &text, NULL) != XAI_OK) return -1;
    char *p = strstr(text, "\nwall_seconds ");
    double s = p ? atof(p + 14) : -1;
    char *q = p ? strstr(p, "\nranks ") : NULL;
    if (ranks && q && atoi(q + 7) >= 1) *ranks = atoi(q + 7);
    free(text);
    return s;
}

/* ------------------------------------------------------------ child runs */

typedef struct {
    char *argv[MAX_ARGS];
    int argc;
    char store[MAX_ARGS][600];
} argbuf;

static void arg(argbuf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(argbuf *a, const char *fmt, ...)
{
    XAI_CHECK(a->argc < MAX_ARGS - 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->store[a->argc], sizeof a->store[0], fmt, ap);
    va_end(ap);
    a->argv[a->argc] = a->store[a->argc];
    a->argv[++a->argc] = NULL;
}

static int in_list(const char *const *list, const char *s)
{
    for (int k = 0; list && list[k]; k++)
        if (!strcmp(list[k], s)) return 1;
    return 0;
}

/* Section keys become options: `[evaluate] ig-steps = 64` -> `--ig-steps=64`. chain: sections in
 * increasing precedence (NULL-terminated); a key of a later section overrides it in the earlier
 * ones, so that each option is passed once, with the value used; keys in skip are not passed. */
static void chain_args(argbuf *a, const xai_config *c, const char *const *chain, const char *const *skip)
{
    for (int s = 0; chain[s]; s++)
        for (int i = 0; i < c->n; i++) {
            const xai_config_entry *e = &c->e[i];
            /* later duplicates win in xai_config_find; pass only the last */
            if (strcmp(e->section, chain[s]) || in_list(skip, e->key) || xai_config_find(c, chain[s], e->key) != e)
                continue;
            int later = 0;
            for (int t = s + 1; chain[t]; t++) later |= xai_config_find(c, chain[t], e->key) != NULL;
            if (!later) arg(a, "--%s=%s", e->key, e->value);
        }
}

/* The sections an evaluation reads, in increasing precedence: [evaluate], [seed-evaluate] for
 * the models after the first, extra (the confound stage's [confound]), then the profile's
 * [quick-evaluate] or [full-evaluate]. */
static void eval_chain(const char *chain[5], const repro_opts *o, const experiment *e, const char *extra)
{
    int n = 0;
    chain[n++] = "evaluate";
    if (e->seed_k) chain[n++] = "seed-evaluate";
    if (extra) chain[n++] = extra;
    if (o->quick) chain[n++] = "quick-evaluate";
    if (o->full) chain[n++] = "full-evaluate";
    chain[n] = NULL;
}

/* Images to explain: the profile's `n` ([quick] n, [full] n; --full: the whole test split), for the
 * models after the first [seed-evaluate] n when smaller (not in --full); NULL: the [explain] one. */
static const char *explain_n(const repro_opts *o, const experiment *e, char *buf, size_t len)
{
    const char *n = o->quick ? xai_config_str(&e->cfg, "quick", "n", "8")
                    : o->full ? xai_config_str(&e->cfg, "full", "n", "1000000000") /* explain stops at the split */
                              : NULL;
    const char *seed_n = e->seed_k ? xai_config_str(&e->cfg, "seed-evaluate", "n", NULL) : NULL;
    if (seed_n && !o->full && (!n || atol(seed_n) < atol(n))) n = seed_n;
    if (n) snprintf(buf, len, "%s", n);
    return n ? buf : NULL;
}

static void print_command(FILE *f, const argbuf *a)
{
    for (int i = 0; i < a->argc; i++) fprintf(f, "%s%s", i ? " " : "", a->argv[i]);
    fprintf(f, "\n");
}

/* A stage's log, truncated, starting with its command; -1 when it cannot be opened. */
static int log_open(const argbuf *a, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    FILE *f = fdopen(dup(fd), "w");
    if (f) {
        fprintf(f, "$ ");
        print_command(f, a);
        fclose(f);
    }
    return fd;
}

/* In the child: its messages (stdout and stderr) go to the log, after the command; with one job
 * on a terminal the progress bar still goes there (core/progress.c, XAI_PROGRESS_FD). */
static void child_to_log(const repro_opts *o, const argbuf *a, const char *logpath)
{
    int fd = log_open(a, logpath);
    if (fd < 0) return; /* the messages stay on the terminal */
    if (o->jobs == 1 && !xai_quiet && isatty(2)) {
        int bar = dup(2);
        char v[16];
        snprintf(v, sizeof v, "%d", bar);
        if (bar >= 0) setenv("XAI_PROGRESS_FD", v, 1);
    }
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

/* Where a stage's messages go: e->log = <exp>/logs/<stage>.log, or "" when --verbose with one job
 * shows them here (the command is printed here then). */
static void stage_log(const repro_opts *o, experiment *e, const argbuf *a, const char *stage)
{
    e->log[0] = 0;
    if (!o->verbose || o->jobs > 1) {
        char logdir[600];
        snprintf(logdir, sizeof logdir, "%s/logs", e->dir);
        if (xai_mkdirs(logdir) == XAI_OK) snprintf(e->log, sizeof e->log, "%s/%s.log", logdir, stage);
        xai_clear_error();
    }
    if (!e->log[0] && xai_mpi_rank() == 0) {
        fprintf(stderr, "[%s] %s: ", e->name, stage);
        print_command(stderr, a);
    }
}

/* Runs a stage's command and returns its exit code. Its messages go to <exp>/logs/<stage>.log
 * (e->log), unless --verbose with one job shows them here and writes no log. */
static int run_child(const repro_opts *o, experiment *e, argbuf *a, const char *stage)
{
    stage_log(o, e, a, stage);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setenv("XAI_MPI_OFF", "1", 1); /* under mpirun a stage child is a serial process of this rank */
        if (e->log[0]) child_to_log(o, a, e->log);
        execv(o->self, a->argv);
        fprintf(stderr, "xai reproduce: cannot run %s: %s\n", o->self, strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Under mpirun, a stage that a group of ranks shares (experiments/schedule.c): every rank of the
 * group runs the command in this process, on the group's communicator, as `mpirun -n <group> xai
 * explain|evaluate` runs it, bit for bit: sharded over images, one file written collectively (a
 * serial run's values, bit for bit too: experiments/slurm/README.md). Its messages go to the
 * stage's log: all of the group leader's, the others' errors (their stdout is /dev/null, main.c).
 * The exit code, the same on every rank. */
static int run_in_group(const repro_opts *o, experiment *e, argbuf *a, const char *stage, const char *cmd)
{
    const int lead = xai_mpi_rank() == 0;
    stage_log(o, e, a, stage);
    int fd = lead && e->log[0] ? log_open(a, e->log) : -1;
    xai_mpi_barrier(); /* the leader's log is there, truncated, before the others append to it */
    if (!lead && e->log[0]) fd = open(e->log, O_WRONLY | O_APPEND | O_CLOEXEC);
    /* The command's line as main() hands it over: its name first, the global options after. */
    char *argv[MAX_ARGS + 1];
    int argc = 0, at = 1;
    while (at < a->argc && a->argv[at][0] == '-') at++;
    for (int i = at; i < a->argc; i++) argv[argc++] = a->argv[i];
    for (int i = 1; i < at; i++) argv[argc++] = a->argv[i];
    argv[argc] = NULL;
    fflush(NULL);
    const int out = lead && fd >= 0 ? dup(1) : -1, err = fd >= 0 ? dup(2) : -1;
    if (out >= 0) dup2(fd, 1);
    if (err >= 0) dup2(fd, 2);
    int r = (!strcmp(cmd, "explain") ? xai_cmd_explain : xai_cmd_evaluate)(argc, argv);
    xai_clear_error();
    fflush(NULL);
    if (out >= 0) dup2(out, 1), close(out);
    if (err >= 0) dup2(err, 2), close(err);
    if (fd >= 0) close(fd);
    return xai_mpi_max_idle(r);
}

static void base_args(argbuf *a, const repro_opts *o, const char *cmd)
{
    a->argc = 0;
    arg(a, "%s", o->self);
    if (o->threads > 0) arg(a, "--threads=%d", o->threads);
    if (xai_quiet) arg(a, "--quiet");
    arg(a, "%s", cmd);
}

static void data_args(argbuf *a, const repro_opts *o)
{
    if (o->data_dir) arg(a, "--data-dir=%s", o->data_dir);
    if (o->mirror) arg(a, "--mirror=%s", o->mirror);
}

/* ------------------------------------------------------------ stages */

/* The files a stage reads and writes, under the experiment's directory. */
typedef struct {
    char model[600], attr[600], metrics[600], plot[600], ckpt[700], summary[600], confound[600];
    const char *in[4], *out[3]; /* NULL-terminated */
} stage_files;

static void stage_files_of(stage_files *f, const experiment *e)
{
    snprintf(f->model, sizeof f->model, "%s/model.h5", e->dir);
    snprintf(f->attr, sizeof f->attr, "%s/attributions.h5", e->dir);
    snprintf(f->metrics, sizeof f->metrics, "%s/metrics.h5", e->dir);
    snprintf(f->plot, sizeof f->plot, "%s/plot/done", e->dir);
    snprintf(f->ckpt, sizeof f->ckpt, "%s.ckpt.h5", f->model);
    snprintf(f->summary, sizeof f->summary, "%s/summary.csv", e->dir);
    snprintf(f->confound, sizeof f->confound, "%s/metrics-confound.h5", e->dir);
}

/* Sets the files a stage depends on and produces (both NULL-terminated lists). */
static void stage_io(stage_files *f, int st)
{
    memset(f->in, 0, sizeof f->in);
    memset(f->out, 0, sizeof f->out);
    switch (st) {
    case ST_TRAIN: f->out[0] = f->model; break;
    case ST_EXPLAIN: f->in[0] = f->model, f->out[0] = f->attr; break;
    case ST_EVALUATE: f->in[0] = f->model, f->in[1] = f->attr, f->out[0] = f->metrics, f->out[1] = f->summary; break;
    case ST_CONFOUND: f->in[0] = f->model, f->in[1] = f->attr, f->out[0] = f->confound; break;
    case ST_EXPORT: f->in[0] = f->model, f->in[1] = f->attr, f->in[2] = f->metrics, f->out[0] = f->plot; break;
    default: break;
    }
}

/* The xai command line of a stage. */
static void stage_args(argbuf *a, const repro_opts *o, const experiment *e, int st, const stage_files *f)
{
    const char *dataset = xai_config_str(&e->cfg, "experiment", "dataset", e->name);
    const char *size = xai_config_str(&e->cfg, "experiment", "size", NULL);
    const char *chain[6];
    char nbuf[32];
    base_args(a, o, st == ST_CONFOUND ? "evaluate" : stage_names[st]); /* confound: evaluate again */
    switch (st) {
    case ST_FETCH:
        data_args(a, o);
        if (size) arg(a, "--size=%s", size);
        arg(a, "%s", dataset);
        break;
    case ST_TRAIN:
        data_args(a, o);
        arg(a, "--config=%s", e->config);
        arg(a, "--out=%s", f->model);
        if (xai_file_exists(f->ckpt) && !o->force) arg(a, "--resume");
        if (e->seed_k) arg(a, "--seed=%ld", e->seed);
        if (o->quick) {
            arg(a, "--limit=%s", xai_config_str(&e->cfg, "quick", "train-limit", "1024"));
            arg(a, "--epochs=%s", xai_config_str(&e->cfg, "quick", "epochs", "1"));
        } else if (o->full && xai_config_str(&e->cfg, "full", "epochs", NULL)) {
            arg(a, "--epochs=%s", xai_config_str(&e->cfg, "full", "epochs", NULL));
        }
        break;
    case ST_EXPLAIN:
        data_args(a, o);
        arg(a, "--model=%s", f->model);
        arg(a, "--dataset=%s", dataset);
        arg(a, "--out=%s", f->attr);
        arg(a, "--config=%s", e->config); /* its [explain] section */
        if (explain_n(o, e, nbuf, sizeof nbuf)) arg(a, "--n=%s", nbuf);
        break;
    case ST_EVALUATE:
        arg(a, "--model=%s", f->model);
        arg(a, "--attributions=%s", f->attr);
        arg(a, "--out=%s", f->metrics);
        arg(a, "--summary=%s", f->summary);
        arg(a, "--label=%s", e->name);
        eval_chain(chain, o, e, NULL);
        chain_args(a, &e->cfg, chain, NULL);
        break;
    case ST_CONFOUND: {
        /* The same evaluation under the [confound] section's removal reference, only the metrics
         * that remove features to it: the IG curves, the randomisation, max-sensitivity, the
         * random-logit test, ROAD and infidelity do not depend on it ([confound] metrics = ...). */
        const char *once[] = {"ig-curve", "ig-n", "ig-steps", "ig-curve-methods", "sanity", "sanity-n", "metrics", NULL};
        arg(a, "--model=%s", f->model);
        arg(a, "--attributions=%s", f->attr);
        arg(a, "--out=%s", f->confound);
        eval_chain(chain, o, e, "confound");
        chain_args(a, &e->cfg, chain, once);
        arg(a, "--metrics=%s", xai_config_str(&e->cfg, "confound", "metrics", "insdel,faithcorr,sensn"));
        arg(a, "--ig-curve=no");
        arg(a, "--sanity=no");
        break;
    }
    case ST_EXPORT:
        if (o->data_dir) arg(a, "--data-dir=%s", o->data_dir);
        arg(a, "--results=%s", e->dir);
        arg(a, "--figures");
        break;
    }
}

/* Stages an entry does not have: the confound without a [confound] section; the confound and the
 * plots of the models after the first (the report compares them, paper/seeds.c). */
static int stage_skipped(const experiment *e, int st)
{
    if (st == ST_CONFOUND && !xai_config_str(&e->cfg, "confound", "perturb", NULL)) return 1;
    return e->seed_k && (st == ST_CONFOUND || st == ST_EXPORT);
}

/* The overall ETA from the stage times that earlier runs recorded: the sum over the stages still
 * to come (this one included); "" when no stage ahead ever ran, a lower bound when some did not. */
static void eta_text(char *buf, size_t n, const repro_opts *o, const experiment *e, int st)
{
    double left = 0;
    int known = 0, unknown = 0;
    for (int i = e->index; i < o->nall && o->jobs == 1; i++)
        for (int s = i == e->index ? st : 0; s < NSTAGE; s++) {
            if (stage_skipped(&o->all[i], s)) continue;
            if (o->all[i].prev_s[s] >= 0) left += o->all[i].prev_s[s], known++;
            else unknown++;
        }
    char t[32];
    xai_fmt_duration(t, sizeof t, left);
    if (!known) snprintf(buf, n, "%s", "");
    else snprintf(buf, n, " (eta %s%s, from earlier runs)", unknown ? "over " : "", t);
}

/* One line per stage: "[stage k/N] experiment stage", then what it is doing; under mpirun first
 * the rank that runs it, or the ranks of the group that shares it (consecutive, from this one). */
static void stage_line(const repro_opts *o, const experiment *e, int st, const char *what, int ranks)
{
    char rank[48] = "";
    if (o->ranks > 1 && ranks > 1) snprintf(rank, sizeof rank, "[ranks %d-%d] ", o->rank, o->rank + ranks - 1);
    else if (o->ranks > 1) snprintf(rank, sizeof rank, "[rank %d] ", o->rank);
    fprintf(stderr, "%s[stage %d/%d] %s %s%s\n", rank, e->index * NSTAGE + st + 1, o->nall * NSTAGE + 1, e->name,
            stage_names[st], what);
    fflush(stderr);
}

/* Stages a group of ranks shares under mpirun (sharded over images); the others run on its leader. */
static int shared_stage(int st) { return st == ST_EXPLAIN || st == ST_EVALUATE || st == ST_CONFOUND; }

/* Runs a stage that is out of date, in a child process or, when a group of ranks shares it, in
 * this process on every rank of the group (the others of a group wait for the leader's child),
 * and records it when it succeeded. Its exit code, the same on every rank of the group. */
static int run_stage(const repro_opts *o, experiment *e, int st, argbuf *a, const stage_files *f, const char *key)
{
    const int lead = xai_mpi_rank() == 0, g = xai_mpi_size(), shared = g > 1 && o->shard && shared_stage(st);
    if (lead) {
        char eta[96];
        eta_text(eta, sizeof eta, o, e, st);
        stage_line(o, e, st, eta, shared ? g : 1);
    }
    double t0 = xai_now();
    const char *cmd = st == ST_CONFOUND ? "evaluate" : stage_names[st];
    int r = shared ? run_in_group(o, e, a, stage_names[st], cmd) : lead ? run_child(o, e, a, stage_names[st]) : 0;
    if (g > 1 && !shared) r = xai_mpi_max_idle(r); /* the group waits for its leader's child */
    e->stage_s[st] = xai_now() - t0;
    e->stage_ran[st] = 1;
    if (r == 0 && lead && st == ST_EXPORT) xai_write_file_atomic(f->plot, "ok\n", 3); /* export's own output marker */
    if (r == 0 && lead) write_record(e, stage_names[st], key, e->stage_s[st], shared ? g : 1);
    return r;
}

/* Runs one stage unless its record says it is up to date. Returns the stage's exit code. Under
 * mpirun in a group, its leader reads the records and the group follows. */
static int stage(const repro_opts *o, experiment *e, int st)
{
    enum { SKIP, CURRENT, RUN };
    stage_files f;
    stage_files_of(&f, e);
    stage_io(&f, st);
    argbuf *a = xai_calloc(1, sizeof *a);
    stage_args(a, o, e, st, &f);
    char key[8192] = "";
    int todo = -1, r = 0;
    if (xai_mpi_rank() == 0) {
        make_key(key, sizeof key, e, o, f.in);
        /* fetch has no output of ours to check; the fetch command itself is a no-op on verified data. */
        if (stage_skipped(e, st)) todo = SKIP;
        else if (st != ST_FETCH && up_to_date(e, o, stage_names[st], key, f.out)) todo = CURRENT;
        else todo = RUN;
    }
    todo = xai_mpi_max_idle(todo);
    if (todo == SKIP) {
        e->stage_s[st] = 0;
    } else if (todo == CURRENT) {
        e->stage_s[st] = recorded_seconds(e, stage_names[st], NULL);
        if (xai_mpi_rank() == 0) stage_line(o, e, st, ": up to date", 1);
    } else {
        r = todo == RUN ? run_stage(o, e, st, a, &f, key) : 1; /* else MPI failed */
    }
    free(a);
    return r;
}

/* The last lines of a failed stage's log, where its error message is. */
static void print_log_tail(const char *path, int lines)
{
    char *text = NULL;
    size_t len = 0;
    if (xai_read_file(path, &text, &len) != XAI_OK) {
        xai_clear_error();
        return;
    }
    size_t end = len;
    while (end > 0 && text[end - 1] == '\n') end--;
    size_t at = end;
    for (int k = 0; at > 0; at--)
        if (text[at - 1] == '\n' && ++k == lines) break;
    fprintf(stderr, "%.*s\n", (int)(end - at), text + at);
    free(text);
}

/* The stages first..last of one experiment, in order; the exit code of the first that failed. */
static int run_stages(const repro_opts *o, experiment *e, int first, int last)
{
    xai_mkdirs(e->dir);
    for (int st = first; st <= last; st++) {
        int r = stage(o, e, st);
        if (r == 0) continue;
        if (xai_mpi_rank() != 0) return r; /* a group's leader says it */
        if (e->log[0]) {
            fprintf(stderr, "xai reproduce: [%s] stage %s failed (exit %d); the end of %s:\n", e->name,
                    stage_names[st], r, e->log);
            print_log_tail(e->log, 15);
        } else {
            fprintf(stderr, "xai reproduce: [%s] stage %s failed (exit %d); see the messages above\n", e->name,
                    stage_names[st], r);
        }
        return r;
    }
    return 0;
}

static int run_experiment(const repro_opts *o, experiment *e) { return run_stages(o, e, 0, NSTAGE - 1); }

/* ------------------------------------------------------------ discovery */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int wanted(const char *only, const char *name)
{
    if (!only) return 1;
    size_t n = strlen(name);
    for (const char *p = only; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        p += len + (c != NULL);
    }
    return 0;
}

/* One entry of the run: experiment `base` (config path), or its model seed_k > 0 in <base>/seed<k>. */
static xai_status experiment_init(experiment *e, const repro_opts *o, const char *base, const char *config, int seed_k)
{
    memset(e, 0, sizeof *e);
    if (seed_k) snprintf(e->name, sizeof e->name, "%s/seed%d", base, seed_k);
    else snprintf(e->name, sizeof e->name, "%s", base);
    snprintf(e->config, sizeof e->config, "%s", config);
    snprintf(e->dir, sizeof e->dir, "%s/%s", o->results, e->name);
    e->seed_k = seed_k;
    for (int st = 0; st < NSTAGE; st++) e->prev_s[st] = recorded_seconds(e, stage_names[st], &e->prev_ranks[st]);
    XAI_TRY(xai_config_load(&e->cfg, e->config));
    long seed;
    xai_status s = xai_config_int(&e->cfg, "experiment", "seed", 1, &seed);
    if (s == XAI_OK && (seed < 0 || seed > (1L << 40)))
        s = xai_fail(XAI_EINVAL, "%s: [experiment] seed = %ld: expected 0 to 2^40", config, seed);
    if (s != XAI_OK) {
        xai_config_free(&e->cfg);
        return s;
    }
    e->seed = seed + SEED_STRIDE * seed_k;
    return XAI_OK;
}

/* Models per dataset: [train] seeds, or the profile's ([quick] seeds; [full] seeds, default 3). */
static xai_status seeds_of(const experiment *e, const repro_opts *o, long *k)
{
    const char *sec = profile_section(o), *key = "seeds";
    const int in_profile = sec && xai_config_find(&e->cfg, sec, key);
    if (in_profile) XAI_TRY(xai_config_int(&e->cfg, sec, key, 1, k));
    else if (o->full) *k = 3;
    else XAI_TRY(xai_config_int(&e->cfg, "train", key, 1, k));
    if (*k < 1 || *k > MAX_SEEDS)
        return xai_fail(XAI_EINVAL, "%s: [%s] seeds = %ld: expected 1 to %d models per dataset", e->config,
                        in_profile ? sec : "train", *k, MAX_SEEDS);
    return XAI_OK;
}

/* After the experiments, the models k = 1 .. seeds-1 of each, as entries of their own (each trained,
 * explained and evaluated like the first; a scheduler may run them anywhere). */
static xai_status add_seed_models(const repro_opts *o, experiment *exps, int *n)
{
    const int nexp = *n;
    for (int i = 0; i < nexp; i++) {
        long k;
        XAI_TRY(seeds_of(&exps[i], o, &k));
        for (int s = 1; s < k; s++) {
            if (*n == MAX_EXP)
                return xai_fail(XAI_EINVAL, "xai reproduce: more than %d models in one run (experiments x seeds)", MAX_EXP);
            XAI_TRY(experiment_init(&exps[*n], o, exps[i].name, exps[i].config, s));
            exps[*n].index = *n;
            ++*n;
        }
    }
    return XAI_OK;
}

static int find_experiments(const repro_opts *o, experiment *exps)
{
    DIR *d = opendir(o->configs);
    if (!d) {
        fprintf(stderr, "xai reproduce: cannot open %s: %s (run from the repository root or pass --configs)\n",
                o->configs, strerror(errno));
        return -1;
    }
    char *names[MAX_EXP];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < MAX_EXP) {
        size_t len = strlen(de->d_name);
        if (len > 4 && !strcmp(de->d_name + len - 4, ".ini")) names[n++] = xai_strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    int k = 0;
    for (int i = 0; i < n; i++) {
        char base[64];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(names[i]) - 4), names[i]);
        if (wanted(o->only, base)) {
            char config[600];
            snprintf(config, sizeof config, "%s/%s", o->configs, names[i]);
            xai_status s = experiment_init(&exps[k], o, base, config, 0);
            if (s != XAI_OK) {
                xai_cli_error(s);
                for (int j = i; j < n; j++) free(names[j]);
                return -1;
            }
            exps[k].index = k;
            k++;
        }
        free(names[i]);
    }
    xai_status s = add_seed_models(o, exps, &k);
    if (s != XAI_OK) {
        xai_cli_error(s);
        for (int i = 0; i < k; i++) xai_config_free(&exps[i].cfg);
        return -1;
    }
    if (o->only) {
        /* Every name asked for must exist. */
        for (const char *p = o->only; *p;) {
            const char *c = strchr(p, ',');
            size_t len = c ? (size_t)(c - p) : strlen(p);
            int found = 0;
            for (int i = 0; i < k; i++) found |= strlen(exps[i].name) == len && !strncmp(exps[i].name, p, len);
            if (!found) {
                fprintf(stderr, "xai reproduce: no experiment '%.*s' in %s\n", (int)len, p, o->configs);
                return -1;
            }
            p += len + (c != NULL);
        }
    }
    return k;
}

/* The published outputs depend on which experiments there are and on every
 * stage record of each (records carry the input checksums). */
static void publish_key(char *key, size_t n, const experiment *exps, int ne)
{
    size_t len = snprintf(key, n, "version %s\n", xai_version());
    for (int i = 0; i < ne && len < n; i++) {
        uint64_t h = XAI_FNV_OFFSET;
        for (int st = ST_FETCH + 1; st < NSTAGE; st++) {
            char path[600], *text;
            record_path(path, sizeof path, &exps[i], stage_names[st]);
            if (xai_read_file(path, &text, NULL) != XAI_OK) continue;
            char *end = strstr(text, "wall_seconds"); /* the key part only, not the timing */
            if (end) *end = 0;
            h = xai_fnv1a(h, text, strlen(text));
            free(text);
        }
        len += snprintf(key + len, n - len, "experiment %s %016llx\n", exps[i].name, (unsigned long long)h);
    }
}

/* ------------------------------------------------------------ command */

/* Fills o from the command line; -1 when the run goes ahead, else the exit code. */
static int parse_options(repro_opts *o, int argc, char **argv)
{
    const char *results = NULL;
    memset(o, 0, sizeof *o);
    o->jobs = 1;
    o->configs = "experiments";
    const xai_optdef opts[] = {
        {"--quick", XAI_ARG_FLAG, &o->quick, NULL, 0, 0,
         "smoke profile: small subsets, one epoch, few images ([quick], [quick-evaluate];\n"
         "results in results/quick unless --results is given)"},
        {"--full", XAI_ARG_FLAG, &o->full, NULL, 0, 0,
         "full profile: the whole test split and 3 models per dataset ([full], [full-evaluate];\n"
         "results in results/full unless --results is given; hours on 2 cores)"},
        {"--only", XAI_ARG_STR, &o->only, "LIST", 0, 0, "comma-separated experiment names"},
        {"--jobs", XAI_ARG_INT, &o->jobs, "N", 1, 0, "experiments in parallel (threads are split between them)"},
        {"--force", XAI_ARG_FLAG, &o->force, NULL, 0, 0, "rerun every stage"},
        {"--predict", XAI_ARG_FLAG, &o->predict, NULL, 0, 0,
         "run nothing: print each stage's seconds as the cost model predicts them beside\n"
         "those its record in --results holds (measures the rates first unless on file)"},
        {"--rates", XAI_ARG_STR, &o->rates, "FILE", 0, 0,
         "with --predict: the rates of every net from FILE ('rates *', then 'kind GFLOP/s'\n"
         "lines, 'end'; experiments/README.md) instead of measuring them"},
        {"--shard-stages", XAI_ARG_FLAG, &o->shard, NULL, 0, 0,
         "under mpirun: ranks to spare share the explain, evaluate and confound stages of the\n"
         "long chains, sharded over images; the values equal a serial run's bit for bit\n"
         "(experiments/slurm/README.md)"},
        {"--verbose", XAI_ARG_FLAG, &o->verbose, NULL, 0, 0,
         "every stage's command and messages here, and no logs (default: one line per stage and\n"
         "the progress bar; the messages go to <results>/<experiment>/logs/<stage>.log)"},
        {"--results", XAI_ARG_STR, &results, "DIR", 0, 0, "results root (default results)"},
        {"--configs", XAI_ARG_STR, &o->configs, "DIR", 0, 0, "directory of the experiment configs *.ini (default experiments)"},
        {"--data-dir", XAI_ARG_STR, &o->data_dir, "DIR", 0, 0, "dataset caches (default $XAI_DATA_DIR, else ./data)"},
        {"--mirror", XAI_ARG_STR, &o->mirror, "PATH|URL", 0, 0, "where to fetch the dataset files from first"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {
        "xai reproduce", "[options]",
        "Runs every experiment in experiments/*.ini: fetch -> train -> explain -> evaluate ->\n"
        "confound -> export, then train -> explain -> evaluate of each further model of [train]\n"
        "seeds (results/<experiment>/seed<k>/), the cross-dataset figures, the report and the\n"
        "artefact bundle. Profiles: default, --quick, --full (experiments/README.md).\n"
        "A stage whose inputs, config and program version are unchanged is skipped; a killed\n"
        "run resumes (training from its last checkpoint).",
        opts, 0};
    int r = xai_opts_parse(&spec, argc, argv, NULL, NULL);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    if (o->quick && o->full) {
        fprintf(stderr, "xai reproduce: --quick and --full are two profiles; give one\n");
        return 2;
    }
    if (o->rates && !o->predict) {
        fprintf(stderr, "xai reproduce: --rates %s goes with --predict (a run measures its own rates)\n", o->rates);
        return 2;
    }
    o->results = results ? results : o->quick ? "results/quick" : o->full ? "results/full" : "results";
    static char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "xai reproduce: cannot find the xai binary (/proc/self/exe)\n");
        return 1;
    }
    self[n] = 0;
    o->self = self;
    int threads = xai_threads();
    o->threads = o->jobs > 1 ? (threads / o->jobs > 0 ? threads / o->jobs : 1) : 0;
    o->rank = xai_mpi_rank();
    o->ranks = xai_mpi_size();
    if (xai_mpi_size() > 1) {
        if (o->jobs > 1) {
            fprintf(stderr, "xai reproduce: --jobs %d under mpirun: the ranks are the jobs; leave --jobs out\n", o->jobs);
            return 2;
        }
        o->threads = xai_sched_threads(threads);
    }
    return -1;
}

/* Every experiment's stages, one after another or in a small process pool: one child per
 * experiment, at most `jobs` at once; the children rerun the stage logic and the parent reads
 * their stage records afterwards. 1 when one failed. */
/* mpirun -n R: rank 0 fetches every dataset, then each experiment's later stages run on one rank
 * or on a group of ranks that shares its explain and evaluate stages (experiments/schedule.c); the
 * stage records are shared, as with --jobs. */
typedef struct {
    const repro_opts *o;
    experiment *exps;
    int ne;
} rank_run;

static int fetch_all(void *ctx)
{
    rank_run *rr = ctx;
    for (int i = 0; i < rr->ne; i++)
        if (run_stages(rr->o, &rr->exps[i], ST_FETCH, ST_FETCH)) return 1;
    return 0;
}

static int chain_of(void *ctx, int i)
{
    rank_run *rr = ctx;
    return run_stages(rr->o, &rr->exps[i], ST_FETCH + 1, NSTAGE - 1);
}

/* For the plan only (the run checks each record's input checksums): a stage looks up to date when
 * its record names this config, version, profile and seed, its outputs exist and none of its
 * inputs is newer than the record; that reads no file but the record. */
static int looks_current(const repro_opts *o, const experiment *e, int st)
{
    stage_files f;
    stage_files_of(&f, e);
    stage_io(&f, st);
    char key[1024], rec[600];
    make_key(key, sizeof key, e, o, NULL);
    record_path(rec, sizeof rec, e, stage_names[st]);
    struct stat r, in;
    if (!up_to_date(e, o, stage_names[st], key, f.out) || stat(rec, &r)) return 0;
    for (int i = 0; f.in[i]; i++)
        if (stat(f.in[i], &in) || in.st_mtim.tv_sec > r.st_mtim.tv_sec ||
            (in.st_mtim.tv_sec == r.st_mtim.tv_sec && in.st_mtim.tv_nsec > r.st_mtim.tv_nsec))
            return 0;
    return 1;
}

/* A chain's work left, in seconds on one rank (a record's wall time x its ranks): solo, of the
 * stages its group's leader runs, and shared, of those a group shares; both -1 when a stage to run
 * never recorded its time. Every stage after the first to run runs too (its inputs change). */
static void chain_cost(const repro_opts *o, const experiment *e, double *solo, double *shared)
{
    int stale = 0;
    *solo = *shared = 0;
    for (int st = ST_FETCH + 1; st < NSTAGE; st++) {
        if (stage_skipped(e, st) || (!stale && looks_current(o, e, st))) continue;
        stale = 1;
        if (e->prev_s[st] < 0) {
            *solo = *shared = -1;
            return;
        }
        *(shared_stage(st) ? shared : solo) += e->prev_s[st] * e->prev_ranks[st];
    }
}

static int run_ranks(const repro_opts *o, experiment *exps, int ne)
{
    double solo[MAX_EXP], shared[MAX_EXP];
    for (int i = 0; i < ne; i++) {
        chain_cost(o, &exps[i], &solo[i], &shared[i]);
        if (!o->shard) solo[i] = solo[i] < 0 || shared[i] < 0 ? -1 : solo[i] + shared[i];
    }
    rank_run rr = {o, exps, ne};
    /* Without --shard-stages no stage is shared: one chain at a time a rank, bit for bit as serial. */
    xai_sched_plan p = {ne, solo, o->shard ? shared : NULL, fetch_all, chain_of, &rr};
    int failed = xai_sched_run(&p);
    for (int i = 0; i < ne; i++)
        for (int s = 0; s < NSTAGE; s++) exps[i].stage_s[s] = recorded_seconds(&exps[i], stage_names[s], NULL);
    return failed;
}

static int run_all(const repro_opts *o, experiment *exps, int ne)
{
    if (xai_mpi_size() > 1) return run_ranks(o, exps, ne);
    int failed = 0;
    if (o->jobs == 1) {
        for (int i = 0; i < ne && !failed; i++) failed = run_experiment(o, &exps[i]) != 0;
        return failed;
    }
    int running = 0, next = 0;
    while (next < ne || running > 0) {
        if (next < ne && running < o->jobs) {
            pid_t p = fork();
            if (p == 0) _exit(run_experiment(o, &exps[next]) ? 1 : 0);
            if (p < 0) {
                failed = 1;
                break;
            }
            next++;
            running++;
            continue;
        }
        int st;
        pid_t done = wait(&st);
        if (done < 0) break;
        running--;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed = 1;
    }
    for (int i = 0; i < ne; i++)
        for (int s = 0; s < NSTAGE; s++) exps[i].stage_s[s] = recorded_seconds(&exps[i], stage_names[s], NULL);
    return failed;
}

/* ------------------------------------------------------------ cost model */

/* A stage's command line as `stage` runs it, into a (calloc'd by the caller). */
static void stage_command(argbuf *a, const repro_opts *o, const experiment *e, int st)
{
    stage_files f;
    stage_files_of(&f, e);
    stage_io(&f, st);
    stage_args(a, o, e, st, &f);
}

/* The rates of every entry's net (experiments/README.md, "Cost model"): from <results>/stages/rates.txt
 * when measured for the same net, program, threads and evaluation batch, else measured now (a few
 * seconds a net) and added there. Not under --jobs or mpirun, whose stages share the cores. A failed
 * measurement costs the predictions, never the run. *secs: the seconds spent measuring. */
static void calibrate(const repro_opts *o, experiment *exps, int ne, double *secs)
{
    char path[720], dir[700];
    snprintf(dir, sizeof dir, "%s/stages", o->results);
    snprintf(path, sizeof path, "%s/rates.txt", dir);
    char *text = NULL;
    if (o->force || xai_read_file(path, &text, NULL) != XAI_OK) xai_clear_error();
    xai_sbuf add = {0};
    argbuf *a = xai_calloc(1, sizeof *a);
    const double t0 = xai_now();
    int nets = 0;
    *secs = 0;
    for (int i = 0; i < ne && o->jobs == 1 && xai_mpi_size() == 1; i++) {
        experiment *e = &exps[i];
        int batch = 256, exact = 0, b, x;
        stage_command(a, o, e, ST_EVALUATE);
        xai_status s = xai_stage_calib_needs(a->argc, a->argv, &batch, &exact);
        /* the models of one config share a net: one calibration, with exact IG if any of them runs it */
        for (int j = 0; j < ne && s == XAI_OK; j++) {
            if (j == i || strcmp(exps[j].config, e->config)) continue;
            stage_command(a, o, &exps[j], ST_EVALUATE);
            if (xai_stage_calib_needs(a->argc, a->argv, &b, &x) == XAI_OK) exact |= x;
        }
        xai_clear_error();
        char key[17];
        xai_rates_key(key, &e->cfg, batch, exact);
        if (s != XAI_OK || xai_rates_parse(text, key, &e->rates) || xai_rates_parse(add.s, key, &e->rates)) continue;
        const int quiet = xai_quiet;
        xai_quiet = 1; /* the benchmarks' own progress lines */
        s = xai_rates_measure(&e->rates, e->config, batch, exact, o->quick ? XAI_CALIB_QUICK : XAI_CALIB_DEFAULT);
        xai_quiet = quiet;
        if (s == XAI_OK) {
            xai_rates_format(&add, key, &e->rates);
            nets++;
        } else {
            fprintf(stderr, "[calibration] %s: no rates, no predictions (%s)\n", e->name, xai_errmsg());
            memset(&e->rates, 0, sizeof e->rates);
        }
    }
    xai_clear_error();
    *secs = add.n ? xai_now() - t0 : 0;
    if (nets && !xai_quiet)
        fprintf(stderr, "[calibration] the cost model's rates of %d net%s: %.1f s (%s)\n", nets, nets > 1 ? "s" : "", *secs,
                path);
    if (add.n && xai_mkdirs(dir) == XAI_OK) {
        xai_sbuf all = {0};
        xai_sbuf_printf(&all, "%s%s", text ? text : "", add.s);
        if (xai_write_file_atomic(path, all.s, all.n) != XAI_OK) xai_clear_error();
        xai_sbuf_free(&all);
    }
    xai_clear_error();
    free(a);
    free(text);
    xai_sbuf_free(&add);
}

/* The cost model's seconds of one stage, -1 (why says it) when it has none; detail: its work by kind. */
static double stage_predicted(const repro_opts *o, const experiment *e, int st, char *why, size_t len, FILE *detail)
{
    snprintf(why, len, "%s", stage_skipped(e, st) ? "not run" : !e->rates.n ? "no rates" : "");
    if (why[0]) return -1;
    argbuf *a = xai_calloc(1, sizeof *a), *x = xai_calloc(1, sizeof *x);
    stage_command(a, o, e, st);
    stage_command(x, o, e, ST_EXPLAIN);
    char metrics[700];
    snprintf(metrics, sizeof metrics, "%s/metrics.h5", e->dir);
    const xai_stage_cmd c = {&e->cfg, a->argc, a->argv, x->argc, x->argv, o->data_dir};
    xai_work w;
    double sec = -1;
    if (xai_stage_work_of(&w, &c, st == ST_EVALUATE ? xai_exact_regions(metrics) : -1) == XAI_OK)
        sec = xai_predict_seconds(&w, &e->rates, why, len), detail ? xai_work_print(detail, &w, &e->rates, "    ") : (void)0;
    else snprintf(why, len, "%s", xai_errmsg());
    xai_clear_error();
    free(a);
    free(x);
    return sec;
}

static void predict_all(const repro_opts *o, experiment *exps, int ne)
{
    char why[300];
    for (int i = 0; i < ne; i++)
        for (int st = 0; st < NSTAGE; st++) exps[i].predicted[st] = stage_predicted(o, &exps[i], st, why, sizeof why, NULL);
}

/* The stages of this invocation whose wall time is off the prediction by more than 25 %: one line
 * saying how many, each of them with --verbose. Information, never a failure (speed is not a timed
 * assertion); provenance.json has every figure. */
static void print_off_model(const repro_opts *o, const experiment *exps, int ne)
{
    int off = 0, modelled = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < ne; i++)
            for (int st = 0; st < NSTAGE; st++) {
                const double r = xai_prov_ratio(exps[i].stage_s[st], exps[i].predicted[st]);
                const int out = r < 0.75 || r > 1.25;
                if (!exps[i].stage_ran[st] || !isfinite(r)) continue;
                if (!pass) modelled++, off += out;
                else if (out && o->verbose)
                    fprintf(stderr, "  %-24s %-9s %8.1f s, predicted %8.1f s (x %.2f)\n", exps[i].name, stage_names[st],
                            exps[i].stage_s[st], exps[i].predicted[st], r);
            }
        if (!pass && (!modelled || xai_quiet)) return;
        if (!pass)
            fprintf(stderr, "xai reproduce: %d of %d modelled stages outside +-25 %% of the cost model (information "
                            "only; provenance.json%s)\n", off, modelled, o->verbose && off ? ":" : ", --verbose lists them");
    }
}

/* --predict: each stage's predicted seconds beside the ones its record holds; runs nothing. */
static int print_predictions(const repro_opts *o, experiment *exps, int ne)
{
    double calib = 0;
    if (o->rates) { /* the same rates for every net, e.g. the roofline table's */
        char *text = NULL;
        xai_rates r;
        xai_status s = xai_read_file(o->rates, &text, NULL);
        const int ok = s == XAI_OK && xai_rates_parse(text, "*", &r);
        free(text);
        if (!ok) {
            fprintf(stderr, "xai reproduce: --rates %s: %s\n", o->rates,
                    s != XAI_OK ? xai_errmsg() : "expected a 'rates *' line, 'kind GFLOP/s' lines and 'end'");
            return 1;
        }
        for (int i = 0; i < ne; i++) exps[i].rates = r;
    } else {
        calibrate(o, exps, ne, &calib);
    }
    char why[300];
    printf("%-24s %-9s %12s %12s %8s  %s\n", "experiment", "stage", "predicted_s", "recorded_s", "ratio", "note");
    double tp = 0, tr = 0;
    for (int i = 0; i < ne; i++)
        for (int st = 0; st < NSTAGE; st++) {
            char *buf = NULL;
            size_t blen = 0;
            FILE *detail = o->verbose ? open_memstream(&buf, &blen) : NULL;
            const double p = stage_predicted(o, &exps[i], st, why, sizeof why, detail), r = exps[i].prev_s[st];
            const double q = xai_prov_ratio(r, p);
            if (detail) fclose(detail);
            if (p >= 0 && r >= 0) tp += p, tr += r;
            printf("%-24s %-9s %12.1f %12.1f %8.3f  %s\n%s", exps[i].name, stage_names[st], p, r, q, why, buf ? buf : "");
            free(buf);
        }
    printf("%-24s %-9s %12.1f %12.1f %8.3f  %s\n", "all modelled", "", tp, tr, xai_prov_ratio(tr, tp),
           "stages with both figures");
    printf("calibration_seconds %.1f\n", calib);
    return 0;
}

/* Cross-experiment outputs: provenance first, so the report and bundle carry it; skipped when the
 * same experiments with the same stage records were published already. */
static xai_status publish(const repro_opts *o, experiment *exps, int ne, double total, double calib_s)
{
    const char *names[MAX_EXP];
    char seeds[MAX_EXP][24];
    xai_prov_stage_times times[MAX_EXP];
    int nmain = 0;
    for (int i = 0; i < ne; i++) {
        if (!exps[i].seed_k) names[nmain++] = exps[i].name; /* the models after the first: read by the report */
        snprintf(seeds[i], sizeof seeds[i], "%ld", exps[i].seed);
        times[i].name = exps[i].name;
        times[i].dataset = xai_config_str(&exps[i].cfg, "experiment", "dataset", exps[i].name);
        times[i].config = exps[i].config;
        times[i].seed = seeds[i];
        for (int st = 0; st < NSTAGE; st++) {
            times[i].stage[st] = stage_names[st];
            times[i].seconds[st] = exps[i].stage_s[st];
            times[i].ran[st] = exps[i].stage_ran[st];
            times[i].predicted[st] = exps[i].predicted[st];
        }
        times[i].rates = exps[i].rates.n ? &exps[i].rates : NULL;
        times[i].nstages = NSTAGE;
    }
    char report[700], bundle[700], rec[700], dir[700], key[4096];
    snprintf(report, sizeof report, "%s/report.html", o->results);
    snprintf(bundle, sizeof bundle, "%s/xai-repro-artifact.zip", o->results);
    snprintf(rec, sizeof rec, "%s/stages/publish.done", o->results);
    snprintf(dir, sizeof dir, "%s/stages", o->results);
    publish_key(key, sizeof key, exps, ne);
    xai_status s = XAI_OK;
    char *old = NULL;
    if (!o->force && xai_file_exists(report) && xai_file_exists(bundle) && xai_read_file(rec, &old, NULL) == XAI_OK &&
        !strcmp(old, key)) {
        fprintf(stderr, "[stage %d/%d] figures, report and bundle: up to date\n", ne * NSTAGE + 1, ne * NSTAGE + 1);
        goto done;
    }
    fprintf(stderr, "[stage %d/%d] figures, report and bundle\n", ne * NSTAGE + 1, ne * NSTAGE + 1);
    if ((s = xai_provenance_write(o->results, times, ne, profile_name(o), total, calib_s)) != XAI_OK) goto done;
    if ((s = xai_publish_all(o->results, names, nmain)) != XAI_OK) goto done;
    if ((s = xai_publish_bundle(o->results, names, nmain)) != XAI_OK) goto done;
    if ((s = xai_mkdirs(dir)) != XAI_OK) goto done;
    s = xai_write_file_atomic(rec, key, strlen(key));
done:
    free(old);
    return s;
}

int xai_cmd_reproduce(int argc, char **argv)
{
    repro_opts o;
    int r = parse_options(&o, argc, argv);
    if (r >= 0) return r;
    static experiment exps[MAX_EXP];
    int ne = find_experiments(&o, exps);
    if (ne < 0) return 1;
    if (ne == 0) {
        fprintf(stderr, "xai reproduce: no experiments (*.ini) in %s\n", o.configs);
        return 1;
    }
    if (xai_mkdirs(o.results) != XAI_OK) return xai_cli_error(XAI_EIO);
    o.all = exps;
    o.nall = ne;
    if (o.predict) {
        r = print_predictions(&o, exps, ne);
        for (int i = 0; i < ne; i++) xai_config_free(&exps[i].cfg);
        return r;
    }
    double calib_s;
    calibrate(&o, exps, ne, &calib_s);
    int rated = 0;
    for (int i = 0; i < ne; i++) rated |= exps[i].rates.n > 0;
    if (!rated) calib_s = -1;
    double t0 = xai_now();
    int failed = run_all(&o, exps, ne);
    double total = xai_now() - t0;
    if (failed) {
        fprintf(stderr, "xai reproduce: stopped after a failure (%.1f s); rerun to resume\n", total);
        for (int i = 0; i < ne; i++) xai_config_free(&exps[i].cfg);
        return 1;
    }
    double tp = xai_now();
    /* Under mpirun rank 0 publishes; every rank leaves with its status. */
    if (xai_mpi_rank() == 0) predict_all(&o, exps, ne);
    xai_status s = xai_mpi_rank() == 0 ? publish(&o, exps, ne, total, calib_s) : XAI_OK;
    s = (xai_status)xai_mpi_agree(s);
    if (xai_mpi_rank() != 0) {
        for (int i = 0; i < ne; i++) xai_config_free(&exps[i].cfg);
        return s == XAI_OK ? 0 : 1;
    }
    double publish_s = xai_now() - tp;
    for (int i = 0; i < ne; i++) xai_config_free(&exps[i].cfg);
    if (s != XAI_OK) return xai_cli_error(s);
    fprintf(stderr, "xai reproduce: done in %.1f s (stages %.1f s, figures/report/bundle %.1f s); results in %s%s\n",
            total + publish_s, total, publish_s, o.results, o.verbose ? "" : " (stage logs in <experiment>/logs/)");
    print_off_model(&o, exps, ne);
    if (!o.verbose) return 0; /* the stage times are in provenance.json too */
    printf("stage_times\n");
    for (int i = 0; i < ne; i++)
        for (int st = 0; st < NSTAGE; st++)
            printf("%s %s %.1f%s\n", exps[i].name, stage_names[st], exps[i].stage_s[st],
                   exps[i].stage_ran[st] ? "" : " (up to date)");
    return 0;
}
