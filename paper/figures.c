/* figures.c: the paper's figures: runs the gnuplot scripts of paper/ on the plot data that
 * export.c writes, per experiment and across experiments, replacing figures/ whole. */
#include "paper/publish.h"
#include "paper/plotio.h"
#include "core/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *xai_paper_dir(void)
{
    const char *e = getenv("XAI_PAPER_DIR");
    if (e && *e) return e;
#ifdef XAI_SOURCE_DIR
    return XAI_SOURCE_DIR "/paper";
#else
    return "paper";
#endif
}

xai_status xai_gnuplot_find(char *path, size_t cap)
{
    const char *e = getenv("XAI_GNUPLOT");
    if (e && *e) {
        if (access(e, X_OK) == 0) {
            snprintf(path, cap, "%s", e);
            return XAI_OK;
        }
        return xai_fail(XAI_ENOTFOUND, "XAI_GNUPLOT=%s is not an executable file", e);
    }
    const char *p = getenv("PATH");
    char *dirs = xai_strdup(p && *p ? p : "/usr/bin:/bin");
    int found = 0;
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *cand = xai_path_join(*d ? d : ".", "gnuplot");
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
            snprintf(path, cap, "%s", cand);
            found = 1;
        }
        free(cand);
    }
    free(dirs);
    if (!found)
        return xai_fail(XAI_ENOTFOUND,
                        "gnuplot not found on PATH (%s): the figures need gnuplot 5 with the pngcairo and pdfcairo "
                        "terminals; install it with 'apt-get install gnuplot-nox' (or set XAI_GNUPLOT to its path)",
                        p ? p : "unset");
    return XAI_OK;
}

/* Tail of gnuplot's messages for an error: the lines that say what went wrong come last. */
static const char *tail(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > max ? s + n - max : s;
}

