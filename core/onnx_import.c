/* onnx_import.c: an ONNX graph that is a chain of Conv, Relu, pools, Flatten/Reshape, Gemm/MatMul
 * (+Add), BatchNormalization, Dropout and Identity becomes a model (`xai import`; core/README.md). */
#include "core/base.h"
#include "core/io.h"
#include "core/kernels.h" /* xai_model_create_at */
#include "core/onnx.h"

#include "onnx.pb-c.h" /* generated at build time by protoc-c from Debian's onnx.proto */

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Larger than any protobuf message may be (2 GiB). */
#define ONNX_MAX_BYTES ((size_t)2 << 30)
#define ONNX_MAX_LAYERS 10000
/* Elements of one tensor; a sane model stays far below. */
#define ONNX_MAX_ELEMS ((int64_t)1 << 31)

typedef Onnx__NodeProto node_t;
typedef Onnx__TensorProto tensor_t;

/* One layer being built: its spec, its parameters (malloc'd, the engine's layout) and the node. */
typedef struct {
    xai_layer_spec spec;
    float *w, *b, *rmean, *rvar;
    size_t nw, nb, nstat;
    const node_t *node;
    int64_t flat_size; /* Reshape to (N, F): F, checked once shapes are known (0: any) */
} layer_t;

typedef struct {
    const Onnx__GraphProto *g;
    const char *name;
    layer_t *l;
    int n;
    int pending_pad;         /* a zero Pad node's padding, taken by the Conv or AveragePool after it */
    const node_t *pad_node;
    const tensor_t **consts; /* outputs of Constant nodes */
    const char **const_names;
    int nconsts;
} builder;

void xai_onnx_opts_default(xai_onnx_opts *o)
{
    memset(o, 0, sizeof *o);
}

/* "node 'conv1' (#3, Conv)" for messages. */
static const char *where(const builder *b, const node_t *nd)
{
    static _Thread_local char buf[512];
    int idx = 0;
    for (size_t i = 0; i < b->g->n_node; i++)
        if (b->g->node[i] == nd) idx = (int)i;
    snprintf(buf, sizeof buf, "%s: node '%s' (#%d, %s)", b->name, nd->name && *nd->name ? nd->name : "", idx,
             nd->op_type ? nd->op_type : "?");
    return buf;
}

/* ---------------------------------------------------------------- tensors */

static const tensor_t *find_tensor(const builder *b, const char *name)
{
    for (size_t i = 0; i < b->g->n_initializer; i++)
        if (b->g->initializer[i]->name && !strcmp(b->g->initializer[i]->name, name)) return b->g->initializer[i];
    for (int i = 0; i < b->nconsts; i++)
        if (!strcmp(b->const_names[i], name)) return b->consts[i];
    return NULL;
}

/* Element count of t from its dims, range-checked. */
static xai_status tensor_count(const tensor_t *t, const char *what, int64_t *count)
{
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || (t->dims[i] > 0 && n > ONNX_MAX_ELEMS / t->dims[i]))
            return xai_fail(XAI_EFORMAT, "%s: tensor '%s' has dimension %zu = %lld, expected 0 to %lld elements in all",
                            what, t->name ? t->name : "", i, (long long)t->dims[i], (long long)ONNX_MAX_ELEMS);
        n *= t->dims[i];
    }
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return xai_fail(XAI_EFORMAT, "%s: tensor '%s' keeps its data in an external file; save the model with "
                        "onnx.save(model, path, save_as_external_data=False)", what, t->name ? t->name : "");
    *count = n;
    return XAI_OK;
}

/* The float32 values of t (malloc'd, *n of them). */
static xai_status tensor_floats(const tensor_t *t, const char *what, float **out, size_t *n)
{
    int64_t cnt;
    XAI_TRY(tensor_count(t, what, &cnt));
    const char *tn = t->name ? t->name : "";
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return xai_fail(XAI_EFORMAT, "%s: tensor '%s' has ONNX data type %d, expected 1 (float32)", what, tn,
                        (int)t->data_type);
    *out = xai_calloc(cnt ? (size_t)cnt : 1, sizeof **out);
    *n = (size_t)cnt;
    if (t->has_raw_data && t->raw_data.len == (size_t)cnt * 4) {
        for (int64_t i = 0; i < cnt; i++) { /* little-endian on the wire, as ONNX specifies */
            const uint8_t *p = t->raw_data.data + 4 * i;
            uint32_t u = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            memcpy(&(*out)[i], &u, 4);
        }
        return XAI_OK;
    }
    if (!t->has_raw_data && t->n_float_data == (size_t)cnt) {
        if (cnt) memcpy(*out, t->float_data, (size_t)cnt * sizeof(float)); /* none: float_data is NULL */
        return XAI_OK;
    }
    free(*out);
    *out = NULL;
    return xai_fail(XAI_EFORMAT, "%s: tensor '%s' holds %zu values, its dims say %lld", what, tn,
                    t->has_raw_data ? t->raw_data.len / 4 : t->n_float_data, (long long)cnt);
}

