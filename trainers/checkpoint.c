/* checkpoint.c: owner of the files training writes: the per-epoch checkpoint "<out>.ckpt.h5"
 * (model + /checkpoint) and the /train group of the trained model file, which it also reads back
 * for the report and provenance (layout: trainers/README.md). */
#include "core/h5.h"
#include "core/mpi.h"
#include "trainers/checkpoint.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CKPT_FORMAT "xai-checkpoint-1"
#define TRAIN_FORMAT "xai-train-1"

char *xai_train_ckpt_path(const char *out)
{
    size_t n = strlen(out) + 16;
    char *p = xai_malloc(n);
    snprintf(p, n, "%s.ckpt.h5", out);
    return p;
}

uint64_t xai_train_hash(const xai_config *c)
{
    uint64_t h = XAI_FNV_OFFSET; /* checkpoints and train_hash were made with it: never change */
    for (int i = 0; i < c->n; i++) {
        const char *sec = c->e[i].section;
        if (strcmp(sec, "experiment") && strcmp(sec, "model") && strcmp(sec, "train")) continue;
        const char *parts[3] = {sec, c->e[i].key, c->e[i].value};
        for (int k = 0; k < 3; k++) {
            h = xai_fnv1a(h, parts[k], strlen(parts[k]));
            h = xai_fnv1a(h, "\x1f", 1);
        }
    }
    return h;
}

static xai_status write_hist(hid_t loc, const double *hist /* (rows, XAI_HIST_COLS) */, int rows)
{
    uint64_t d[2] = {(uint64_t)rows, XAI_HIST_COLS};
    XAI_TRY(xai_h5_write(loc, "history", H5T_NATIVE_DOUBLE, hist, 2, d));
    hid_t ds = H5Dopen2(loc, "history", H5P_DEFAULT);
    xai_status s = xai_h5_attr_str(ds, "columns", XAI_HIST_COLUMNS);
    H5Dclose(ds);
    return s;
}

/* fsync so that a crash of the machine (not only of the process) cannot leave the rename
 * pointing at unwritten blocks. */
static void sync_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* ------------------------------------------------------------ checkpoints */

static xai_status ckpt_write_group(hid_t g, const xai_train_state *st, const char *signature)
{
    const xai_model *m = st->m;
    uint64_t np[1] = {m->nparams}, nb[1] = {m->nbuffers}, nr[1] = {4};
    XAI_TRY(xai_h5_attr_str(g, "format", CKPT_FORMAT));
    XAI_TRY(xai_h5_attr_str(g, "signature", signature));
    XAI_TRY(xai_h5_attr_i64(g, "epoch", st->epoch));
    XAI_TRY(xai_h5_attr_i64(g, "step", st->step));
    XAI_TRY(xai_h5_attr_i64(g, "model_step", (int64_t)m->step));
    XAI_TRY(xai_h5_attr_i64(g, "model_seed", (int64_t)m->seed));
    XAI_TRY(xai_h5_attr_i64(g, "best_epoch", st->best_epoch));
    XAI_TRY(xai_h5_attr_f64(g, "best_val_acc", st->best_val_acc));
    XAI_TRY(xai_h5_attr_f64(g, "train_seconds", st->seconds));
    XAI_TRY(xai_h5_attr_str(g, "optimizer", xai_optim_name(st->opt.cfg.type)));
    XAI_TRY(xai_h5_attr_i64(g, "optimizer_t", st->opt.t));
    XAI_TRY(xai_h5_attr_str(g, "program_version", xai_version()));
    XAI_TRY(xai_h5_write(g, "rng_state", H5T_NATIVE_UINT64, st->rng.s, 1, nr));
    XAI_TRY(xai_h5_write_f32(g, "optimizer_m1", st->opt.m1, 1, np));
    if (st->opt.m2) XAI_TRY(xai_h5_write_f32(g, "optimizer_m2", st->opt.m2, 1, np));
    XAI_TRY(xai_h5_write_f32(g, "best_params", st->best_params, 1, np));
    if (m->nbuffers) XAI_TRY(xai_h5_write_f32(g, "best_buffers", st->best_buffers, 1, nb));
    return write_hist(g, st->hist, st->epoch);
}

