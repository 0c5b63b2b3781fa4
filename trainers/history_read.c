/* history_read.c: reads the /train group of a model file (what the trainer recorded) for the report,
 * the plot data and provenance. To be folded into trainers/checkpoint.c, the owner of /train. */
#include "core/h5.h"
#include "trainers/history_read.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static void read_attrs(xai_train_record *r, hid_t g)
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

/* /train/history (epochs, columns) as doubles and its @columns; left NULL when absent or unreadable. */
static void read_history(xai_train_record *r, hid_t g)
{
    uint64_t d[8];
    int rank = xai_h5_dims(g, "history", d);
    if (rank < 1 || rank > 2) return;
    size_t n = rank == 1 ? d[0] : d[0] * d[1];
    double *v = xai_malloc((n ? n : 1) * sizeof *v);
    if (xai_h5_read(g, "history", H5T_NATIVE_DOUBLE, v, rank, NULL, "") != XAI_OK) {
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
    if (xai_h5_exists(f, "/train")) {
        hid_t g = H5Gopen2(f, "/train", H5P_DEFAULT);
        if (g >= 0) {
            *found = 1;
            read_attrs(r, g);
            read_history(r, g);
            H5Gclose(g);
        }
    }
    xai_clear_error();
    H5Fclose(f);
    return XAI_OK;
}

void xai_train_record_free(xai_train_record *r)
{
    free(r->history);
    record_defaults(r);
}
