/* nn.h: the engine: layers (a forward/backward pair each), models built from layer specs,
 * and model files by path. Shapes are per-sample (C, H, W) unless a comment says (N, ...). */
#ifndef XAI_NN_H
#define XAI_NN_H

#include "core/base.h"
#include "core/config.h"

/* ----------------------------------------------------------------- layers */

typedef enum {
    XAI_CONV2D,
    XAI_RELU,
    XAI_MAXPOOL2D,
    XAI_AVGPOOL2D,
    XAI_GAP,       /* global average pool: (C, H, W) -> (C, 1, 1) */
    XAI_FLATTEN,   /* (C, H, W) -> (C*H*W, 1, 1) */
    XAI_LINEAR,
    XAI_BATCHNORM2D,
    XAI_DROPOUT,
    XAI_LAYER_TYPES
} xai_layer_type;

typedef struct { int c, h, w; } xai_shape; /* one sample */

static inline size_t xai_shape_size(xai_shape s) { return (size_t)s.c * s.h * s.w; }
/* Limits on sizes read from configs, model files and options (checked in 64-bit before any int
 * arithmetic): any one dimension, kernel, stride, padding or layer width; the floats of one
 * sample's activation (also padded, and as the direct convolution lays it out); the parameters
 * of one layer; the batch; and the arenas per sample (activations plus work space, model.c).
 * Far above any model of this study, far below int overflow. */
#define XAI_DIM_MAX 65536
#define XAI_ACT_MAX ((int64_t)1 << 28)
#define XAI_PARAMS_MAX ((int64_t)1 << 30)
#define XAI_BATCH_MAX 65536

const char *xai_layer_type_name(xai_layer_type t);   /* "conv2d", "relu", ... */
int xai_layer_type_from_name(const char *name);       /* -1 when unknown */

/* A layer: hyperparameters plus views into the model's arenas. Explainers may
 * copy the struct and point w/b at modified weights to run a custom rule
 * through the same kernels (the copy shares the workspace, so one at a time). */
typedef struct xai_layer {
    xai_layer_type type;
    xai_shape in, out;
    int k, stride, pad;       /* conv, pools: square kernel, stride, zero padding */
    int bias;                 /* conv, linear: 1 when a bias is present */
    float eps, momentum;      /* batchnorm: PyTorch's meaning (momentum 0.1 default) */
    float p;                  /* dropout: drop probability */
    float *w;       /* conv (out.c, in.c, k, k); linear (out.c, in.c); bn gamma (C) */
    float *b;       /* conv/linear bias, bn beta (out.c) */
    float *gw, *gb; /* gradients, same shapes; NULL: parameter gradients not wanted */
    size_t nw, nb;  /* element counts of w and b */
    float *rmean, *rvar;     /* bn running statistics (C), in the model's buffer arena */
    struct xai_layer_ws *ws;  /* the kernels' workspace in the model's work arena (core/kernels.h) */
} xai_layer;

/* Forward: out = layer(in). train selects batch statistics (bn) and dropout;
 * seed/step feed dropout's counter-based mask. */
void xai_layer_forward(const xai_layer *l, float *out /* (N, out) */, const float *in /* (N, in) */,
                       int n, int train, uint64_t seed);
/* Backward: din += dL/din (skipped when din is NULL); l->gw/gb += parameter
 * gradients (skipped when NULL). in/out are the tensors of the forward pass. */
void xai_layer_backward(const xai_layer *l, float *din /* (N, in) */, const float *dout /* (N, out) */,
                        const float *in /* (N, in) */, const float *out /* (N, out) */, int n, int train);

/* Convolution implementation: "auto" (the best this CPU runs; the default, or
 * the XAI_CONV environment variable), "im2col" (im2col + the fixed-order product
 * on the best vectors this CPU has, also what stride > 1 and tiny planes always
 * use) or the direct kernels "avx512", "avx2", "generic" (whose vectors the
 * im2col and linear layers' products then use too). XAI_EINVAL when unknown or
 * the CPU lacks it. With FMA the kernels give bit-identical results at every
 * vector width. */
xai_status xai_conv_impl_set(const char *name);
const char *xai_conv_impl_name(void);
int xai_conv_vector_width(void); /* floats per vector of the kernels in use */

/* Per-layer kernels (the pair every layer has); dispatch above calls these. */
void xai_conv2d_forward(float *out, const float *in, const xai_layer *l, int n);
void xai_conv2d_backward(float *din, const float *dout, const float *in, const xai_layer *l, int n);
/* conv2d followed by relu in one pass (the model fuses them): z is the conv
 * output (N, out) (NULL: not kept), relu_out = max(z, 0); backward takes the
 * relu output's gradient and, as the mask, z or relu_out (both are > 0 at the
 * same places). Same numbers as the two layers in turn. */