xai_status xai_ckpt_write(const char *path, const xai_train_state *st, const char *signature)
{
    xai_h5file f;
    XAI_TRY(xai_h5_create(&f, path));
    hid_t g = -1;
    xai_status s;
    if ((s = xai_model_save_to(st->m, f.id)) != XAI_OK) goto done;
    if ((g = xai_h5_group(f.id, "/checkpoint")) < 0) {
        s = xai_fail(XAI_EIO, "%s: cannot create group /checkpoint", f.tmp);
        goto done;
    }
    if ((s = ckpt_write_group(g, st, signature)) != XAI_OK) goto done;
    if (H5Fflush(f.id, H5F_SCOPE_GLOBAL) < 0) s = xai_fail(XAI_EIO, "%s: flush failed", f.tmp);
done:
    if (g >= 0) H5Gclose(g);
    if (s != XAI_OK) {
        xai_h5_abort(&f);
        return xai_fail(s, "%s: writing checkpoint failed: %s", path, xai_errmsg());
    }
    sync_file(f.tmp);
    return xai_h5_commit(&f);
}

static xai_status need_i64(hid_t g, const char *name, int64_t *v, const char *path)
{
    if (xai_h5_get_i64(g, name, v) != XAI_OK)
        return xai_fail(XAI_EFORMAT, "%s: /checkpoint lacks attribute '%s'", path, name);
    return XAI_OK;
}

static xai_status need_f64(hid_t g, const char *name, double *v, const char *path)
{
    if (xai_h5_get_f64(g, name, v) != XAI_OK)
        return xai_fail(XAI_EFORMAT, "%s: /checkpoint lacks attribute '%s'", path, name);
    return XAI_OK;
}

static xai_status ckpt_check_identity(hid_t g, const char *path, const char *signature)
{
    char fmt[64] = "", sig[1024] = "";
    if (xai_h5_get_str(g, "format", fmt, sizeof fmt) != XAI_OK || strcmp(fmt, CKPT_FORMAT))
        return xai_fail(XAI_EFORMAT, "%s: /checkpoint format '%s', expected '%s'", path, fmt, CKPT_FORMAT);
    if (xai_h5_get_str(g, "signature", sig, sizeof sig) != XAI_OK || strcmp(sig, signature))
        return xai_fail(XAI_EINVAL,
                        "%s: the checkpoint belongs to another run (%s) than this one (%s); delete it or run without "
                        "--resume",
                        path, sig, signature);
    return XAI_OK;
}

/* Reads the counters and arrays of /checkpoint into st (the weights come from the model). */
static xai_status ckpt_read_group(hid_t g, const char *path, xai_train_state *st, int epochs)
{
    const xai_model *m = st->m;
    int64_t ep = 0, step = 0, mstep = 0, mseed = 0, best = 0, ot = 0;
    double bva = 0, secs = 0;
    XAI_TRY(need_i64(g, "epoch", &ep, path));
    XAI_TRY(need_i64(g, "step", &step, path));
    XAI_TRY(need_i64(g, "model_step", &mstep, path));
    XAI_TRY(need_i64(g, "model_seed", &mseed, path));
    XAI_TRY(need_i64(g, "best_epoch", &best, path));
    XAI_TRY(need_f64(g, "best_val_acc", &bva, path));
    XAI_TRY(need_f64(g, "train_seconds", &secs, path));
    XAI_TRY(need_i64(g, "optimizer_t", &ot, path));
    if (ep < 1 || ep > epochs || best < 0 || best > ep || step < 0)
        return xai_fail(XAI_EFORMAT, "%s: /checkpoint epoch %lld / best epoch %lld out of range (1..%d)", path,
                        (long long)ep, (long long)best, epochs);
    uint64_t np[1] = {m->nparams}, nb[1] = {m->nbuffers}, nr[1] = {4}, nh[2] = {(uint64_t)ep, XAI_HIST_COLS};
    XAI_TRY(xai_h5_read(g, "rng_state", H5T_NATIVE_UINT64, st->rng.s, 1, nr, path));
    XAI_TRY(xai_h5_read(g, "optimizer_m1", H5T_NATIVE_FLOAT, st->opt.m1, 1, np, path));
    if (st->opt.m2) XAI_TRY(xai_h5_read(g, "optimizer_m2", H5T_NATIVE_FLOAT, st->opt.m2, 1, np, path));
    XAI_TRY(xai_h5_read(g, "best_params", H5T_NATIVE_FLOAT, st->best_params, 1, np, path));
    if (m->nbuffers) XAI_TRY(xai_h5_read(g, "best_buffers", H5T_NATIVE_FLOAT, st->best_buffers, 1, nb, path));
    XAI_TRY(xai_h5_read(g, "history", H5T_NATIVE_DOUBLE, st->hist, 2, nh, path));
    st->m->step = (uint64_t)mstep;
    st->m->seed = (uint64_t)mseed;
    st->epoch = (int)ep;
    st->step = step;
    st->best_epoch = (int)best;
    st->best_val_acc = bva;
    st->seconds = secs;
    st->opt.t = ot;
    return XAI_OK;
}