/* An int64 tensor of at most cap values (Reshape's shape). Returns the count, -1 on error. */
static int tensor_i64s(const tensor_t *t, const char *what, int64_t *out, int cap)
{
    int64_t cnt;
    if (tensor_count(t, what, &cnt) != XAI_OK) return -1;
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || cnt > cap) {
        xai_fail(XAI_EFORMAT, "%s: shape tensor '%s' is not int64 with at most %d values", what,
                 t->name ? t->name : "", cap);
        return -1;
    }
    if (t->has_raw_data && t->raw_data.len == (size_t)cnt * 8) {
        for (int64_t i = 0; i < cnt; i++) {
            uint64_t u = 0;
            for (int k = 7; k >= 0; k--) u = u << 8 | t->raw_data.data[8 * i + k];
            memcpy(&out[i], &u, 8);
        }
        return (int)cnt;
    }
    if (!t->has_raw_data && t->n_int64_data == (size_t)cnt) {
        if (cnt > 0) memcpy(out, t->int64_data, (size_t)cnt * 8); /* an empty field's pointer is NULL */
        return (int)cnt;
    }
    xai_fail(XAI_EFORMAT, "%s: shape tensor '%s' holds the wrong number of values", what, t->name ? t->name : "");
    return -1;
}

/* The named input #i of nd as an initializer's floats; counts checked against want (0: any). */
static xai_status param(const builder *b, const node_t *nd, size_t i, const char *role, size_t want, float **out,
                        size_t *n)
{
    const char *w = where(b, nd);
    if (i >= nd->n_input || !nd->input[i] || !*nd->input[i])
        return xai_fail(XAI_EFORMAT, "%s: input %zu (%s) is missing", w, i, role);
    const tensor_t *t = find_tensor(b, nd->input[i]);
    if (!t)
        return xai_fail(XAI_EFORMAT, "%s: %s '%s' is not a constant (initializer); only fixed weights are imported",
                        w, role, nd->input[i]);
    XAI_TRY(tensor_floats(t, w, out, n));
    if (want && *n != want) {
        free(*out);
        *out = NULL;
        return xai_fail(XAI_EFORMAT, "%s: %s '%s' has %zu values, expected %zu", w, role, nd->input[i], *n, want);
    }
    return XAI_OK;
}

/* ------------------------------------------------------------- attributes */

static const Onnx__AttributeProto *attr(const node_t *nd, const char *name)
{
    for (size_t i = 0; i < nd->n_attribute; i++)
        if (nd->attribute[i]->name && !strcmp(nd->attribute[i]->name, name)) return nd->attribute[i];
    return NULL;
}

static int64_t attr_i(const node_t *nd, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    return a && a->has_i ? a->i : def;
}

static double attr_f(const node_t *nd, const char *name, double def)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    return a && a->has_f ? a->f : def;
}

/* A list attribute whose values must all be equal (square kernels, symmetric padding): that
 * value, def when absent; -1 (message set) otherwise. */
static int64_t attr_same(const builder *b, const node_t *nd, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    if (!a || a->n_ints == 0) return def;
    for (size_t i = 0; i < a->n_ints; i++)
        if (a->ints[i] != a->ints[0] || a->ints[i] < 0 || a->ints[i] > 1 << 20 || (a->n_ints != 2 && a->n_ints != 4)) {
            xai_fail(XAI_EFORMAT, "%s: %s has %zu values not all equal (or out of range); the engine has 2-d square "
                     "kernels, equal strides and the same padding on every side", where(b, nd), name, a->n_ints);
            return -1;
        }
    return a->ints[0];
}

