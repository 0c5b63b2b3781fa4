/* cmd_import.c: `xai import`: an ONNX model (a chain of the engine's layer types) as a model file.
 * Options from a table (core/cli.c); the work is core/onnx_import.c. */
#include "core/io.h"
#include "core/onnx.h"
#include "experiments/commands.h"

#include <stdlib.h>
#include <string.h>

/* "a,b,c" -> up to 4 numbers; the count, or -1 when something else is there. */
static int number_list(const char *s, double *v)
{
    int n = 0;
    for (const char *p = s; *p && n < 5; n++) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || (*end && *end != ',') || n == 4) return -1;
        v[n] = x;
        p = *end ? end + 1 : end;
    }
    return n;
}

static int bad_list(const char *opt, const char *v)
{
    fprintf(stderr, "xai import: %s '%s': expected 1 to 4 comma-separated numbers\n", opt, v);
    return 2;
}

int xai_cmd_import(int argc, char **argv)
{
    const char *out = NULL, *input = NULL, *norm = NULL, *mean = NULL, *std = NULL, *classes = NULL;
    const xai_optdef opts[] = {
        {"--out", XAI_ARG_STR, &out, "FILE", 0, 0, "the model file to write (required)"},
        {"--input", XAI_ARG_STR, &input, "CxHxW", 0, 0,
         "shape of one input (default: the graph input's static shape)"},
        {"--normalize", XAI_ARG_STR, &norm, "MEAN,STD", 0, 0,
         "one mean and std for every channel: the net sees (pixel/255 - MEAN) / STD\n(default 0,1)"},
        {"--mean", XAI_ARG_STR, &mean, "A,B,C", 0, 0, "per-channel means (with --std)"},
        {"--std", XAI_ARG_STR, &std, "D,E,F", 0, 0, "per-channel standard deviations (with --mean)"},
        {"--classes", XAI_ARG_STR, &classes, "A,B|@FILE", 0, 0,
         "the class names, comma-separated or a file with one a line; then\nxai explain --target takes them"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {
        "xai import", "MODEL.onnx --out MODEL.h5 [options]",
        "Converts an ONNX model whose graph is a chain of Conv, Relu, MaxPool, AveragePool,\n"
        "GlobalAveragePool, Flatten/Reshape, Gemm/MatMul(+Add), BatchNormalization, Dropout and\n"
        "Identity into a model file (core/README.md), with the input normalisation images need.\n"
        "test_data_set_*/ beside the file (ONNX model zoo layout) are checked after import.",
        opts, 1};
    char *pos[2] = {0};
    int npos = 0;
    int r = xai_opts_parse(&spec, argc, argv, pos, &npos);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    if (npos != 1 || !out) {
        fprintf(stderr, "xai import: give the ONNX file and --out, e.g. xai import net.onnx --out net.h5\n");
        return 2;
    }
    xai_onnx_opts o;
    xai_onnx_opts_default(&o);
    if (input && (xai_shape_parse(input, &o.input) != XAI_OK || o.input.c > 4096)) {
        fprintf(stderr, "xai import: --input '%s': expected CxHxW with positive sizes, e.g. 3x224x224\n", input);
        return 2;
    }
    if ((norm && (mean || std)) || (!mean != !std)) {
        fprintf(stderr, "xai import: give either --normalize MEAN,STD or both --mean and --std\n");
        return 2;
    }
    double ms[5];
    if (norm && number_list(norm, ms) != 2) return bad_list("--normalize", norm);
    if (norm) o.mean[0] = ms[0], o.std[0] = ms[1], o.nmean = o.nstd = 1;
    if (mean && (o.nmean = number_list(mean, o.mean)) < 1) return bad_list("--mean", mean);
    if (std && (o.nstd = number_list(std, o.std)) < 1) return bad_list("--std", std);
    o.classes = classes;
    int nsets = 0;
    double err = 0;
    /* The output never replaces what is read: the ONNX file, or --classes @FILE. */
    xai_status s = xai_output_not_input("--out", out, "the ONNX file", pos[0]);
    if (s == XAI_OK && classes && classes[0] == '@') s = xai_output_not_input("--out", out, "--classes", classes + 1);
    if (s == XAI_OK) s = xai_onnx_convert(pos[0], out, &o, &nsets, &err);
    if (s != XAI_OK) return xai_cli_error(s);
    if (nsets) printf("checked %d test data set(s): largest output difference %.3g (relative)\n", nsets, err);
    printf("wrote %s\n", out);
    return 0;
}
