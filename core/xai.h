/* xai.h: public API of the xai-repro engine: errors, RNG, config, layers, model, HDF5 helpers.
 * Everything public is prefixed xai_; shapes are per-sample (C, H, W) unless a comment says (N, ...). */
#ifndef XAI_H
#define XAI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <hdf5.h>

/* ------------------------------------------------------------------ errors */

typedef enum {
    XAI_OK = 0,
    XAI_EINVAL,    /* bad argument or configuration value */
    XAI_EIO,       /* file system error */
    XAI_EFORMAT,   /* malformed or inconsistent file contents */
    XAI_ENOMEM,    /* allocation failed */
    XAI_ECHECKSUM, /* verification failed */
    XAI_ENET,      /* network error */
    XAI_ENOTFOUND, /* missing file, dataset, key */
    XAI_ESTATE     /* e.g. NaN loss, interrupted run */
} xai_status;

/* Sets the thread-local error message (printf-style) and returns code, so that
 * `return xai_fail(XAI_EINVAL, "%s: ...", path);` reads naturally. */
xai_status xai_fail(xai_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *xai_errmsg(void); /* last message set on this thread ("" when none) */
const char *xai_status_name(xai_status s);
void xai_clear_error(void);

/* Internal invariants: always on, abort with file:line. Never for user input. */
#define XAI_CHECK(cond)                                                                     \
    do {                                                                                    \
        if (!(cond)) xai_check_failed(__FILE__, __LINE__, #cond);                           \
    } while (0)
void xai_check_failed(const char *file, int line, const char *expr) __attribute__((noreturn));

/* Propagate a non-OK status. */
#define XAI_TRY(expr)                                                                       \
    do {                                                                                    \
        xai_status xai_try_s_ = (expr);                                                     \
        if (xai_try_s_ != XAI_OK) return xai_try_s_;                                        \
    } while (0)

void *xai_malloc(size_t n);             /* aborts on failure: arenas are sized up front */
void *xai_calloc(size_t n, size_t size);
char *xai_strdup(const char *s);

/* ------------------------------------------------------------ threads/time */

int xai_threads(void);        /* OpenMP threads in use (1 without OpenMP) */
void xai_set_threads(int n);  /* n <= 0: keep default (XAI_THREADS env or all cores) */
double xai_now(void);         /* monotonic seconds */
const char *xai_version(void);   /* "0.1.0 (commit)" */

/* ---------------------------------------------------------------------- RNG */

/* xoshiro256** seeded via splitmix64: integer-only, so the same seed gives the
 * same stream on every machine. */
typedef struct { uint64_t s[4]; } xai_rng;
void xai_rng_seed(xai_rng *r, uint64_t seed);
uint64_t xai_rng_u64(xai_rng *r);
uint32_t xai_rng_below(xai_rng *r, uint32_t n);  /* uniform in [0, n) without modulo bias */
float xai_rng_uniform(xai_rng *r);               /* [0, 1), 24 random bits */
float xai_rng_normal(xai_rng *r);                /* Box-Muller (uses libm) */
void xai_rng_shuffle(xai_rng *r, int32_t *a, size_t n);
/* Stateless counter-based hash to [0,1): same answer whatever thread asks.
 * Inline: dropout draws one per activation. */
static inline float xai_hash_uniform(uint64_t seed, uint64_t counter)
{
    uint64_t z = (seed ^ (counter * 0xD1B54A32D192ED03ull)) + 0x9E3779B97F4A7C15ull; /* one splitmix64 step */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* ----------------------------------------------------------------- config */

/* An INI file read with libinih, keeping each entry's line for error messages.
 * Keys may repeat (e.g. `layer = ...` lines of a model); order is kept. */
typedef struct {
    char *section, *key, *value;
    int line;
} xai_config_entry;

typedef struct {
    char *path;
    xai_config_entry *e; /* (n) */
    int n, cap;
    char *text;          /* whole file, for hashing/provenance */
} xai_config;

xai_status xai_config_load(xai_config *c, const char *path);
xai_status xai_config_load_string(xai_config *c, const char *text, const char *name);
void xai_config_free(xai_config *c);
/* Last value of section.key, or NULL. */
const xai_config_entry *xai_config_find(const xai_config *c, const char *section, const char *key);
const char *xai_config_str(const xai_config *c, const char *section, const char *key, const char *def);
xai_status xai_config_int(const xai_config *c, const char *section, const char *key, long def, long *out);
xai_status xai_config_float(const xai_config *c, const char *section, const char *key, double def, double *out);
uint64_t xai_config_hash(const xai_config *c); /* FNV-1a of the file text */

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

const char *xai_layer_type_name(xai_layer_type t);   /* "conv2d", "relu", ... */
int xai_layer_type_from_name(const char *name);       /* -1 when unknown */

/* A layer: hyperparameters plus views into the model's arenas. Explainers may
 * copy the struct and point w/b at modified weights to run a custom rule
 * through the same kernels. */
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
    /* Workspace, views into the model's work arena: */
    float *bn_mean, *bn_istd; /* (C) statistics used by the last forward */
    float *bn_xhat;           /* (N, C, H, W) normalised input kept for backward (train) */
    uint8_t *mask;            /* dropout keep mask (N, in) */
    int32_t *argmax;          /* maxpool: flat input index of each output (N, out) */
    float *col;               /* conv: per-thread scratch (scratch_threads, scratch_stride): im2col
                                 columns and the output (gradient) of a group of samples */
    size_t scratch_stride;    /* floats per thread, >= xai_conv2d_scratch_floats(l) */
    int scratch_threads;      /* threads the scratch was sized for */
    float *gpart;             /* conv: per-chunk weight-gradient partials (XAI_CHUNKS, gpart floats) */
    float *lpart;             /* linear: forward partials (xai_linear_kchunks, N, out.c) */
    float *pack;              /* conv: weights packed for the direct kernels and their index tables */
} xai_layer;

/* The batch is cut into at most XAI_CHUNKS pieces that depend only on N, and
 * partial gradients are reduced in chunk order: results do not depend on the
 * thread count. */
#define XAI_CHUNKS 16

/* Forward: out = layer(in). train selects batch statistics (bn) and dropout;
 * seed/step feed dropout's counter-based mask. */
void xai_layer_forward(const xai_layer *l, float *out /* (N, out) */, const float *in /* (N, in) */,
                       int n, int train, uint64_t seed);
/* Backward: din += dL/din (skipped when din is NULL); l->gw/gb += parameter
 * gradients (skipped when NULL). in/out are the tensors of the forward pass. */
void xai_layer_backward(const xai_layer *l, float *din /* (N, in) */, const float *dout /* (N, out) */,
                        const float *in /* (N, in) */, const float *out /* (N, out) */, int n, int train);

/* Samples per GEMM in a conv layer (im2col path), and the arena space a conv
 * layer needs: per-thread scratch, shared packed weights, per-chunk partials. */
int xai_conv2d_group(const xai_layer *l);
size_t xai_conv2d_scratch_floats(const xai_layer *l);
size_t xai_conv2d_pack_floats(const xai_layer *l);
size_t xai_conv2d_gpart_floats(const xai_layer *l);
/* Linear layers cut their products along the input dimension into this many
 * pieces; the forward pass keeps each piece's (N, out) partial in lpart. */
int xai_linear_kchunks(const xai_layer *l);
size_t xai_linear_work_floats(const xai_layer *l, int max_batch);

/* Convolution implementation: "auto" (the best this CPU runs; the default, or
 * the XAI_CONV environment variable), "im2col" (im2col + OpenBLAS sgemm, also
 * what stride > 1 and tiny planes always use) or the direct kernels "avx512",
 * "avx2", "generic". XAI_EINVAL when unknown or the CPU lacks it. With FMA the
 * direct kernels give bit-identical results at every vector width. */
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
/* Build from the [model] section of a config: `input = 1x28x28`, `classes = 10`
 * and one `layer = ...` per layer. */
xai_status xai_model_from_config(xai_model **m, const xai_config *c, int max_batch);
void xai_model_free(xai_model *m);
/* He-uniform (relu-following) / Glorot-uniform (last layer) init, zero bias. */
void xai_model_init(xai_model *m, uint64_t seed);
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
xai_status xai_model_save_to(const xai_model *m, hid_t file); /* into an open file */
xai_status xai_model_load(xai_model **m, const char *path, int max_batch);
xai_status xai_model_load_from(xai_model **m, hid_t file, const char *path, int max_batch);

/* ----------------------------------------------------------- HDF5 helpers */

/* All helpers name the file and object in their error messages. HDF5's own
 * error printing is switched off by xai_h5_init (called by every open). */
void xai_h5_init(void);
/* Atomic create: writes "<path>.tmp.<pid>"; xai_h5_commit closes and renames,
 * xai_h5_abort closes and unlinks. */
typedef struct { hid_t id; char *path, *tmp; } xai_h5file;
xai_status xai_h5_create(xai_h5file *f, const char *path);
xai_status xai_h5_commit(xai_h5file *f);
void xai_h5_abort(xai_h5file *f);
xai_status xai_h5_open(hid_t *file, const char *path, int writable);
/* Creates intermediate groups of a '/'-path. */
hid_t xai_h5_group(hid_t loc, const char *path);
xai_status xai_h5_write(hid_t loc, const char *name, hid_t type, const void *data, int rank,
                        const uint64_t *dims);
xai_status xai_h5_write_f32(hid_t loc, const char *name, const float *data, int rank, const uint64_t *dims);
/* Reads exactly `expect` dims (NULL: any) into data (caller-sized by dims). */
xai_status xai_h5_read(hid_t loc, const char *name, hid_t type, void *data, int rank,
                       const uint64_t *expect, const char *path);
/* Shape of a dataset: rank returned, dims filled (up to 8). -1 when missing. */
int xai_h5_dims(hid_t loc, const char *name, uint64_t *dims);
int xai_h5_exists(hid_t loc, const char *name);
xai_status xai_h5_attr_str(hid_t loc, const char *name, const char *value);
xai_status xai_h5_attr_i64(hid_t loc, const char *name, int64_t value);
xai_status xai_h5_attr_f64(hid_t loc, const char *name, double value);
xai_status xai_h5_attr_f64v(hid_t loc, const char *name, const double *v, int n);
xai_status xai_h5_attr_i64v(hid_t loc, const char *name, const int64_t *v, int n);
/* Readers: return XAI_ENOTFOUND when absent (no message set), *out untouched. */
xai_status xai_h5_get_str(hid_t loc, const char *name, char *out, size_t cap);
xai_status xai_h5_get_i64(hid_t loc, const char *name, int64_t *out);
xai_status xai_h5_get_f64(hid_t loc, const char *name, double *out);
int xai_h5_get_f64v(hid_t loc, const char *name, double *out, int cap); /* count read, -1 absent */

/* ----------------------------------------------------------- file helpers */

xai_status xai_mkdirs(const char *path);            /* mkdir -p */
int xai_file_exists(const char *path);
char *xai_path_join(const char *a, const char *b);  /* malloc'd */
xai_status xai_read_file(const char *path, char **data, size_t *len);
/* Writes data to path atomically (temp + fsync + rename). */
xai_status xai_write_file_atomic(const char *path, const void *data, size_t len);

/* --------------------------------------------------------------- progress */

/* A bar with rate and ETA on a terminal, a plain line every few seconds otherwise. */
typedef struct {
    const char *label, *unit;
    double total, done, t0, last;
    int tty, active;
} xai_progress;
void xai_progress_start(xai_progress *p, const char *label, double total, const char *unit);
void xai_progress_update(xai_progress *p, double done);
void xai_progress_end(xai_progress *p, const char *summary);
extern int xai_quiet; /* silence progress (tests) */

/* The FP32 peak that `xai bench` reports fractions of: `given` when positive,
 * else threads x 32 FLOP/cycle (two 8-wide FMA units) x the clock in /proc/cpuinfo. */
double xai_peak_gflops(double given);
/* Prints `<prefix>peak_gflops`, `<prefix>fraction_of_peak` (the figure above)
 * and `<prefix>isa_peak_gflops`, `<prefix>fraction_of_isa_peak`: the peak at
 * the vector width the kernels run (AVX-512 doubles it), for `gflops` reached. */
void xai_print_peak(const char *prefix, double gflops, double given);

/* -------------------------------------------------------------------- CLI */

/* A subcommand: argv[0] is the command name. Returns the process exit code. */
typedef int (*xai_cmd_fn)(int argc, char **argv);
typedef struct { const char *name, *summary; xai_cmd_fn fn; } xai_cmd;
/* Prints "xai: <msg>" for a failed status and returns 1 (helper for commands). */
int xai_cli_error(xai_status s);
/* Common option parsing: returns 1 and advances *i when argv[*i] is --name VALUE
 * or --name=VALUE. */
int xai_opt(int argc, char **argv, int *i, const char *name, const char **value);

#endif