xai_status xai_ckpt_read(const char *path, xai_train_state *st, const char *signature, int epochs)
{
    hid_t f, g = -1;
    XAI_TRY(xai_h5_open(&f, path, 0));
    xai_model *cm = NULL, *m = st->m;
    xai_status s;
    if ((s = xai_model_load_from(&cm, f, path, 1)) != XAI_OK) goto done;
    if (cm->nparams != m->nparams || cm->nbuffers != m->nbuffers || strcmp(cm->spec_text, m->spec_text)) {
        s = xai_fail(XAI_EFORMAT, "%s: the checkpoint's layers differ from the config's [model]", path);
        goto done;
    }
    if (!xai_h5_exists(f, "/checkpoint")) {
        s = xai_fail(XAI_EFORMAT, "%s: no /checkpoint group (not a checkpoint)", path);
        goto done;
    }
    g = H5Gopen2(f, "/checkpoint", H5P_DEFAULT);
    if ((s = ckpt_check_identity(g, path, signature)) != XAI_OK) goto done;
    if ((s = ckpt_read_group(g, path, st, epochs)) != XAI_OK) goto done;
    memcpy(m->params, cm->params, m->nparams * sizeof(float));
    memcpy(m->buffers, cm->buffers, m->nbuffers * sizeof(float));
done:
    if (g >= 0) H5Gclose(g);
    xai_model_free(cm);
    H5Fclose(f);
    return s;
}

/* --------------------------------------------------------- trained model */

/* The run: config, dataset and settings (attribute order as ever: readers list them in order). */
static xai_status train_write_settings(hid_t g, const xai_config *c, const xai_dataset *d,
                                       const xai_train_run *rec)
{
    char hash[32], thash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)xai_config_hash(c));
    snprintf(thash, sizeof thash, "%016llx", (unsigned long long)xai_train_hash(c));
    const xai_train_cfg *tc = rec->tc;
    XAI_TRY(xai_h5_attr_str(g, "format", TRAIN_FORMAT));
    XAI_TRY(xai_h5_attr_str(g, "experiment", xai_config_str(c, "experiment", "name", "")));
    XAI_TRY(xai_h5_attr_str(g, "config_path", c->path ? c->path : ""));
    XAI_TRY(xai_h5_attr_str(g, "config_text", c->text ? c->text : ""));
    XAI_TRY(xai_h5_attr_str(g, "config_hash", hash));
    XAI_TRY(xai_h5_attr_str(g, "train_hash", thash));
    XAI_TRY(xai_h5_attr_i64(g, "seed", (int64_t)rec->seed));
    XAI_TRY(xai_h5_attr_str(g, "dataset", d->name));
    XAI_TRY(xai_h5_attr_str(g, "dataset_sha256", d->sha256));
    XAI_TRY(xai_h5_attr_str(g, "dataset_source", d->source));
    XAI_TRY(xai_h5_attr_i64(g, "limit", rec->limit));
    XAI_TRY(xai_h5_attr_i64(g, "train_images", rec->r->ntrain));
    XAI_TRY(xai_h5_attr_i64(g, "val_images", rec->r->nval));
    XAI_TRY(xai_h5_attr_i64(g, "test_images", rec->r->ntest));
    XAI_TRY(xai_h5_attr_i64(g, "epochs", rec->epochs));
    XAI_TRY(xai_h5_attr_i64(g, "batch", tc->batch));
    XAI_TRY(xai_h5_attr_str(g, "optimizer", xai_optim_name(tc->optim.type)));
    XAI_TRY(xai_h5_attr_str(g, "schedule", xai_sched_name(tc->sched.type)));
    XAI_TRY(xai_h5_attr_f64(g, "lr", tc->sched.lr));
    return xai_h5_attr_str(g, "select", tc->select_best ? "best" : "last");
}