void xai_conv2d_relu_forward(float *z, float *relu_out, const float *in, const xai_layer *l, int n);
void xai_conv2d_relu_backward(float *din, const float *drelu, const float *z, const float *in, const xai_layer *l,
                              int n);
/* Both of the above: z (NULL: no relu) as in xai_conv2d_relu_backward; with
 * overwrite, din is set rather than accumulated (a whole-model backward pass
 * then needs no zeroing pass over the batch). */
void xai_conv2d_backward_ex(float *din, const float *dout, const float *z, const float *in, const xai_layer *l, int n,
                            int overwrite);
/* conv2d, relu and a 2x2 stride-2 max pool in one pass (the model fuses the
 * three where xai_conv2d_relu_pool_ok): z and relu_out as above, each NULL
 * when not kept; pool_out and pool->argmax as xai_maxpool2d_forward. Backward
 * needs only the pool's output, its argmax and gradient; din as in _ex. */
int xai_conv2d_relu_pool_ok(const xai_layer *conv, const xai_layer *pool);
void xai_conv2d_relu_pool_forward(float *z, float *relu_out, float *pool_out, const float *in, const xai_layer *conv,
                                  const xai_layer *pool, int n);
void xai_conv2d_relu_pool_backward(float *din, const float *dpool, const float *pooled, const float *in,
                                   const xai_layer *conv, const xai_layer *pool, int n, int overwrite);
/* LRP through conv + relu + 2x2 max pool (xai_conv2d_relu_pool_ok) with weights other than the
 * conv's own (a rule's w+, w-, w + gamma w+), packed once by xai_conv2d_pack (transposed: for
 * the relevance pass) into xai_conv2d_packed_floats floats, valid for the kernels chosen then.
 * _at_argmax: zq (N, Co, Ho/2, Wo/2) = the conv without bias at each pool window's winner (the
 * argmax of the last forward pass). _pool_relevance: rin (N, Ci, H, W) = in * (sum over j of
 * W_j^T unpool(s_j)), each s_j (N, Co, Ho/2, Wo/2) sent to its window's winner (no relu mask);
 * in NULL: the sum alone (the rules whose relevance does not scale with the input). */
size_t xai_conv2d_packed_floats(const xai_layer *conv);
/* din_j (N, Ci, H, W) = 0 + W_j^T dz (dz (N, Co, Ho, Wo)) for j < nsets, W_j packed transposed by
 * xai_conv2d_pack: the sums of xai_conv2d_backward into zeroed buffers, with one pass over dz per
 * sample for all sets (LRP's z^B rule: w, w+, w-). Needs xai_conv2d_direct(conv). */
void xai_conv2d_backward_sets(float *const *din, int nsets, const float *const *packed, const float *dz,
                              const xai_layer *conv, int n);
/* Whether the direct kernels run conv (else im2col: stride > 1, small planes, XAI_CONV=im2col). */
int xai_conv2d_direct(const xai_layer *conv);
/* LRP's ratios on the widest vectors the CPU has: s[j] = scale R[j] / stab(z[j] + bo - zc[j]) for
 * j < len (zc NULL: no - zc[j]), where stab(v) = v + e for v >= 0, v - e otherwise; each the bits of
 * the scalar expression (adding bo = 0 turns only a -0 into +0, which stab maps to e alike). Returns
 * 1 when some R[j] != 0 where z[j] <= 0 (then z, a relu output, could not stand in for the conv
 * output). */
int xai_stab_ratio(float *s, const float *R, const float *z, float bo, const float *zc, float e, float scale,
                   size_t len);
/* A max pool's argmax of its last forward pass: (N, C, Ho, Wo) flat indices into each sample's input. */
const int32_t *xai_maxpool2d_argmax(const xai_layer *pool);
void xai_conv2d_pack(float *dst, const float *w, const xai_layer *conv, int transposed);
void xai_conv2d_at_argmax(float *zq, const float *packed, const float *in, const xai_layer *conv,
                          const xai_layer *pool, int n);
void xai_conv2d_pool_relevance(float *rin, int nsets, const float *const *packed, const float *const *s,
                               const float *in, const xai_layer *conv, const xai_layer *pool, int n);