static xai_status run_gnuplot_in(const char *script, const char *data_dir, const char *out_dir, FILE *log)
{
    char gp[1024];
    XAI_TRY(xai_gnuplot_find(gp, sizeof gp));
    if (!xai_file_exists(script))
        return xai_fail(XAI_ENOTFOUND, "%s: gnuplot script missing (set XAI_PAPER_DIR to the repository's paper/)",
                        script);
    xai_sbuf e = {0};
    xai_sbuf_printf(&e, "data = ");
    xai_gp_quote(&e, data_dir);
    xai_sbuf_printf(&e, "; out = ");
    xai_gp_quote(&e, out_dir);
    int fd[2];
    if (pipe(fd) != 0) {
        xai_sbuf_free(&e);
        return xai_fail(XAI_EIO, "cannot create a pipe for gnuplot: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]), close(fd[1]);
        xai_sbuf_free(&e);
        return xai_fail(XAI_EIO, "cannot start gnuplot: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int dn = open("/dev/null", O_RDWR);
        if (dn >= 0) dup2(dn, 0);
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        char *argv[] = {gp, "-e", e.s, (char *)script, NULL};
        execv(gp, argv);
        _exit(127);
    }
    close(fd[1]);
    xai_sbuf out = {0};
    char buf[4096];
    ssize_t r;
    while ((r = read(fd[0], buf, sizeof buf)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        xai_sbuf_printf(&out, "%.*s", (int)r, buf);
    }
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    xai_status st = XAI_OK;
    const char *msg = out.s ? out.s : "";
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const char *hint = strstr(msg, "unknown or ambiguous terminal")
                               ? " (this gnuplot lacks the cairo terminals: install gnuplot-nox)"
                               : "";
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            st = xai_fail(XAI_ENOTFOUND, "%s: could not execute gnuplot (%s)", script, gp);
        else
            st = xai_fail(XAI_EFORMAT, "%s: gnuplot failed (exit %d)%s: %s", script,
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1, hint, tail(msg, 600));
    } else if (out.n) {
        xai_plot_note(log, "gnuplot %s: %s%s", script, msg, msg[out.n - 1] == '\n' ? "" : "\n");
    }
    xai_sbuf_free(&out);
    xai_sbuf_free(&e);
    return st;
}

xai_status xai_gnuplot_run(const char *script, const char *data_dir, const char *out_dir, FILE *log)
{
    char *tmp = NULL;
    XAI_TRY(xai_mkdirs(out_dir));
    XAI_TRY(xai_plot_tmp_dir(&tmp, out_dir));
    xai_status st = run_gnuplot_in(script, data_dir, tmp, log);
    /* Move each rendered file into place (rename is atomic per file). */
    DIR *d = st == XAI_OK ? opendir(tmp) : NULL;
    struct dirent *e;
    while (d && st == XAI_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *a = xai_path_join(tmp, e->d_name), *b = xai_path_join(out_dir, e->d_name);
        if (rename(a, b) != 0) st = xai_fail(XAI_EIO, "%s: cannot move into place: %s", b, strerror(errno));
        free(a);
        free(b);
    }
    if (d) closedir(d);
    xai_plot_remove_dir(tmp);
    free(tmp);
    return st;
}

/* A per-experiment figure: its script, the data file that must exist and a name for notes. */
static const struct {
    const char *script, *needs, *what;
} EXP_FIGS[] = {
    {"heatmaps.gp", "input_1.dat", "heatmap grid"},
    {"pixelflip.gp", "pixelflip.dat", "pixel-flipping curves"},
    {"insdel.gp", "insdel.dat", "insertion/deletion curves"},
    {"road.gp", "road.dat", "ROAD curves"},
    {"sensn.gp", "sensn.dat", "sensitivity-n curves"},
    {"ig_completeness.gp", "ig_completeness.dat", "IG completeness vs steps"},
    {"training.gp", "training.dat", "training curves"},
    {"agreement.gp", "agreement.dat", "metric agreement matrix"},
    {"sanity.gp", "sanity.dat", "randomisation cascade"},
};
#define N_EXP_FIGS ((int)(sizeof EXP_FIGS / sizeof *EXP_FIGS))

/* Renders scripts whose data exist into a fresh figures directory, then swaps it in. */
static xai_status render_set(const char *data_dir, const char *fig_dir, const char *paper, const char *const *scripts,
                             const char *const *needs, const char *const *whats, int n, FILE *log)
{
    char gp[1024];
    XAI_TRY(xai_gnuplot_find(gp, sizeof gp));
    char *tmp = NULL;
    XAI_TRY(xai_plot_tmp_dir(&tmp, fig_dir));
    xai_status st = XAI_OK;
    for (int i = 0; i < n; i++) {
        char *need = xai_path_join(data_dir, needs[i]);
        int have = xai_file_exists(need);
        free(need);
        if (!have) {
            xai_plot_note(log, "figures: %s/%s missing: %s skipped\n", data_dir, needs[i], whats[i]);
            continue;
        }
        char *script = xai_path_join(paper, scripts[i]);
        st = run_gnuplot_in(script, data_dir, tmp, log);
        free(script);
        if (st != XAI_OK) goto done;
    }
    st = xai_plot_commit_dir(tmp, fig_dir);
done:
    if (st != XAI_OK) xai_plot_remove_dir(tmp);
    free(tmp);
    return st;
}

xai_status xai_figures_experiment(const char *exp_dir, const char *paper_dir, FILE *log)
{
    const char *paper = paper_dir ? paper_dir : xai_paper_dir();
    char *data = xai_path_join(exp_dir, "plot"), *meta = xai_path_join(data, "meta.gp");
    char *figs = xai_path_join(exp_dir, "figures");
    xai_status st = XAI_OK;
    if (!xai_file_exists(meta) && (st = xai_export_experiment(exp_dir, NULL, NULL, log)) != XAI_OK) goto done;
    const char *sc[N_EXP_FIGS], *nd[N_EXP_FIGS], *wh[N_EXP_FIGS];
    for (int i = 0; i < N_EXP_FIGS; i++) sc[i] = EXP_FIGS[i].script, nd[i] = EXP_FIGS[i].needs, wh[i] = EXP_FIGS[i].what;
    st = render_set(data, figs, paper, sc, nd, wh, N_EXP_FIGS, log);
done:
    free(figs);
    free(data);
    free(meta);
    return st;
}

/* An experiment's plot data, then its figures from it. */
static xai_status export_and_draw(const char *dir, const char *paper, const xai_export_opts *o, FILE *log)
{
    XAI_TRY(xai_export_experiment(dir, NULL, o, log));
    return xai_figures_experiment(dir, paper, log);
}

xai_status xai_figures_all(const char *results_root, const char *const *exps, int n, const char *paper_dir,
                           const xai_export_opts *o, FILE *log)
{
    if (!results_root || n <= 0 || !exps)
        return xai_fail(XAI_EINVAL, "figures: a results directory and at least one experiment are needed");
    const char *paper = paper_dir ? paper_dir : xai_paper_dir();
    char gp[1024];
    XAI_TRY(xai_gnuplot_find(gp, sizeof gp)); /* fail before any work when it cannot end well */
    for (int e = 0; e < n; e++) {
        char *dir = xai_path_join(results_root, exps[e]);
        xai_status st = export_and_draw(dir, paper, o, log);
        free(dir);
        XAI_TRY(st);
    }
    return xai_figures_cross(results_root, exps, n, paper_dir, log);
}

xai_status xai_figures_cross(const char *results_root, const char *const *exps, int n, const char *paper_dir,
                             FILE *log)
{
    if (!results_root || n <= 0 || !exps)
        return xai_fail(XAI_EINVAL, "figures: a results directory and at least one experiment are needed");
    const char *paper = paper_dir ? paper_dir : xai_paper_dir();
    XAI_TRY(xai_export_cross(results_root, exps, n, log));
    char *data = xai_path_join(results_root, "plot"), *figs = xai_path_join(results_root, "figures");
    const char *sc[2] = {"aopc.gp", "runtime.gp"}, *nd[2] = {"aopc.dat", "runtime.dat"};
    const char *wh[2] = {"AOPC bars", "runtime bars"};
    xai_status st = render_set(data, figs, paper, sc, nd, wh, 2, log);
    free(data);
    free(figs);
    return st;
}