/* The outcome: kept epoch, final figures, timing, and what made the file. */
static xai_status train_write_results(hid_t g, const xai_train_state *st, const xai_train_run *rec)
{
    const xai_train_result *r = rec->r;
    char when[32];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
    XAI_TRY(xai_h5_attr_i64(g, "best_epoch", r->best_epoch));
    XAI_TRY(xai_h5_attr_f64(g, "final_train_loss", r->train_loss));
    XAI_TRY(xai_h5_attr_f64(g, "final_train_acc", r->train_acc));
    XAI_TRY(xai_h5_attr_f64(g, "final_val_loss", r->val_loss));
    XAI_TRY(xai_h5_attr_f64(g, "final_val_acc", r->val_acc));
    XAI_TRY(xai_h5_attr_f64(g, "final_test_loss", r->test_loss));
    XAI_TRY(xai_h5_attr_f64(g, "final_test_acc", r->test_acc));
    XAI_TRY(xai_h5_attr_f64(g, "train_seconds", r->seconds));
    XAI_TRY(xai_h5_attr_f64(g, "img_per_s", r->img_per_s));
    XAI_TRY(xai_h5_attr_i64(g, "resumed_from_epoch", r->resumed_from));
    XAI_TRY(xai_h5_attr_i64(g, "threads", xai_threads()));
    XAI_TRY(xai_h5_attr_i64(g, "mpi_ranks", xai_mpi_size())); /* data-parallel ranks (1: serial) */
    XAI_TRY(xai_h5_attr_str(g, "program_version", xai_version()));
    XAI_TRY(xai_h5_attr_str(g, "created_utc", when));
    return write_hist(g, st->hist, rec->epochs);
}

xai_status xai_train_file_write(const char *out, const xai_train_state *st, const xai_config *c,
                                const xai_dataset *d, const xai_train_run *rec)
{
    xai_h5file f;
    XAI_TRY(xai_h5_create(&f, out));
    hid_t g = -1;
    xai_status s;
    if ((s = xai_model_save_to(st->m, f.id)) != XAI_OK) goto done;
    if ((g = xai_h5_group(f.id, "/train")) < 0) {
        s = xai_fail(XAI_EIO, "%s: cannot create group /train", f.tmp);
        goto done;
    }
    if ((s = train_write_settings(g, c, d, rec)) != XAI_OK) goto done;
    s = train_write_results(g, st, rec);
done:
    if (g >= 0) H5Gclose(g);
    if (s != XAI_OK) {
        xai_h5_abort(&f);
        return xai_fail(s, "%s: writing the model file failed: %s", out, xai_errmsg());
    }
    return xai_h5_commit(&f);
}

/* --------------------------------------------------- reading /train back */

static void record_defaults(xai_train_record *r)
{
    memset(r, 0, sizeof *r);
    double *nan_fields[] = {&r->train_acc, &r->val_acc, &r->test_acc,      &r->train_loss, &r->val_loss,
                            &r->test_loss, &r->lr,      &r->train_seconds, &r->img_per_s};
    for (size_t i = 0; i < sizeof nan_fields / sizeof *nan_fields; i++) *nan_fields[i] = NAN;
    r->epochs = r->best_epoch = r->batch = r->seed = r->train_images = r->val_images = r->test_images = -1;
    r->threads = -1;
}

static double get_f64(hid_t g, const char *name)
{
    double v = NAN;
    if (xai_h5_get_f64(g, name, &v) != XAI_OK) v = NAN;
    return v;
}