void xai_relu_forward(float *out, const float *in, const xai_layer *l, int n);
void xai_relu_backward(float *din, const float *dout, const float *in, const xai_layer *l, int n);
void xai_maxpool2d_forward(float *out, const float *in, const xai_layer *l, int n);
void xai_maxpool2d_backward(float *din, const float *dout, const xai_layer *l, int n);
void xai_avgpool2d_forward(float *out, const float *in, const xai_layer *l, int n);
void xai_avgpool2d_backward(float *din, const float *dout, const xai_layer *l, int n);
void xai_linear_forward(float *out, const float *in, const xai_layer *l, int n);
void xai_linear_backward(float *din, const float *dout, const float *in, const xai_layer *l, int n);
void xai_batchnorm2d_forward(float *out, const float *in, const xai_layer *l, int n, int train);
void xai_batchnorm2d_backward(float *din, const float *dout, const xai_layer *l, int n, int train);
void xai_dropout_forward(float *out, const float *in, const xai_layer *l, int n, int train, uint64_t seed);
void xai_dropout_backward(float *din, const float *dout, const xai_layer *l, int n, int train);
/* Dropout (train mode) applied to a gradient in place: d = mask ? d / (1 - p) : 0. */
void xai_dropout_backward_inplace(float *d /* (N, in) */, const xai_layer *l, int n);

/* Softmax cross-entropy averaged over the batch; dlogits (may be NULL) gets
 * (softmax - onehot) / n. Returns the mean loss. */
double xai_softmax_xent(const float *logits /* (N, K) */, const int32_t *labels /* (N) */, int n, int k,
                        float *dlogits /* (N, K) */, int *ncorrect);
void xai_softmax(float *p /* (N, K) */, const float *logits /* (N, K) */, int n, int k);

/* ------------------------------------------------------------------ model */

/* Layer description before shapes are known (parsed from `layer = ...` lines). */
typedef struct {
    xai_layer_type type;
    int out;        /* conv out channels / linear out features */
    int k, stride, pad, bias;
    float eps, momentum, p;
    int line;       /* source line, for errors (0 when not from a file) */
} xai_layer_spec;

typedef struct xai_model {
    int nlayers;
    xai_layer *layers;   /* (nlayers) */
    struct xai_layer_ws *ws; /* (nlayers) the layers' workspace views (core/kernels.h) */
    xai_shape in;        /* input of one sample */
    int nclasses;
    int max_batch;       /* arenas hold this many samples */
    float *params;  size_t nparams;   /* all trainable weights, layer order, w then b */
    float *grads;                     /* (nparams) */
    float *buffers; size_t nbuffers;  /* batchnorm running stats */
    float **acts;   /* (nlayers + 1): acts[i] is layer i's input (max_batch, in), acts[nlayers] the logits */
    float *dbuf[2]; /* ping-pong gradient buffers, (max_batch, largest activation) */
    float *dx;      /* after xai_model_backward: dL/dinput (max_batch, in), valid until next call */
    int train;      /* 1: batch statistics and dropout */
    int lean;       /* 1: the forward pass may leave the activations between a conv and a
                       fused relu + max pool unwritten (training and gradients need only the
                       pool's); explainers that read every activation (LRP) set 0 */
    uint64_t seed;  /* dropout stream; xai_model_forward advances `step` */
    uint64_t step;
    /* normalisation applied by callers before the net, stored with the model */
    float mean[4], std[4];  /* per input channel (images have at most 4; wider inputs are not normalised) */
    char *spec_text;        /* `layer = ...` lines as text, for provenance */
    char *class_names;      /* the nclasses outputs' names, one a line (/model@class_names), or NULL */
    /* arenas */
    float *act_arena, *work_arena;
    size_t act_floats, work_floats;
} xai_model;

/* Parse one `layer` value such as "conv out=32 k=3 stride=1 pad=0". */
xai_status xai_layer_spec_parse(xai_layer_spec *s, const char *text, const char *file, int line);
/* The spec that rebuilds layer l (its hyperparameters, without weights). */
void xai_layer_spec_of(xai_layer_spec *s, const xai_layer *l);
/* Build a model: infers and checks every shape, allocates all arenas. */
xai_status xai_model_create(xai_model **m, const xai_layer_spec *specs, int nspecs, xai_shape in,
                            int nclasses, int max_batch);
/* "CxHxW" (config `input`, `xai import --input`): three whole numbers 1..XAI_DIM_MAX and nothing
 * else; XAI_EINVAL without a message otherwise (the caller names the file or option). */
xai_status xai_shape_parse(const char *v, xai_shape *s);
/* Build from the [model] section of a config: `input = 1x28x28`, `classes = 10`
 * and one `layer = ...` per layer. */