/* Attributes the engine has no equivalent for must keep their neutral value. */
static xai_status need_neutral(const builder *b, const node_t *nd)
{
    const char *ap = NULL;
    const Onnx__AttributeProto *a = attr(nd, "auto_pad");
    if (a && a->has_s) ap = (const char *)a->s.data;
    if (ap && a->s.len && strncmp(ap, "NOTSET", a->s.len) && strncmp(ap, "VALID", a->s.len))
        return xai_fail(XAI_EFORMAT, "%s: auto_pad %.*s is not supported; export with explicit pads", where(b, nd),
                        (int)a->s.len, ap);
    if (attr_same(b, nd, "dilations", 1) != 1 || attr_i(nd, "group", 1) != 1 || attr_i(nd, "ceil_mode", 0) != 0)
        return xai_fail(XAI_EFORMAT, "%s: dilations, groups and ceil_mode must keep their default (1, 1, 0)",
                        where(b, nd));
    return XAI_OK;
}

/* ------------------------------------------------------------------ nodes */

static layer_t *add_layer(builder *b, const node_t *nd, xai_layer_type t)
{
    if (b->n >= ONNX_MAX_LAYERS) return NULL;
    layer_t *l = &b->l[b->n++];
    memset(l, 0, sizeof *l);
    l->spec = (xai_layer_spec){.type = t, .eps = 1e-5f, .momentum = 0.1f};
    l->node = nd;
    return l;
}

/* Conv, MaxPool, AveragePool: kernel, stride and padding. */
static xai_status window_node(builder *b, const node_t *nd, xai_layer_type t)
{
    XAI_TRY(need_neutral(b, nd));
    int64_t k = attr_same(b, nd, "kernel_shape", 0), s = attr_same(b, nd, "strides", 1),
            p = attr_same(b, nd, "pads", 0);
    if (k < 0 || s < 0 || p < 0) return XAI_EFORMAT;
    if (b->pad_node && t == XAI_MAXPOOL2D)
        return xai_fail(XAI_EFORMAT, "%s: zero padding before a max pool is not the max pool's padding; only Conv "
                        "and AveragePool may follow a Pad", where(b, b->pad_node));
    if (t == XAI_AVGPOOL2D && p > 0 && attr_i(nd, "count_include_pad", 0) != 1)
        return xai_fail(XAI_EFORMAT, "%s: padded average pooling must count the padding (count_include_pad=1), as "
                        "the engine and PyTorch's default do", where(b, nd));
    p += b->pending_pad; /* zeros padded before = the layer's own zero padding (average pools count it) */
    b->pending_pad = 0, b->pad_node = NULL;
    layer_t *l = add_layer(b, nd, t);
    if (!l) return xai_fail(XAI_EFORMAT, "%s: more than %d layers", b->name, ONNX_MAX_LAYERS);
    l->spec.stride = (int)s, l->spec.pad = (int)p, l->spec.k = (int)k;
    if (t != XAI_CONV2D) {
        if (k <= 0) return xai_fail(XAI_EFORMAT, "%s: kernel_shape is missing", where(b, nd));
        return XAI_OK;
    }
    XAI_TRY(param(b, nd, 1, "weight", 0, &l->w, &l->nw));
    const tensor_t *wt = find_tensor(b, nd->input[1]);
    if (wt->n_dims != 4 || wt->dims[2] != wt->dims[3] || (k > 0 && wt->dims[2] != k) || wt->dims[0] <= 0)
        return xai_fail(XAI_EFORMAT, "%s: weight must be (out, in, k, k)", where(b, nd));
    l->spec.k = (int)wt->dims[2];
    l->spec.out = (int)wt->dims[0];
    l->spec.bias = nd->n_input > 2 && nd->input[2] && *nd->input[2];
    if (l->spec.bias) XAI_TRY(param(b, nd, 2, "bias", (size_t)l->spec.out, &l->b, &l->nb));
    return XAI_OK;
}

