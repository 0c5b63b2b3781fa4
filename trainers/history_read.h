/* history_read.h: reader of the training record a trainer leaves in the model file (/train: final
 * accuracies, settings, provenance and the per-epoch history; layout in trainers/README.md). */
#ifndef XAI_HISTORY_READ_H
#define XAI_HISTORY_READ_H

#include "core/base.h"

#include <stdint.h>

/* NaN / -1 / "" where the attribute is absent (limit: 0). */
typedef struct {
    char dataset[128];
    double train_acc, val_acc, test_acc, train_loss, val_loss, test_loss, lr, train_seconds, img_per_s;
    int64_t epochs, best_epoch, batch, seed, train_images, val_images, test_images, threads, limit;
    char optimizer[32], schedule[32], select[16], created_utc[32], config_path[512], dataset_sha256[80];
    double *history;       /* (hist_rows, hist_cols) /train/history, malloc'd; NULL when absent */
    int hist_rows, hist_cols;
    char hist_columns[256]; /* its @columns, comma-separated */
} xai_train_record;

/* Reads /train of a model file. *found = 0 (and the record left at its defaults) when the file
 * has no /train group; an unreadable file is an error naming it. Free with xai_train_record_free. */
xai_status xai_train_record_read(xai_train_record *r, const char *model_path, int *found);
void xai_train_record_free(xai_train_record *r);

#endif