static void get_i64(hid_t g, const char *name, int64_t *v)
{
    int64_t x;
    if (xai_h5_get_i64(g, name, &x) == XAI_OK) *v = x;
}

/* A string attribute, copied only when read whole. */
static void get_str(hid_t g, const char *name, char *out, size_t cap)
{
    char *tmp = xai_calloc(cap, 1);
    if (xai_h5_get_str(g, name, tmp, cap) == XAI_OK) snprintf(out, cap, "%s", tmp);
    free(tmp);
}

static void record_read_attrs(xai_train_record *r, hid_t g)
{
    get_str(g, "dataset", r->dataset, sizeof r->dataset);
    r->train_acc = get_f64(g, "final_train_acc");
    r->val_acc = get_f64(g, "final_val_acc");
    r->test_acc = get_f64(g, "final_test_acc");
    r->train_loss = get_f64(g, "final_train_loss");
    r->val_loss = get_f64(g, "final_val_loss");
    r->test_loss = get_f64(g, "final_test_loss");
    r->lr = get_f64(g, "lr");
    r->train_seconds = get_f64(g, "train_seconds");
    r->img_per_s = get_f64(g, "img_per_s");
    get_i64(g, "epochs", &r->epochs);
    get_i64(g, "best_epoch", &r->best_epoch);
    get_i64(g, "batch", &r->batch);
    get_i64(g, "seed", &r->seed);
    get_i64(g, "train_images", &r->train_images);
    get_i64(g, "val_images", &r->val_images);
    get_i64(g, "test_images", &r->test_images);
    get_i64(g, "threads", &r->threads);
    get_i64(g, "limit", &r->limit);
    get_str(g, "optimizer", r->optimizer, sizeof r->optimizer);
    get_str(g, "schedule", r->schedule, sizeof r->schedule);
    get_str(g, "select", r->select, sizeof r->select);
    get_str(g, "created_utc", r->created_utc, sizeof r->created_utc);
    get_str(g, "config_path", r->config_path, sizeof r->config_path);
    get_str(g, "dataset_sha256", r->dataset_sha256, sizeof r->dataset_sha256);
}

#define XAI_HISTORY_MAX_ROWS 1000000
#define XAI_HISTORY_MAX_COLS 1024

/* /train/history (epochs, columns) as doubles and its @columns; left NULL when absent or unreadable. */
static void record_read_history(xai_train_record *r, hid_t g)
{
    uint64_t d[8];
    int rank = xai_h5_dims(g, "history", d);
    /* A shape beyond any training run (epochs are capped at 100000, columns are a few) is
     * unreadable, not an allocation of what the file claims. */
    if (rank < 1 || rank > 2 || d[0] > XAI_HISTORY_MAX_ROWS || (rank == 2 && d[1] > XAI_HISTORY_MAX_COLS)) return;
    size_t n = rank == 1 ? d[0] : d[0] * d[1];
    double *v = xai_malloc((n ? n : 1) * sizeof *v);
    if (xai_h5_read_f64(g, "history", v, rank, NULL, "") != XAI_OK) {
        free(v);
        return;
    }
    r->history = v;
    r->hist_rows = (int)d[0];
    r->hist_cols = rank == 2 ? (int)d[1] : 1;
    hid_t ds = H5Dopen2(g, "history", H5P_DEFAULT);
    if (ds < 0) return;
    get_str(ds, "columns", r->hist_columns, sizeof r->hist_columns);
    H5Dclose(ds);
}

xai_status xai_train_record_read(xai_train_record *r, const char *model_path, int *found)
{
    record_defaults(r);
    *found = 0;
    hid_t f;
    XAI_TRY(xai_h5_open(&f, model_path, 0));
    hid_t g = xai_h5_open_group(f, "/train");
    if (g >= 0) {
        *found = 1;
        record_read_attrs(r, g);
        record_read_history(r, g);
        xai_h5_close(g);
    }
    xai_clear_error();
    xai_h5_close(f);
    return XAI_OK;
}

void xai_train_record_free(xai_train_record *r)
{
    free(r->history);
    record_defaults(r);
}