/* Gemm (Y = X B' + C with transB = 1, the PyTorch export; transB = 0 is transposed here) and MatMul. */
static xai_status linear_node(builder *b, const node_t *nd, int gemm)
{
    if (gemm && (attr_i(nd, "transA", 0) != 0 || attr_f(nd, "alpha", 1) != 1 || attr_f(nd, "beta", 1) != 1))
        return xai_fail(XAI_EFORMAT, "%s: only transA = 0, alpha = 1, beta = 1 are supported", where(b, nd));
    layer_t *l = add_layer(b, nd, XAI_LINEAR);
    if (!l) return xai_fail(XAI_EFORMAT, "%s: more than %d layers", b->name, ONNX_MAX_LAYERS);
    XAI_TRY(param(b, nd, 1, "weight", 0, &l->w, &l->nw));
    const tensor_t *wt = find_tensor(b, nd->input[1]);
    if (wt->n_dims != 2 || wt->dims[0] <= 0 || wt->dims[1] <= 0)
        return xai_fail(XAI_EFORMAT, "%s: weight '%s' is not a 2-d matrix", where(b, nd), nd->input[1]);
    const int transb = gemm && attr_i(nd, "transB", 0) == 1;
    const int64_t out = transb ? wt->dims[0] : wt->dims[1], in = transb ? wt->dims[1] : wt->dims[0];
    if (!transb) { /* (in, out) -> (out, in) */
        float *tw = xai_calloc(l->nw, sizeof *tw);
        for (int64_t i = 0; i < in; i++)
            for (int64_t o = 0; o < out; o++) tw[o * in + i] = l->w[i * out + o];
        free(l->w);
        l->w = tw;
    }
    l->spec.out = (int)out;
    l->spec.bias = gemm && nd->n_input > 2 && nd->input[2] && *nd->input[2];
    if (l->spec.bias) XAI_TRY(param(b, nd, 2, "bias", (size_t)out, &l->b, &l->nb));
    return XAI_OK;
}

/* Add of a constant to the output of a conv or linear layer without bias: that layer's bias. */
static xai_status add_node(builder *b, const node_t *nd, const char *cur)
{
    layer_t *l = b->n ? &b->l[b->n - 1] : NULL;
    const int other = nd->n_input == 2 && !strcmp(nd->input[0], cur) ? 1 : 0;
    if (!l || (l->spec.type != XAI_LINEAR && l->spec.type != XAI_CONV2D) || l->spec.bias || nd->n_input != 2 ||
        !find_tensor(b, nd->input[other]))
        return xai_fail(XAI_EFORMAT, "%s: Add is imported only as the bias of the MatMul or Conv right before it "
                        "(a constant of one value per output)", where(b, nd));
    XAI_TRY(param(b, nd, (size_t)other, "bias", (size_t)l->spec.out, &l->b, &l->nb));
    l->spec.bias = 1;
    return XAI_OK;
}

static xai_status batchnorm_node(builder *b, const node_t *nd)
{
    layer_t *l = add_layer(b, nd, XAI_BATCHNORM2D);
    if (!l) return xai_fail(XAI_EFORMAT, "%s: more than %d layers", b->name, ONNX_MAX_LAYERS);
    XAI_TRY(param(b, nd, 1, "scale", 0, &l->w, &l->nw));
    XAI_TRY(param(b, nd, 2, "bias", l->nw, &l->b, &l->nb));
    XAI_TRY(param(b, nd, 3, "mean", l->nw, &l->rmean, &l->nstat));
    XAI_TRY(param(b, nd, 4, "var", l->nw, &l->rvar, &l->nstat));
    l->spec.eps = (float)attr_f(nd, "epsilon", 1e-5);
    l->spec.momentum = (float)(1 - attr_f(nd, "momentum", 0.9)); /* ONNX keeps the old statistics' share */
    if (!(l->spec.eps > 0) || nd->n_output > 1)
        return xai_fail(XAI_EFORMAT, "%s: only inference-mode batch normalization with epsilon > 0", where(b, nd));
    return XAI_OK;
}

/* Pad with zeros, the same on all four spatial sides and none on N, C (PyTorch writes one before
 * an AvgPool2d): folded into the Conv or AveragePool that follows. */
static xai_status pad_node(builder *b, const node_t *nd)
{
    int64_t pads[8] = {0};
    int n = -1;
    const Onnx__AttributeProto *a = attr(nd, "pads");
    if (a && a->n_ints == 8) n = 8, memcpy(pads, a->ints, sizeof pads);
    else if (nd->n_input >= 2 && find_tensor(b, nd->input[1])) n = tensor_i64s(find_tensor(b, nd->input[1]), where(b, nd), pads, 8);
    const Onnx__AttributeProto *mode = attr(nd, "mode");
    const int constant = !mode || !mode->has_s || !strncmp((const char *)mode->s.data, "constant", mode->s.len);
    float *v = NULL;
    size_t nv = 0;
    int zero = 1;
    if (nd->n_input >= 3 && nd->input[2] && *nd->input[2]) {
        XAI_TRY(param(b, nd, 2, "constant_value", 1, &v, &nv));
        zero = v[0] == 0;
        free(v);
    }
    if (n != 8 || !constant || !zero || pads[0] || pads[1] || pads[4] || pads[5] || pads[2] != pads[3] ||
        pads[2] != pads[6] || pads[2] != pads[7] || pads[2] < 0 || pads[2] > 1 << 20 || b->pad_node)
        return xai_fail(XAI_EFORMAT, "%s: only a constant zero Pad of the same width on the four spatial sides "
                        "(before a Conv or AveragePool) is imported", where(b, nd));
    b->pending_pad = (int)pads[2];
    b->pad_node = pads[2] ? nd : NULL;
    return XAI_OK;
}