xai_status xai_model_from_config(xai_model **m, const xai_config *c, int max_batch);
void xai_model_free(xai_model *m);
/* He-uniform (relu-following) / Glorot-uniform (last layer) init, zero bias. */
void xai_model_init(xai_model *m, uint64_t seed);
/* The class called name in m->class_names (0-based), -1 when the model has no such name. */
int xai_model_class_index(const xai_model *m, const char *name);
/* Sets m->class_names from names separated by sep (',', or '\n' for a file: carriage returns and
 * a last newline ignored): exactly m->nclasses non-empty names; what: the option or file for errors. */
xai_status xai_model_set_class_names(xai_model *m, const char *names, char sep, const char *what);
/* A fresh model of another batch capacity sharing nothing; copies weights. */
xai_status xai_model_clone(xai_model **dst, const xai_model *src, int max_batch);

/* Runs all layers; returns acts[nlayers] (n, nclasses). x is copied into acts[0]
 * unless it already is acts[0]. */
float *xai_model_forward(xai_model *m, const float *x /* (N, in) */, int n);
/* Backpropagates dlogits; grads += (when m->grads is wired, see
 * xai_model_set_param_grads), m->dx gets the input gradient when want_dx. */
void xai_model_backward(xai_model *m, const float *dlogits /* (N, K) */, int n, int want_dx);
void xai_model_zero_grad(xai_model *m);
void xai_model_set_param_grads(xai_model *m, int on); /* off: skip weight grads (explainers) */
size_t xai_model_act_bytes(const xai_model *m);
/* FLOPs of one forward pass of one sample (multiply-add = 2). */
double xai_model_flops(const xai_model *m, double *conv_flops);
int xai_model_argmax(const float *logits, int k);

/* Save/load in HDF5 under /model (layout: core/README.md). Writes to a temp
 * name and renames. `group` may add attributes to /model through the hook. */
xai_status xai_model_save(const xai_model *m, const char *path);
xai_status xai_model_load(xai_model **m, const char *path, int max_batch);

/* The descriptive attributes of a model file's /model group, read without building the net
 * (for reports). */
typedef struct {
    int64_t input_shape[3];      /* (C, H, W); zeros when absent */
    int64_t nclasses, nlayers;   /* 0 when absent */
    char *layers_text;           /* malloc'd /model@layers_text, "" when absent */
    char program_version[128];   /* "" when absent */
    double norm_mean[8], norm_std[8];
    int norm_mean_n, norm_std_n; /* values found in @normalize_mean / @normalize_std (-1: absent) */
} xai_model_info;
/* XAI_EFORMAT (naming the file) when there is no /model group; absent attributes stay empty.
 * Free with xai_model_info_free, also after an error. */
xai_status xai_model_info_read(xai_model_info *info, const char *path);
void xai_model_info_free(xai_model_info *info);

/* ------------------------------------------------- evaluating a trained model */

/* Eval mode for explaining: train = 0, lean as asked, weight gradients off; restores on end. */
typedef struct { int train, lean, grads; } xai_eval_scope;
xai_eval_scope xai_eval_begin(xai_model *m, int lean);
void xai_eval_end(xai_model *m, xai_eval_scope s);
/* Target logits f_c(x) of n images in batches of m->max_batch, eval mode, m restored. */
void xai_model_target_logits(xai_model *m, const float *x /* (N, C, H, W) */, const int32_t *target /* (N) */, int n,
                             float *out /* (N) */);
/* A copy of m of capacity max_batch with each batch norm that directly follows a conv/linear
 * layer folded into it (a bias is added when missing); other batch norms stay as per-element
 * affine layers. The same function to float rounding; a model without such pairs is copied exactly. */
xai_status xai_model_fold_batchnorm(xai_model **out, const xai_model *m, int max_batch);
/* The number of batch norms xai_model_fold_batchnorm merges into the layer before them (0: a fold
 * would be an exact copy). */
int xai_model_folds(const xai_model *m);
/* Writes m's current weights, folded, into f, a fold of a model of m's structure (any capacity):
 * what a fresh xai_model_fold_batchnorm of m holds, bit for bit, without allocating (the
 * randomisation cascade refolds after each step). XAI_EINVAL, f untouched, when f's layers are
 * not those of m's fold. */
xai_status xai_model_refold_batchnorm(xai_model *f, const xai_model *m);
/* uint8 pixels -> (pixel/255 - mean[c]) / std[c] as the model expects (mean, std: (C)). */
void xai_normalize_u8(float *out /* (C, H, W) */, const uint8_t *px /* (C, H, W) */, xai_shape s, const float *mean,
                      const float *std);

#endif
