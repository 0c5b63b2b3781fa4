/* onnx.h: ONNX models whose graph is a chain of the engine's layer types, read as models
 * (`xai import`); the parser is libprotobuf-c with code generated from ONNX's own onnx.proto. */
#ifndef XAI_ONNX_H
#define XAI_ONNX_H

#include "core/nn.h"

typedef struct {
    xai_shape input;          /* (C, H, W) of one input; zeros: the graph input's static shape */
    double mean[4], std[4];   /* normalisation stored with the model (pixel/255 - mean) / std */
    int nmean, nstd;          /* values given: 0 (mean 0, std 1), 1 (every channel) or C */
    const char *classes;      /* the class names, comma-separated, or "@FILE" with one a line; NULL: none */
} xai_onnx_opts;

void xai_onnx_opts_default(xai_onnx_opts *o);
/* A model of capacity max_batch from the serialized ModelProto data[0..len) (name: for
 * errors). Nodes that are no layer of the engine, or that do not form one chain from the
 * graph input to its output, give XAI_EFORMAT naming the node and its op type. */
xai_status xai_onnx_import_buffer(xai_model **m, const uint8_t *data, size_t len, const char *name,
                                  const xai_onnx_opts *o, int max_batch);
xai_status xai_onnx_import(xai_model **m, const char *path, const xai_onnx_opts *o, int max_batch);

/* The ONNX model zoo's check data beside a model: <dir of path>/test_data_set_<i>/input_0.pb and
 * output_0.pb (serialized TensorProtos). Runs m on each input set and compares with the expected
 * output: *nsets sets found (0: none, not an error), *max_err the largest difference relative to
 * max(1, max |expected|). XAI_EFORMAT when a set is malformed or does not fit the model. */
xai_status xai_onnx_check_test_data(xai_model *m, const char *path, int *nsets, double *max_err);

/* `xai import`: imports onnx, checks it against its test data when present (an error above
 * XAI_ONNX_TOLERANCE) and saves the model file at out (atomically). */
#define XAI_ONNX_TOLERANCE 1e-4
xai_status xai_onnx_convert(const char *onnx, const char *out, const xai_onnx_opts *o, int *nsets, double *max_err);

#endif