/* Flatten (axis 1) or Reshape to (N, F): a flatten layer. */
static xai_status flatten_node(builder *b, const node_t *nd, int reshape)
{
    int64_t shape[2] = {0, 0};
    if (!reshape && attr_i(nd, "axis", 1) != 1)
        return xai_fail(XAI_EFORMAT, "%s: only axis = 1 (keep the batch dimension)", where(b, nd));
    if (reshape) {
        const tensor_t *t = nd->n_input == 2 ? find_tensor(b, nd->input[1]) : NULL;
        int n = t ? tensor_i64s(t, where(b, nd), shape, 2) : -1;
        if (n != 2 || shape[0] < -1 || shape[0] > 1 || shape[1] < -1 || shape[1] == 0)
            return xai_fail(XAI_EFORMAT, "%s: only a reshape to a constant 2-d shape (N, F) is imported, "
                            "as a flatten", where(b, nd));
    }
    layer_t *l = add_layer(b, nd, XAI_FLATTEN);
    if (!l) return xai_fail(XAI_EFORMAT, "%s: more than %d layers", b->name, ONNX_MAX_LAYERS);
    l->flat_size = shape[1] > 0 ? shape[1] : 0;
    return XAI_OK;
}

static const char *SUPPORTED = "Conv, Relu, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape (to 2-d), "
                               "Gemm, MatMul, Add (as a bias), BatchNormalization, Dropout, Identity, Pad (zeros, "
                               "before Conv/AveragePool)";

static xai_status one_node(builder *b, const node_t *nd, const char *cur)
{
    const char *op = nd->op_type ? nd->op_type : "";
    if (nd->domain && *nd->domain && strcmp(nd->domain, "ai.onnx"))
        return xai_fail(XAI_EFORMAT, "%s: operator domain '%s' is not supported", where(b, nd), nd->domain);
    if (b->pad_node && strcmp(op, "Conv") && strcmp(op, "AveragePool") && strcmp(op, "MaxPool"))
        return xai_fail(XAI_EFORMAT, "%s: a Pad must be followed by a Conv or AveragePool", where(b, b->pad_node));
    if (!strcmp(op, "Conv")) return window_node(b, nd, XAI_CONV2D);
    if (!strcmp(op, "MaxPool")) return window_node(b, nd, XAI_MAXPOOL2D);
    if (!strcmp(op, "AveragePool")) return window_node(b, nd, XAI_AVGPOOL2D);
    if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul")) return linear_node(b, nd, op[0] == 'G');
    if (!strcmp(op, "Add")) return add_node(b, nd, cur);
    if (!strcmp(op, "BatchNormalization")) return batchnorm_node(b, nd);
    if (!strcmp(op, "Flatten") || !strcmp(op, "Reshape")) return flatten_node(b, nd, op[0] == 'R');
    if (!strcmp(op, "Dropout") || !strcmp(op, "Identity")) return XAI_OK; /* nothing at inference */
    if (!strcmp(op, "Pad")) return pad_node(b, nd);
    xai_layer_type t = !strcmp(op, "Relu") ? XAI_RELU : XAI_GAP;
    if (strcmp(op, "Relu") && strcmp(op, "GlobalAveragePool"))
        return xai_fail(XAI_EFORMAT, "%s: op type '%s' is not supported (the engine's layers: %s)", where(b, nd), op,
                        SUPPORTED);
    if (!add_layer(b, nd, t)) return xai_fail(XAI_EFORMAT, "%s: more than %d layers", b->name, ONNX_MAX_LAYERS);
    return XAI_OK;
}

/* ------------------------------------------------------------------ graph */

/* The graph's data input: its first input that is not an initializer. */
static const Onnx__ValueInfoProto *data_input(const builder *b)
{
    for (size_t i = 0; i < b->g->n_input; i++)
        if (b->g->input[i]->name && !find_tensor(b, b->g->input[i]->name)) return b->g->input[i];
    return NULL;
}

/* (C, H, W) from the input's static shape (N, C, H, W) or (N, F). */
static xai_status input_shape(const builder *b, const Onnx__ValueInfoProto *vi, xai_shape *s)
{
    const Onnx__TypeProto *tp = vi->type;
    const Onnx__TensorShapeProto *sh = tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
                                               tp->tensor_type ? tp->tensor_type->shape : NULL;
    int64_t d[4] = {1, 1, 1, 1};
    const size_t rank = sh ? sh->n_dim : 0;
    for (size_t i = 1; i < rank && i < 4; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];
        d[i] = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? dm->dim_value : -1;
    }
    if ((rank != 4 && rank != 2) || d[1] <= 0 || d[2] <= 0 || d[3] <= 0 || d[1] > 1 << 20 || d[2] > 1 << 20 ||
        d[3] > 1 << 20)
        return xai_fail(XAI_EFORMAT, "%s: graph input '%s' has no static shape (N, C, H, W); give --input CxHxW",
                        b->name, vi->name);
    *s = (xai_shape){(int)d[1], (int)d[2], (int)d[3]};
    return XAI_OK;
}

/* Walks the nodes in order; each must take the previous one's output as its first input. */
static xai_status walk(builder *b, const char *in_name)
{
    const char *cur = in_name;
    for (size_t i = 0; i < b->g->n_node; i++) {
        const node_t *nd = b->g->node[i];
        if (nd->op_type && !strcmp(nd->op_type, "Constant") && nd->n_output == 1) {
            const Onnx__AttributeProto *a = attr(nd, "value");
            if (!a || !a->t) return xai_fail(XAI_EFORMAT, "%s: only tensor constants ('value')", where(b, nd));
            b->consts[b->nconsts] = a->t, b->const_names[b->nconsts++] = nd->output[0];
            continue;
        }
        const int first = nd->n_input > 0 && !strcmp(nd->input[0], cur);
        const int add_swapped = nd->n_input == 2 && nd->op_type && !strcmp(nd->op_type, "Add") &&
                                !strcmp(nd->input[1], cur);
        if (!first && !add_swapped)
            return xai_fail(XAI_EFORMAT, "%s: does not take '%s', the previous node's output: only chains of "
                            "layers are imported", where(b, nd), cur);
        if (nd->n_output < 1 || !nd->output[0] || !*nd->output[0])
            return xai_fail(XAI_EFORMAT, "%s: has no output", where(b, nd));
        XAI_TRY(one_node(b, nd, cur));
        cur = nd->output[0];
    }
    if (b->g->n_output < 1 || !b->g->output[0]->name || strcmp(b->g->output[0]->name, cur))
        return xai_fail(XAI_EFORMAT, "%s: the graph's output is not the end of the chain of nodes ('%s')", b->name,
                        cur);
    return XAI_OK;
}

/* Parameters into the built model, every count checked against the shapes the engine inferred. */
static xai_status fill_model(xai_model *m, const builder *b)
{
    for (int i = 0; i < b->n; i++) {
        xai_layer *l = &m->layers[i];
        const layer_t *s = &b->l[i];
        const char *w = where(b, s->node);
        if (s->flat_size && (int64_t)xai_shape_size(l->out) != s->flat_size)
            return xai_fail(XAI_EFORMAT, "%s: reshapes to %lld features, the input has %dx%dx%d", w,
                            (long long)s->flat_size, l->in.c, l->in.h, l->in.w);
        if (l->type != XAI_CONV2D && l->type != XAI_LINEAR && l->type != XAI_BATCHNORM2D) continue;
        if (s->nw != l->nw || s->nb != l->nb)
            return xai_fail(XAI_EFORMAT, "%s: weights of %zu + %zu values, the layer on a %dx%dx%d input needs %zu + "
                            "%zu", w, s->nw, s->nb, l->in.c, l->in.h, l->in.w, l->nw, l->nb);
        memcpy(l->w, s->w, s->nw * sizeof(float));
        if (s->nb) memcpy(l->b, s->b, s->nb * sizeof(float));
        if (l->type == XAI_BATCHNORM2D) {
            memcpy(l->rmean, s->rmean, s->nstat * sizeof(float));
            memcpy(l->rvar, s->rvar, s->nstat * sizeof(float));
        }
    }
    return XAI_OK;
}

static xai_status set_normalization(xai_model *m, const xai_onnx_opts *o, const char *name)
{
    const int c = m->in.c;
    if ((o->nmean && o->nmean != 1 && o->nmean != c) || (o->nstd && o->nstd != 1 && o->nstd != c) ||
        ((o->nmean > 1 || o->nstd > 1) && c > 4))
        return xai_fail(XAI_EINVAL, "%s: %d means and %d stds for %d input channels; give one value or one per "
                        "channel (at most 4)", name, o->nmean, o->nstd, c);
    for (int i = 0; i < c && i < 4; i++) {
        m->mean[i] = o->nmean ? (float)o->mean[o->nmean == 1 ? 0 : i] : 0.0f;
        m->std[i] = o->nstd ? (float)o->std[o->nstd == 1 ? 0 : i] : 1.0f;
        if (!(m->std[i] > 0) || !isfinite(m->mean[i]))
            return xai_fail(XAI_EINVAL, "%s: std %g for channel %d, expected a positive number", name, m->std[i], i);
    }
    return XAI_OK;
}

/* The model from the layers: nclasses from the last conv/linear (nothing after it changes channels). */
static xai_status build_model(xai_model **m, builder *b, const xai_onnx_opts *o, xai_shape in, int max_batch)
{
    if (b->n == 0) return xai_fail(XAI_EFORMAT, "%s: the graph has no layers", b->name);
    xai_layer_spec *specs = xai_calloc(b->n, sizeof *specs);
    int k = 0;
    for (int i = 0; i < b->n; i++) {
        specs[i] = b->l[i].spec;
        if (specs[i].type == XAI_CONV2D || specs[i].type == XAI_LINEAR) k = specs[i].out;
    }
    char at[600];
    snprintf(at, sizeof at, "%s (imported)", b->name);
    xai_status s = xai_model_create_at(m, specs, b->n, in, k > 0 ? k : in.c, max_batch, at);
    free(specs);
    if (s != XAI_OK) return XAI_EFORMAT;
    if ((s = fill_model(*m, b)) == XAI_OK) s = set_normalization(*m, o, b->name);
    if (s != XAI_OK) {
        xai_model_free(*m);
        *m = NULL;
    }
    return s;
}

xai_status xai_onnx_import_buffer(xai_model **m, const uint8_t *data, size_t len, const char *name,
                                  const xai_onnx_opts *o, int max_batch)
{
    *m = NULL;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, data);
    if (!mp) return xai_fail(XAI_EFORMAT, "%s: not an ONNX model (the protobuf does not parse as a ModelProto)", name);
    builder b = {.g = mp->graph, .name = name};
    xai_status s = XAI_EFORMAT;
    if (!b.g || b.g->n_node > ONNX_MAX_LAYERS) {
        s = xai_fail(XAI_EFORMAT, "%s: no graph, or more than %d nodes", name, ONNX_MAX_LAYERS);
        goto done;
    }
    b.l = xai_calloc(b.g->n_node + 1, sizeof *b.l);
    b.consts = xai_calloc(b.g->n_node + 1, sizeof *b.consts);
    b.const_names = xai_calloc(b.g->n_node + 1, sizeof *b.const_names);
    const Onnx__ValueInfoProto *vi = data_input(&b);
    xai_shape in = o->input;
    if (!vi) s = xai_fail(XAI_EFORMAT, "%s: the graph has no data input (every input is an initializer)", name);
    else if ((s = walk(&b, vi->name)) == XAI_OK && (in.c > 0 || (s = input_shape(&b, vi, &in)) == XAI_OK))
        s = build_model(m, &b, o, in, max_batch);
done:
    for (int i = 0; i < b.n; i++) free(b.l[i].w), free(b.l[i].b), free(b.l[i].rmean), free(b.l[i].rvar);
    free(b.l);
    free(b.consts);
    free(b.const_names);
    onnx__model_proto__free_unpacked(mp, NULL);
    return s;
}

xai_status xai_onnx_import(xai_model **m, const char *path, const xai_onnx_opts *o, int max_batch)
{
    char *data = NULL;
    size_t len = 0;
    *m = NULL;
    XAI_TRY(xai_read_file_max(path, ONNX_MAX_BYTES, &data, &len));
    xai_status s = xai_onnx_import_buffer(m, (const uint8_t *)data, len, path, o, max_batch);
    free(data);
    return s;
}

/* ------------------------------------------------------------- test data */

static xai_status read_tensor_file(const char *path, float **v, size_t *n, int64_t *dims, int *rank)
{
    char *data = NULL;
    size_t len = 0;
    XAI_TRY(xai_read_file_max(path, ONNX_MAX_BYTES, &data, &len));
    tensor_t *t = onnx__tensor_proto__unpack(NULL, len, (const uint8_t *)data);
    free(data);
    if (!t) return xai_fail(XAI_EFORMAT, "%s: not a serialized ONNX TensorProto", path);
    xai_status s = t->n_dims > 4 ? xai_fail(XAI_EFORMAT, "%s: more than 4 dimensions", path)
                                 : tensor_floats(t, path, v, n);
    *rank = (int)t->n_dims;
    for (size_t i = 0; i < t->n_dims && i < 4; i++) dims[i] = t->dims[i];
    onnx__tensor_proto__free_unpacked(t, NULL);
    return s;
}

/* One test_data_set_<i>: the model's output on input_0.pb against output_0.pb. */
static xai_status check_set(xai_model *m, const char *dir, double *err)
{
    char *ip = xai_path_join(dir, "input_0.pb"), *op = xai_path_join(dir, "output_0.pb");
    float *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int64_t dx[4] = {0}, dy[4] = {0};
    int rx, ry;
    xai_status s = read_tensor_file(ip, &x, &nx, dx, &rx);
    if (s == XAI_OK) s = read_tensor_file(op, &y, &ny, dy, &ry);
    const size_t per = xai_shape_size(m->in);
    const int64_t n = rx > 0 ? dx[0] : 0;
    if (s == XAI_OK && (n <= 0 || n > m->max_batch || nx != (size_t)n * per || ny != (size_t)n * m->nclasses))
        s = xai_fail(XAI_EFORMAT, "%s: %zu input and %zu output values do not fit the model (%dx%dx%d -> %d, "
                     "at most %d images)", dir, nx, ny, m->in.c, m->in.h, m->in.w, m->nclasses, m->max_batch);
    if (s == XAI_OK) {
        xai_eval_scope sc = xai_eval_begin(m, 0);
        const float *out = xai_model_forward(m, x, (int)n);
        double d = 0, scale = 1;
        for (size_t i = 0; i < ny; i++) d = fmax(d, fabs((double)out[i] - y[i])), scale = fmax(scale, fabs(y[i]));
        xai_eval_end(m, sc);
        *err = d / scale;
    }
    free(x), free(y), free(ip), free(op);
    return s;
}

xai_status xai_onnx_check_test_data(xai_model *m, const char *path, int *nsets, double *max_err)
{
    *nsets = 0;
    *max_err = 0;
    char *dir = xai_strdup(path), *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, strlen(dir) + 1, ".");
    xai_status s = XAI_OK;
    for (int i = 0; i < 100 && s == XAI_OK; i++) {
        char sub[64];
        snprintf(sub, sizeof sub, "test_data_set_%d", i);
        char *d = xai_path_join(dir, sub), *ip = xai_path_join(d, "input_0.pb");
        double err = 0;
        const int have = xai_file_exists(ip);
        if (have && (s = check_set(m, d, &err)) == XAI_OK) (*nsets)++, *max_err = fmax(*max_err, err);
        free(ip);
        free(d);
        if (!have) break;
    }
    free(dir);
    return s;
}

/* --classes a,b,c or @FILE (one name a line). */
static xai_status set_classes(xai_model *m, const char *classes)
{
    if (classes[0] != '@') return xai_model_set_class_names(m, classes, ',', "--classes");
    char *text = NULL, what[1100];
    size_t len = 0;
    XAI_TRY(xai_read_file_max(classes + 1, 1 << 20, &text, &len));
    snprintf(what, sizeof what, "--classes %s", classes);
    xai_status s = strlen(text) != len ? xai_fail(XAI_EINVAL, "%s: a text file holds no NUL bytes", what)
                                       : xai_model_set_class_names(m, text, '\n', what);
    free(text);
    return s;
}

xai_status xai_onnx_convert(const char *onnx, const char *out, const xai_onnx_opts *o, int *nsets, double *max_err)
{
    xai_model *m = NULL;
    *nsets = 0;
    *max_err = 0;
    XAI_TRY(xai_onnx_import(&m, onnx, o, 64));
    xai_status s = xai_onnx_check_test_data(m, onnx, nsets, max_err);
    if (s == XAI_OK && *nsets && !(*max_err <= XAI_ONNX_TOLERANCE))
        s = xai_fail(XAI_EFORMAT, "%s: the imported model's outputs differ from the file's test data by %.3g "
                     "(relative), more than %g: an operator is read wrongly; please report it", onnx, *max_err,
                     XAI_ONNX_TOLERANCE);
    if (s == XAI_OK && o->classes) s = set_classes(m, o->classes);
    if (s == XAI_OK) s = xai_model_save(m, out);
    xai_model_free(m);
    return s;
}
