/* test_hostile.c: hostile inputs of issue 12 that must be refused with a clear error: outputs over
 * inputs, configs libinih would misread, stale temporaries, attribution files with lying shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base.h"
#include "core/config.h"
#include "core/h5.h"
#include "core/io.h"
#include "core/nn.h"
#include "datasets/dataset_priv.h"
#include "datasets/datasets.h"
#include "explainers/explain.h"
#include "explainers/metrics.h"
#include "explainers/metricsfile.h"
#include "paper/plotio.h"
#include "paper/publish.h"
#include "paper/summary.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/xai_hostile_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static char *in_dir(const char *name) { return xai_path_join(dir, name); }

static void put(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void assert_msg(const char *needle)
{
    if (!strstr(xai_errmsg(), needle)) fail_msg("error '%s' lacks '%s'", xai_errmsg(), needle);
}

/* ------------------------------------------------- defect 1: output = input */

static void test_output_not_input(void **state)
{
    (void)state;
    char *a = in_dir("a.h5"), *b = in_dir("b.h5"), *sym = in_dir("link.h5"), *hard = in_dir("hard.h5");
    char *none = in_dir("none.h5"), *dotted = xai_path_join(dir, "./sub/../a.h5"), *sub = in_dir("sub");
    put(a, "a", 1);
    put(b, "b", 1);
    assert_int_equal(xai_mkdirs(sub), XAI_OK);
    assert_int_equal(symlink(a, sym), 0);
    assert_int_equal(link(a, hard), 0);
    assert_int_equal(xai_output_not_input("--out", a, "--model", a), XAI_EINVAL);
    assert_msg("is the same file as --model");
    assert_int_equal(xai_output_not_input("--out", dotted, "--model", a), XAI_EINVAL);
    assert_int_equal(xai_output_not_input("--out", sym, "--model", a), XAI_EINVAL);
    assert_int_equal(xai_output_not_input("--summary", hard, "--attributions", a), XAI_EINVAL);
    assert_int_equal(xai_output_not_input("--out", b, "--model", a), XAI_OK);
    assert_int_equal(xai_output_not_input("--out", none, "--model", a), XAI_OK);
    assert_int_equal(xai_output_not_input("--out", NULL, "--model", a), XAI_OK);
    free(a), free(b), free(sym), free(hard), free(none), free(dotted), free(sub);
}

/* ------------------------------------------ defects 5, 6, 10, 13: configs */

static xai_status load(const char *text)
{
    xai_config c;
    xai_status s = xai_config_load_string(&c, text, "t.ini");
    if (s == XAI_OK) xai_config_free(&c);
    return s;
}

/* The reproducer: libinih split a 209-character comment and read `epochs = 7` from its tail. */
static void test_config_long_line(void **state)
{
    (void)state;
    char text[512] = "[train]\n; ";
    size_t k = strlen(text);
    for (int i = 0; i < 197; i++) text[k++] = 'x';
    strcpy(text + k, "epochs = 7\nbatch = 8\n");
    assert_int_equal(load(text), XAI_EFORMAT);
    assert_msg("t.ini:2: line of 209 characters");
    /* The longest line allowed still reads whole. */
    char ok[512] = "[train]\nepochs = 3 ";
    k = strlen(ok);
    while (k < 8 + XAI_CONFIG_MAX_LINE - 1) ok[k++] = ' ';
    strcpy(ok + k, ";\n");
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, ok, "t.ini"), XAI_OK);
    assert_string_equal(xai_config_str(&c, "train", "epochs", ""), "3");
    xai_config_free(&c);
}

static void test_config_name(void **state)
{
    (void)state;
    const char *bad[] = {"../../../x", "..", ".", "a/b", "a b", "x;y", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[128];
        snprintf(text, sizeof text, "[experiment]\ndataset = mnist\nname = %s\n", bad[i]);
        assert_int_equal(load(text), XAI_EINVAL);
        assert_msg("t.ini:3: [experiment] name");
    }
    assert_int_equal(load("[experiment]\nname = mnist-2.b_C\n"), XAI_OK);
}

static void test_config_strict(void **state)
{
    (void)state;
    assert_int_equal(load("[experiment]\nname = a\nnmae = b\n"), XAI_EFORMAT);
    assert_msg("t.ini:3: unknown key 'nmae' in [experiment]");
    assert_int_equal(load("[model]\ninput = 1x2x2\nlayers = relu\n"), XAI_EFORMAT);
    assert_msg("t.ini:3: unknown key 'layers' in [model]");
    assert_int_equal(load("[train]\nepochs = 1\n\n[trian]\n"), XAI_EFORMAT);
    assert_msg("t.ini:4: unknown section [trian]");
    assert_int_equal(load("[train]\nepochs = 1\n  2\n"), XAI_EFORMAT);
    assert_msg("t.ini:3: indented line");
    /* Indented comments and blank lines are fine. */
    assert_int_equal(load("[train]\n  ; note\n\t\nepochs = 1\n"), XAI_OK);

    /* A NUL byte ended libinih's text: what followed was silently dropped. */
    char *p = in_dir("nul.ini");
    const char nul[] = "[train]\nepochs = 1\n\0[trian]\nbatch = x\n";
    put(p, nul, sizeof nul - 1);
    xai_config c;
    assert_int_equal(xai_config_load(&c, p), XAI_EFORMAT);
    assert_msg("nul.ini:3: NUL byte");
    free(p);

    /* Every shipped experiment stays valid. */
    const char *src = getenv("XAI_SOURCE_DIR");
    char *exp = xai_path_join(src ? src : XAI_SOURCE_DIR, "experiments");
    DIR *d = opendir(exp);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ini")) continue;
        char *f = xai_path_join(exp, e->d_name);
        if (xai_config_load(&c, f) != XAI_OK) fail_msg("%s", xai_errmsg());
        xai_config_free(&c);
        free(f);
        n++;
    }
    closedir(d);
    free(exp);
    assert_true(n >= 4);
}

/* Found by tests/hostile_sweep.sh: the model's input shape is read whole ("1x28x28x28" ran as 1x28x28,
 * "1x28x28junk" passed) and a conv's stride=0 is refused. */
static void test_config_input_shape(void **state)
{
    (void)state;
    const char *bad[] = {"1x28x28x28", "1x28x28junk", "1x28", "2147483648x1x1", "1x-28x28", "0x28x28", "1x28x 28",
                         "1x65537x1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[256];
        snprintf(text, sizeof text, "[model]\ninput = %s\nclasses = 2\nlayer = flatten\nlayer = linear out=2\n", bad[i]);
        xai_config c;
        assert_int_equal(xai_config_load_string(&c, text, "t.ini"), XAI_OK);
        xai_model *m = NULL;
        assert_int_equal(xai_model_from_config(&m, &c, 1), XAI_EINVAL);
        assert_null(m);
        assert_msg("t.ini:2: input = '");
        assert_msg("' is not CxHxW");
        xai_config_free(&c);
    }
    xai_shape s;
    assert_int_equal(xai_shape_parse("3x224x65536", &s), XAI_OK);
    assert_true(s.c == 3 && s.h == 224 && s.w == 65536);
    /* stride=0 on a conv ran as stride = k (0 is the pools' internal default), rc 0 */
    xai_layer_spec sp;
    const char *zero[] = {"conv out=4 k=3 pad=1 stride=0", "maxpool k=2 stride=0", "avgpool k=2 stride=-2"};
    for (size_t i = 0; i < sizeof zero / sizeof *zero; i++) {
        assert_int_equal(xai_layer_spec_parse(&sp, zero[i], "t.ini", 4), XAI_EINVAL);
        assert_msg("t.ini:4: stride=");
        assert_msg(" must be at least 1");
    }
}

static void test_config_size(void **state)
{
    (void)state;
    xai_config c;
    assert_int_equal(xai_config_load(&c, "/dev/zero"), XAI_EINVAL);
    assert_msg("/dev/zero: larger than 1048576 bytes");
    size_t n = XAI_CONFIG_MAX_BYTES + 1;
    char *big = xai_malloc(n);
    memset(big, '\n', n);
    char *p = in_dir("big.ini");
    put(p, big, n);
    assert_int_equal(xai_config_load(&c, p), XAI_EINVAL);
    put(p, big, n - 1); /* at the limit: blank lines, read */
    assert_int_equal(xai_config_load(&c, p), XAI_OK);
    xai_config_free(&c);
    free(big);
    free(p);
}

/* ---------------------------------------- defect 12: stale temporaries */

static int dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    return (int)pid;
}

static char *tmp_of(const char *path, int pid)
{
    char *t = xai_malloc(strlen(path) + 32);
    sprintf(t, "%s.tmp.%d", path, pid);
    return t;
}

static void test_stale_tmp(void **state)
{
    (void)state;
    char *out = in_dir("out.csv"), *h5 = in_dir("out.h5"), *other = in_dir("other.h5");
    int dead = dead_pid();
    char *stale = tmp_of(out, dead), *live = tmp_of(out, (int)getppid()), *stale5 = tmp_of(h5, dead);
    char *others = tmp_of(other, dead), *odd = in_dir("out.h5.tmp.12ab");
    const char *const files[] = {stale, live, stale5, others, odd};
    for (int i = 0; i < 5; i++) put(files[i], "x", 1);

    assert_int_equal(xai_write_file_atomic(out, "data", 4), XAI_OK);
    assert_false(xai_file_exists(stale)); /* its writer is gone */
    assert_true(xai_file_exists(live));   /* a running process may still write it */

    xai_h5file f;
    assert_int_equal(xai_h5_create(&f, h5), XAI_OK);
    assert_int_equal(xai_h5_commit(&f), XAI_OK);
    assert_false(xai_file_exists(stale5));
    assert_true(xai_file_exists(others)); /* another output's */
    assert_true(xai_file_exists(odd));    /* not a temporary name */
    free(out), free(h5), free(other), free(stale), free(live), free(stale5), free(others), free(odd);
}

/* A killed MPI rank can linger as a zombie after its launcher exits: kill() still finds its pid,
 * but it writes nothing any more, so its temporary is stale (the CI failure of 3b0c89c). */
static void test_stale_tmp_zombie(void **state)
{
    (void)state;
    pid_t z = fork();
    if (z == 0) _exit(0);
    assert_true(z > 0);
    for (int i = 0; i < 200; i++) { /* until it has exited: a zombie, not yet waited for */
        char path[64], buf[256] = "";
        snprintf(path, sizeof path, "/proc/%d/stat", (int)z);
        FILE *f = fopen(path, "r");
        if (f) buf[fread(buf, 1, sizeof buf - 1, f)] = 0, fclose(f);
        const char *st = strrchr(buf, ')');
        if (st && st[2] == 'Z') break;
        usleep(10000);
    }
    char *out = in_dir("z.csv"), *stale = tmp_of(out, (int)z);
    put(stale, "x", 1);
    assert_int_equal(xai_write_file_atomic(out, "data", 4), XAI_OK);
    assert_false(xai_file_exists(stale));
    waitpid(z, NULL, 0);
    free(out), free(stale);
}

/* Plot directories are written as "<dir>.tmp.<pid>" and the replaced one parked as "<dir>.old.<pid>":
 * those of killed runs are removed by the next writer. */
static void test_stale_plot_dirs(void **state)
{
    (void)state;
    char *final = in_dir("plots"), *stale = tmp_of(final, dead_pid()), *old = xai_malloc(strlen(final) + 32);
    sprintf(old, "%s.old.%d", final, dead_pid());
    const char *const dirs[] = {stale, old};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(xai_mkdirs(dirs[i]), XAI_OK);
        char *f = xai_path_join(dirs[i], "a.dat");
        put(f, "1 2\n", 4);
        free(f);
    }
    char *tmp;
    assert_int_equal(xai_plot_tmp_dir(&tmp, final), XAI_OK);
    assert_false(xai_file_exists(stale));
    assert_false(xai_file_exists(old));
    xai_plot_remove_dir(tmp);
    free(tmp), free(final), free(stale), free(old);
}

/* ------------------------------------- defects 2 and 14: attribution files */

typedef struct {
    uint64_t inputs[4];
    uint64_t label_rows;
    int64_t steps;
    int format;
} attr_spec;

/* Declares a chunked dataset without writing it: it reads as zeros and may claim any shape
 * without taking the disk. */
static void declare(hid_t f, const char *name, hid_t type, int rank, const uint64_t *dims)
{
    hsize_t chunk[4] = {1, 1, 1, 1};
    hid_t sp = H5Screate_simple(rank, (const hsize_t *)dims, NULL);
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t lc = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lc, 1);
    H5Pset_chunk(pl, rank, chunk);
    hid_t ds = H5Dcreate2(f, name, type, sp, lc, pl, H5P_DEFAULT);
    assert_true(ds >= 0);
    H5Dclose(ds);
    H5Pclose(lc);
    H5Pclose(pl);
    H5Sclose(sp);
}

static void write_attr(const char *path, const attr_spec *a)
{
    xai_h5file f;
    assert_int_equal(xai_h5_create(&f, path), XAI_OK);
    if (a->format) assert_int_equal(xai_h5_attr_str(f.id, "format", "xai-attributions-1"), XAI_OK);
    uint64_t n = a->inputs[0], d2[2] = {n, 2}, d1[1] = {n}, dl[1] = {a->label_rows ? a->label_rows : n};
    declare(f.id, "inputs", H5T_NATIVE_FLOAT, 4, a->inputs);
    declare(f.id, "logits", H5T_NATIVE_FLOAT, 2, d2);
    declare(f.id, "labels", H5T_NATIVE_INT32, 1, dl);
    declare(f.id, "targets", H5T_NATIVE_INT32, 1, d1);
    declare(f.id, "indices", H5T_NATIVE_INT64, 1, d1);
    if (a->steps) {
        declare(f.id, "attributions/ig", H5T_NATIVE_FLOAT, 4, a->inputs);
        hid_t m = H5Dopen2(f.id, "/attributions/ig", H5P_DEFAULT);
        assert_int_equal(xai_h5_attr_str(m, "method", "ig"), XAI_OK);
        assert_int_equal(xai_h5_attr_i64(m, "steps", a->steps), XAI_OK);
        H5Dclose(m);
    }
    assert_int_equal(xai_h5_commit(&f), XAI_OK);
}

static xai_status read_header(const attr_spec *a)
{
    char *p = in_dir("attr.h5");
    write_attr(p, a);
    xai_attr_header h;
    xai_status s = xai_attr_read_header(&h, p);
    if (s == XAI_OK) xai_attr_header_free(&h);
    free(p);
    return s;
}

static void test_attr_huge_dims(void **state)
{
    (void)state;
    /* H = 2^32 + 2 was cast to 2 to size the buffer, then read whole. */
    attr_spec a = {{1, 1, (1ull << 32) + 2, 1}, 0, 0, 1};
    assert_int_equal(read_header(&a), XAI_EFORMAT);
    assert_msg("too large");
    /* The first of two images (evaluate --n 1) was read by rows, past the end of that buffer. */
    char *p = in_dir("attr.h5");
    attr_spec two = {{2, 1, (1ull << 32) + 2, 1}, 0, 0, 1};
    write_attr(p, &two);
    xai_attr_header h;
    assert_int_equal(xai_attr_read_header_n(&h, p, 1), XAI_EFORMAT);
    assert_msg("too large");
    free(p);
    /* Each side fits an int, their product does not. */
    attr_spec b = {{1, 4096, 1u << 20, 1u << 20}, 0, 0, 1};
    assert_int_equal(read_header(&b), XAI_EFORMAT);
    assert_msg("too large");
    /* An image fits, all of them would not fit in memory. */
    attr_spec c = {{1u << 30, 3, 1024, 1024}, 0, 0, 1};
    assert_int_equal(read_header(&c), XAI_EFORMAT);
    assert_msg("more than");
    attr_spec ok = {{2, 1, 2, 2}, 0, 0, 1};
    assert_int_equal(read_header(&ok), XAI_OK);
}

static void test_attr_mismatch(void **state)
{
    (void)state;
    attr_spec rows = {{2, 1, 2, 2}, 3, 0, 1};
    assert_int_equal(read_header(&rows), XAI_EFORMAT);
    assert_msg("/labels has 3 rows but /inputs has 2");
    attr_spec nofmt = {{2, 1, 2, 2}, 0, 0, 0};
    assert_int_equal(read_header(&nofmt), XAI_EFORMAT);
    assert_msg("attr.h5: not an attribution file (no attribute @format");

    char *p = in_dir("attr.h5");
    attr_spec steps = {{2, 1, 2, 2}, 0, (1ll << 32) + 2, 1};
    write_attr(p, &steps);
    xai_method m;
    assert_int_equal(xai_attr_read_method_spec(&m, p, "ig"), XAI_EFORMAT);
    assert_msg("/attributions/ig @steps = 4294967298 is out of range");
    steps.steps = 64;
    write_attr(p, &steps);
    assert_int_equal(xai_attr_read_method_spec(&m, p, "ig"), XAI_OK);
    assert_int_equal(m.ig.steps, 64);
    free(p);
}

/* ------------------------------------------ defects 4 and 7: model sizes and contents */

static const char *const NET[] = {"conv out=2 k=3 pad=1", "batchnorm", "relu", "dropout p=0.25", "flatten",
                                  "linear out=10"};

static xai_status build(xai_model **m, const char *const *lines, int n, xai_shape in)
{
    xai_layer_spec sp[8];
    for (int i = 0; i < n; i++) XAI_TRY(xai_layer_spec_parse(&sp[i], lines[i], "t.ini", i + 1));
    return xai_model_create(m, sp, n, in, 10, 4);
}

/* A good model file, then one attribute or value of it changed by hand. */
static char *good_model(void)
{
    char *p = in_dir("model.h5");
    xai_model *m;
    assert_int_equal(build(&m, NET, 6, (xai_shape){1, 4, 4}), XAI_OK);
    xai_model_init(m, 1);
    assert_int_equal(xai_model_save(m, p), XAI_OK);
    xai_model_free(m);
    return p;
}

static hid_t reopen(const char *path, const char *obj)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    assert_true(o >= 0);
    H5Fclose(f); /* stays open through o */
    return o;
}

static void set_attr(const char *path, const char *obj, const char *name, hid_t type, const void *v, int n)
{
    hid_t o = reopen(path, obj);
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    if (n > 0) {
        hsize_t d = (hsize_t)n;
        hid_t sp = H5Screate_simple(1, &d, NULL), a = H5Acreate2(o, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
        assert_true(H5Awrite(a, type, v) >= 0);
        H5Aclose(a);
        H5Sclose(sp);
    }
    H5Oclose(o);
}

static void set_value(const char *path, const char *dset, float v)
{
    hid_t d = reopen(path, dset);
    hid_t sp = H5Dget_space(d);
    hsize_t start[4] = {0}, ones[4] = {1, 1, 1, 1}, one = 1;
    H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, ones, NULL);
    hid_t ms = H5Screate_simple(1, &one, NULL);
    assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, ms, sp, H5P_DEFAULT, &v) >= 0);
    H5Sclose(ms);
    H5Sclose(sp);
    H5Oclose(d);
}

static void assert_load_fails(const char *path, const char *needle)
{
    xai_model *m = NULL;
    assert_int_equal(xai_model_load(&m, path, 4), XAI_EFORMAT);
    assert_null(m);
    assert_msg(needle);
}

/* Defect 4: sizes from configs and model files are range-checked in 64-bit before int arithmetic. */
static void test_model_sizes(void **state)
{
    (void)state;
    xai_model *m = NULL;
    /* the reproducer: UBSan signed overflow in conv_direct.c:geom_of */
    const char *pad[] = {"conv out=1 k=1 pad=30000", "flatten", "linear out=10"};
    assert_int_equal(build(&m, pad, 3, (xai_shape){1, 28, 28}), XAI_EINVAL);
    assert_msg("layer 0 (conv2d)");
    assert_msg("more than 268435456");
    const char *big[] = {"conv out=1 k=1 pad=10000000000", "flatten", "linear out=10"};
    assert_int_equal(build(&m, big, 3, (xai_shape){1, 28, 28}), XAI_EINVAL);
    assert_msg("pad=10000000000 is out of range");
    /* flatten of 60000 x 200 x 200 */
    const char *flat[] = {"conv out=60000 k=1", "flatten", "linear out=10"};
    assert_int_equal(build(&m, flat, 3, (xai_shape){1, 200, 200}), XAI_EINVAL);
    assert_msg("more than");
    assert_int_equal(build(&m, NET, 6, (xai_shape){1, (1 << 30) + 5, 4}), XAI_EINVAL);
    assert_msg("input shape");
    assert_null(m);

    char *p = good_model();
    int64_t k = (1ll << 32) + 3; /* ran as k = 3 */
    set_attr(p, "/model/layers/00", "kernel_size", H5T_NATIVE_INT64, &k, 1);
    assert_load_fails(p, "/model/layers/00 attribute 'kernel_size' = 4294967299, expected 1..65536");
    free(p);
    p = good_model();
    double shape[3] = {1, 2147483653.0, 4};
    set_attr(p, "/model", "input_shape", H5T_NATIVE_DOUBLE, shape, 3);
    assert_load_fails(p, "'input_shape' = (1, 2.14748e+09, 4)");
    free(p);
}

/* Defect 7: garbage contents are refused with the object's path. */
static void test_model_garbage(void **state)
{
    (void)state;
    char *p = good_model();
    xai_model *m = NULL;
    assert_int_equal(xai_model_load(&m, p, 4), XAI_OK);
    xai_model_free(m);
    const struct { const char *dset; float v; const char *needle; } vals[] = {
        {"/model/layers/00/weight", NAN, "/model/layers/00/weight[0] = nan"},
        {"/model/layers/05/bias", INFINITY, "/model/layers/05/bias[0] = inf"},
        {"/model/layers/01/running_var", -1, "/model/layers/01/running_var[0] = -1, expected a variance"},
    };
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        set_value(p, vals[i].dset, vals[i].v);
        assert_load_fails(p, vals[i].needle);
        free(p);
        p = good_model();
    }
    const double huge = 1e300; /* float64 in the file: Inf once read as float32 */
    hid_t d = reopen(p, "/model/layers/05");
    H5Ldelete(d, "bias", H5P_DEFAULT);
    hsize_t n10 = 10;
    hid_t sp = H5Screate_simple(1, &n10, NULL);
    hid_t ds = H5Dcreate2(d, "bias", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    double b[10] = {huge};
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, b);
    H5Dclose(ds), H5Sclose(sp), H5Oclose(d);
    assert_load_fails(p, "/model/layers/05/bias[0] = inf");
    free(p);
    const struct { const char *obj, *attr; double v; int n; const char *needle; } attrs[] = {
        {"/model/layers/01", "eps", -1, 1, "/model/layers/01 attribute 'eps' = -1"},
        {"/model/layers/03", "p", 5, 1, "/model/layers/03 attribute 'p' = 5, expected 0 <= p < 1"},
        {"/model/layers/03", "p", NAN, 1, "attribute 'p' = nan"},
        {"/model", "normalize_mean", 0, 0, "hold 0 and 1 values, expected 1 each"},
        {"/model", "normalize_std", 1, 2, "hold 1 and 2 values"},
        {"/model", "normalize_std", -1, 1, "normalize_std[0] = -1"},
        {"/model", "normalize_mean", NAN, 1, "normalize_mean[0] = nan"},
    };
    for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++) {
        p = good_model();
        double v[2] = {attrs[i].v, attrs[i].v};
        set_attr(p, attrs[i].obj, attrs[i].attr, H5T_NATIVE_DOUBLE, v, attrs[i].n);
        assert_load_fails(p, attrs[i].needle);
        free(p);
    }
}

/* The hostile sweep's silent acceptances: a layer's stated input width was ignored (the weights'
 * shape decides), /labels of 99 passed, and @steps = "x" kept the spec's value. */
static void test_stated_values(void **state)
{
    (void)state;
    const int64_t bad[] = {30000, 0, -1, (1ll << 32) + 1};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *p = good_model();
        set_attr(p, "/model/layers/00", "in_channels", H5T_NATIVE_INT64, &bad[i], 1);
        assert_load_fails(p, "/model/layers/00 attribute 'in_channels' = ");
        assert_msg("expected 1 (what the layers before it give)");
        free(p);
    }
    char *p = good_model();
    const int64_t wrong = 7;
    set_attr(p, "/model/layers/05", "in_features", H5T_NATIVE_INT64, &wrong, 1);
    assert_load_fails(p, "/model/layers/05 attribute 'in_features' = 7, expected 32");
    free(p);
    p = good_model();
    set_attr(p, "/model/layers/01", "num_features", H5T_NATIVE_INT64, &wrong, 1);
    assert_load_fails(p, "/model/layers/01 attribute 'num_features' = 7, expected 2");
    free(p);

    p = in_dir("attr.h5");
    attr_spec a = {{2, 1, 2, 2}, 0, 8, 1};
    const float labels[] = {99, -2, 1, -1};
    const xai_status want[] = {XAI_EFORMAT, XAI_EFORMAT, XAI_OK, XAI_OK};
    for (size_t i = 0; i < sizeof labels / sizeof *labels; i++) {
        write_attr(p, &a);
        set_value(p, "/labels", labels[i]);
        xai_attr_header h;
        assert_int_equal(xai_attr_read_header(&h, p), want[i]);
        if (want[i] == XAI_OK) xai_attr_header_free(&h);
        else assert_msg("/labels[0] = ");
    }
    write_attr(p, &a);
    hid_t ig = reopen(p, "/attributions/ig");
    H5Adelete(ig, "steps");
    H5Oclose(ig);
    ig = reopen(p, "/attributions/ig");
    assert_int_equal(xai_h5_attr_str(ig, "steps", "x"), XAI_OK);
    H5Oclose(ig);
    xai_method m;
    assert_int_equal(xai_attr_read_method_spec(&m, p, "ig"), XAI_EFORMAT);
    assert_msg("/attributions/ig @steps is not a single whole number");
    free(p);
}

/* Defect 4 audit: `xai bench ig|evaluate --images` is open-ended; 2^31 - 1 images of 784 values
 * were allocated as asked (abort: out of memory) instead of refused naming the option. */
static void test_bench_images(void **state)
{
    (void)state;
    char *cfg = in_dir("bench.ini");
    const char *text = "[model]\ninput = 1x28x28\nclasses = 10\nlayer = conv out=4 k=3 pad=1\nlayer = relu\n"
                       "layer = maxpool k=2\nlayer = flatten\nlayer = linear out=10\n";
    put(cfg, text, strlen(text));
    xai_bench_explain_opts o = {.config = cfg, .steps = 1000000, .images = INT32_MAX, .rule = XAI_QUAD_GAUSS,
                                .repeats = 1, .iters = 1};
    xai_bench_explain_result r;
    assert_int_equal(xai_bench_ig_run(&o, &r), XAI_EINVAL);
    assert_msg("--images 2147483647: 2147483647 images of 784 values");
    o.images = 2;
    o.steps = 2;
    assert_int_equal(xai_bench_ig_run(&o, &r), XAI_OK);
    free(cfg);
}

/* Found by the sweep (cli, evaluate --steps 2^31-1): the features a step, (limit + steps - 1) / steps,
 * overflowed int (UBSan; in a release build a step of 0 features and a division by zero). */
static void test_flip_schedule_huge_steps(void **state)
{
    (void)state;
    int64_t *removed;
    double *frac;
    const int K = xai_flip_schedule(784, 0.5, INT_MAX, 0, &removed, &frac);
    assert_int_equal(K, 392);
    assert_int_equal(removed[1], 1);
    assert_int_equal(removed[K], 392);
    free(removed), free(frac);
}

/* Defect 4 audit: the randomisation cascade's layer indices were cast to int for sanity.dat
 * (export) as the metrics file held them: 1e300 or NaN is undefined behaviour. */
static void test_sanity_layer_huge(void **state)
{
    (void)state;
    char *path = in_dir("sanity.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    const char *v[5] = {"layer", "spearman_abs_mean", "ssim_mean", "spearman_abs_stderr", "ssim_stderr"};
    hsize_t n = 2;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    for (int i = 0; i < 5; i++) {
        char obj[64];
        snprintf(obj, sizeof obj, "/methods/m/sanity/%s", v[i]);
        hid_t ds = H5Dcreate2(f, obj, H5T_IEEE_F64LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        const double x[2] = {-1, 3};
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
        H5Dclose(ds);
    }
    H5Sclose(sp), H5Pclose(lcpl);
    assert_int_equal(xai_h5_attr_str(f, "format", XAI_METRICS_FORMAT), XAI_OK);
    H5Fclose(f);
    double *layer, *mean, *se;
    assert_int_equal(xai_metricsfile_read_sanity(path, "m", &layer, &mean, &se, NULL), 2);
    free(layer), free(mean), free(se);
    const double bad[3] = {1e300, NAN, 2.5};
    for (int i = 0; i < 3; i++) {
        f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        hid_t ds = H5Dopen2(f, "/methods/m/sanity/layer", H5P_DEFAULT);
        const double x[2] = {-1, bad[i]};
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
        H5Dclose(ds), H5Fclose(f);
        assert_int_equal(xai_metricsfile_read_sanity(path, "m", &layer, &mean, &se, NULL), 0);
        assert_null(layer);
    }
    free(path);
}

/* A two-class cache of 2 + 2 grey 2x2 images named dir/mnist-28.h5 (the path datasets check looks at). */
static char *tiny_cache(const char *name)
{
    char *path = in_dir("mnist-28.h5");
    static uint8_t px[8] = {0, 255, 10, 20, 30, 40, 50, 60};
    static int32_t lab[2] = {0, 1};
    static char *ids[2] = {"a", "b"};
    xai_dataset d;
    memset(&d, 0, sizeof d);
    snprintf(d.name, sizeof d.name, "%s", name);
    d.size = 2, d.nclasses = 2, d.class_ids = ids, d.class_names = ids;
    d.train = (xai_split){2, 2, {1, 2, 2}, px, lab, NULL};
    d.test = d.train;
    xai_ds_compute_stats(&d);
    xai_ds_provenance p = {"test", "none", 0, 0, {NULL}, {NULL}, {NULL}};
    assert_int_equal(xai_ds_cache_write(path, &d, &p), XAI_OK);
    return path;
}

/* Found by the sweep (dataset-cache): a cache's @channels was never read (0, 3, "x" passed), a NaN
 * @mean or a zero, negative or infinite @std was used to normalise every image (rc 0), `datasets
 * check` took a cache of another dataset and said nothing on stderr when the statistics differed. */
static void test_cache_stated_values(void **state)
{
    (void)state;
    char *path = tiny_cache("mnist");
    xai_dataset d;
    assert_int_equal(xai_dataset_load_file(&d, path, 0), XAI_OK);
    xai_dataset_free(&d);
    const int64_t ch[] = {0, 3, -1};
    for (int i = 0; i < 3; i++) {
        set_attr(path, "/", "channels", H5T_NATIVE_INT64, &ch[i], 1);
        assert_int_equal(xai_dataset_load_file(&d, path, 0), XAI_EFORMAT);
        assert_msg("mnist-28.h5: @channels");
    }
    set_attr(path, "/", "channels", H5T_C_S1, "x", 1);
    assert_int_equal(xai_dataset_load_file(&d, path, 0), XAI_EFORMAT);
    free(path);
    const double bad[][2] = {{NAN, 0.5}, {0.5, 0}, {0.5, -1}, {0.5, INFINITY}, {INFINITY, 0.5}};
    for (int i = 0; i < 5; i++) {
        path = tiny_cache("mnist");
        set_attr(path, "/", "mean", H5T_NATIVE_DOUBLE, &bad[i][0], 1);
        set_attr(path, "/", "std", H5T_NATIVE_DOUBLE, &bad[i][1], 1);
        assert_int_equal(xai_dataset_load_file(&d, path, 0), XAI_EFORMAT);
        assert_msg(isfinite(bad[i][0]) ? "mnist-28.h5: @std" : "mnist-28.h5: @mean");
        free(path);
    }
    /* datasets check of mnist finds fashion-mnist's cache under mnist's name. */
    path = tiny_cache("fashion-mnist");
    xai_fetch_opts o = {.data_dir = dir, .mirror = ""};
    int match = -1;
    FILE *devnull = fopen("/dev/null", "w");
    assert_int_equal(xai_dataset_check(devnull, "mnist", &o, &match), XAI_EFORMAT);
    assert_msg("holds dataset 'fashion-mnist', expected 'mnist'");
    free(path);
    /* Statistics that differ from the images' are an error that says which. */
    path = tiny_cache("mnist");
    const double m = 0.25;
    set_attr(path, "/", "mean", H5T_NATIVE_DOUBLE, &m, 1);
    assert_int_equal(xai_dataset_check(devnull, "mnist", &o, &match), XAI_EFORMAT);
    assert_msg("mnist-28.h5: @mean/@std of channel 0");
    fclose(devnull);
    free(path);
}

/* A seed of the archive fuzz target (tests/fuzz/seeds.py), without its mode byte. */
static char *archive_seed(const char *name, size_t *len)
{
    const char *src = getenv("XAI_SOURCE_DIR");
    char *dirp = xai_path_join(src ? src : XAI_SOURCE_DIR, "tests/fuzz/corpus/archive");
    char *path = xai_path_join(dirp, name), *data;
    assert_int_equal(xai_read_file(path, &data, len), XAI_OK);
    assert_true(*len > 1);
    memmove(data, data + 1, --*len);
    free(dirp), free(path);
    return data;
}

/* The archive seeds' JPEG was refused by libjpeg ("premature end of data segment"), so the
 * fuzz target and the sweep never reached the member checks after a valid image. */
static void test_archive_seeds_valid(void **state)
{
    (void)state;
    size_t n;
    char *jpg = archive_seed("jpeg-valid", &n), err[256] = "";
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    if (xai_jpeg_decode_rgb(jpg, n, &rgb, &w, &h, err, sizeof err) != XAI_OK) fail_msg("jpeg-valid: %s", err);
    assert_int_equal(w, 2), assert_int_equal(h, 2);
    free(rgb), free(jpg);
    jpg = archive_seed("jpeg-premature-end", &n);
    assert_int_equal(xai_jpeg_decode_rgb(jpg, n, &rgb, &w, &h, err, sizeof err), XAI_EFORMAT);
    assert_non_null(strstr(err, "premature end"));
    free(jpg);
    char *tgz = archive_seed("valid-tgz", &n), *path = in_dir("seed.tgz");
    put(path, tgz, n);
    static const char *const ids[2] = {"n01440764", "n02102040"};
    xai_split train, test;
    int skipped = -1;
    xai_quiet = 1;
    assert_int_equal(xai_tgz_decode(path, ids, 2, 8, 0, &train, &test, &skipped), XAI_OK);
    xai_quiet = 0;
    assert_int_equal(train.n, 2), assert_int_equal(test.n, 1), assert_int_equal(skipped, 0);
    xai_split_free(&train), xai_split_free(&test);
    free(tgz), free(path);
}

/* Runs `$XAI_BIN args` (the command built beside this test), its stderr's last line in err;
 * the exit status. */
static int xai_run(const char *args, char *err, size_t cap)
{
    const char *bin = getenv("XAI_BIN");
    if (!bin) skip();
    char *cmd = NULL, *log = in_dir("run.err");
    assert_true(asprintf(&cmd, "XAI_THREADS=1 '%s' %s >/dev/null 2>'%s'", bin, args, log) > 0);
    int rc = system(cmd);
    err[0] = 0;
    FILE *f = fopen(log, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) snprintf(err, cap, "%s", line);
    if (f) fclose(f);
    free(cmd), free(log);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* Found by the sweep (cli-values): explain's --ig-*, --lrp-*, --sg-* and --seed values were only
 * parsed by the methods they reach, so `--methods gradient --lrp-bias typo` ran with rc 0. Each
 * value is checked on its own, naming the option. */
static void test_explain_unused_options(void **state)
{
    (void)state;
    char *model = good_model(), *img = in_dir("img.jpg"), *out = in_dir("ex.h5"), args[2048], err[1024];
    size_t n;
    char *jpg = archive_seed("jpeg-valid", &n);
    put(img, jpg, n);
    free(jpg);
    const char *base = "explain --model '%s' --images '%s' --methods gradient --heatmaps none --out '%s' %s '%s'";
    snprintf(args, sizeof args, base, model, img, out, "--lrp-bias", "ignore");
    assert_int_equal(xai_run(args, err, sizeof err), 0);
    const char *bad[][2] = {{"--lrp-bias", "typo"}, {"--ig-rule", "abc"}, {"--ig-baseline", "3x"}, {"--ig-value", "x"},
                            {"--ig-sigma", "-1"}, {"--ig-steps", "0"}, {"--lrp-epsilon", "abc"}, {"--lrp-gamma", "nan"},
                            {"--lrp-stabilizer", "1x"}, {"--sg-samples", "0"}, {"--sg-noise", "y"}, {"--seed", "abc"},
                            {"--ig-rule", "gauss:steps=3"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(args, sizeof args, base, model, img, out, bad[i][0], bad[i][1]);
        char want[64];
        snprintf(want, sizeof want, "%s %s: ", bad[i][0], bad[i][1]);
        assert_int_equal(xai_run(args, err, sizeof err), 1);
        if (!strstr(err, want)) fail_msg("%s %s: '%s' lacks '%s'", bad[i][0], bad[i][1], err, want);
    }
    free(model), free(img), free(out);
}

/* Found by the sweep (cli-values): `evaluate --ig-curve no --ig-curve-methods abc` ran with rc 0:
 * the list was checked only when the IG curve ran. */
static void test_evaluate_unused_curve_methods(void **state)
{
    (void)state;
    char *model = good_model(), *img = in_dir("img.jpg"), *out = in_dir("ex.h5"), *ev = in_dir("ev.h5"),
         args[2048], err[1024];
    size_t n;
    char *jpg = archive_seed("jpeg-valid", &n);
    put(img, jpg, n);
    free(jpg);
    snprintf(args, sizeof args, "explain --model '%s' --images '%s' --methods gradient --heatmaps none --out '%s'", model,
             img, out);
    assert_int_equal(xai_run(args, err, sizeof err), 0);
    snprintf(args, sizeof args,
             "evaluate --model '%s' --attributions '%s' --out '%s' --ig-curve no --ig-curve-methods abc --sanity no",
             model, out, ev);
    assert_int_equal(xai_run(args, err, sizeof err), 1);
    if (!strstr(err, "--ig-curve-methods abc: 'abc' is not an IG method"))
        fail_msg("evaluate --ig-curve-methods abc: '%s'", err);
    free(model), free(img), free(out), free(ev);
}

/* Found by the sweep (cli-values): `xai import net.onnx --out net.onnx` replaced the ONNX file by
 * the model file (rc 0); so did --out = the --classes @FILE. */
static void test_import_out_not_input(void **state)
{
    (void)state;
    const char *src = getenv("XAI_SOURCE_DIR");
    char *dsrc = xai_path_join(src ? src : XAI_SOURCE_DIR, "tests/data/tiny_grey.onnx"), *net = in_dir("net.onnx");
    char *names = in_dir("names.txt"), *data, *after, args[2048], err[1024];
    size_t n, m;
    assert_int_equal(xai_read_file(dsrc, &data, &n), XAI_OK);
    put(net, data, n);
    snprintf(args, sizeof args, "import '%s' --out '%s'", net, net);
    assert_int_equal(xai_run(args, err, sizeof err), 1);
    if (!strstr(err, "is the same file as the ONNX file")) fail_msg("'%s'", err);
    put(names, "a\nb\nc\n", 6);
    snprintf(args, sizeof args, "import '%s' --classes '@%s' --out '%s'", net, names, names);
    assert_int_equal(xai_run(args, err, sizeof err), 1);
    if (!strstr(err, "is the same file as --classes")) fail_msg("'%s'", err);
    assert_int_equal(xai_read_file(net, &after, &m), XAI_OK);
    assert_true(m == n && !memcmp(after, data, n));
    free(after), free(data), free(dsrc), free(net), free(names);
}

/* Found by the sweep (image-folder, fifo): an image that is a FIFO was opened and read like a file,
 * so `xai fetch --image-folder` waited forever for a writer. Only regular files are images; here a
 * child writes a valid JPEG into the FIFO, which the loader used to decode. */
static void test_image_fifo(void **state)
{
    (void)state;
    char *fifo = in_dir("img.jpg.fifo");
    size_t n;
    char *jpg = archive_seed("jpeg-valid", &n);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* blocks until a reader opens the FIFO */
        int fd = open(fifo, O_WRONLY);
        _exit(fd >= 0 && write(fd, jpg, n) == (ssize_t)n ? 0 : 1);
    }
    uint8_t px[16];
    xai_status s = xai_image_file_load(fifo, (xai_shape){1, 4, 4}, px);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(s, XAI_EINVAL);
    assert_msg("img.jpg.fifo: not a regular file");
    free(jpg), free(fifo);
}

/* Defect 1, found by the sweep: export and figures replace their output directory whole, and
 * `xai export --results R --out R` renamed the experiment away and deleted its model.h5 (rc 0); a
 * symbolic link as --out had its target's files deleted. Only a directory of plot files is replaced. */
static void test_plot_dir_not_inputs(void **state)
{
    (void)state;
    char *exp = in_dir("pexp"), *model = xai_path_join(exp, "model.h5"), *link = in_dir("plink");
    char *plot = in_dir("pplot"), *dat = xai_path_join(plot, "a.dat"), *file = in_dir("pfile");
    FILE *devnull = fopen("/dev/null", "w");
    assert_int_equal(xai_mkdirs(exp), XAI_OK);
    xai_model *m;
    assert_int_equal(build(&m, NET, 6, (xai_shape){1, 4, 4}), XAI_OK);
    xai_model_init(m, 1);
    assert_int_equal(xai_model_save(m, model), XAI_OK);
    xai_model_free(m);
    assert_int_equal(xai_export_experiment(exp, exp, NULL, devnull), XAI_EINVAL);
    assert_msg("holds 'model.h5'"), assert_msg("refusing to replace");
    assert_true(xai_file_exists(model));
    assert_int_equal(symlink(exp, link), 0);
    assert_int_equal(xai_export_experiment(exp, link, NULL, devnull), XAI_EINVAL);
    assert_msg("plink is a symbolic link");
    assert_true(xai_file_exists(model));
    put(file, "keep", 4);
    assert_int_equal(xai_export_experiment(exp, file, NULL, devnull), XAI_EINVAL);
    assert_msg("pfile exists and is not a directory");
    /* A subdirectory is not a plot file either (the results root as --out). */
    assert_int_equal(xai_export_experiment(exp, dir, NULL, devnull), XAI_EINVAL);
    assert_true(xai_file_exists(model) && xai_file_exists(file));
    /* An earlier export's directory is replaced. */
    assert_int_equal(xai_export_experiment(exp, plot, NULL, devnull), XAI_OK);
    put(dat, "old", 3);
    assert_int_equal(xai_export_experiment(exp, plot, NULL, devnull), XAI_OK);
    assert_false(xai_file_exists(dat));
    char *done = xai_path_join(plot, "done");
    assert_true(xai_file_exists(done));
    fclose(devnull);
    free(exp), free(model), free(link), free(plot), free(dat), free(file), free(done);
}

/* Defect 14 audit: a metrics file without @format (or of another format) is refused by every reader,
 * naming the file and the attribute; before, only evaluate --summary's reader checked it and export
 * and report read the rest as missing parts. */
static void write_metrics(const char *path, const char *format)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    const char *v[] = {"/methods/m/sanity/layer", "/methods/m/sanity/spearman_abs_mean", "/methods/m/sanity/ssim_mean",
                       "/methods/m/sanity/spearman_abs_stderr", "/methods/m/sanity/ssim_stderr", "/steps/fraction",
                       "/random/logit/mean", "/random/logit/stderr", "/methods/m/sparseness/values"};
    hsize_t n = 2;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        hid_t ds = H5Dcreate2(f, v[i], H5T_IEEE_F64LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        const double x[2] = {-1, 1};
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
        H5Dclose(ds);
    }
    H5Sclose(sp), H5Pclose(lcpl);
    assert_int_equal(xai_h5_attr_str(f, "methods", "m"), XAI_OK);
    if (format) assert_int_equal(xai_h5_attr_str(f, "format", format), XAI_OK);
    H5Fclose(f);
}

/* Every reader of metricsfile.h refuses the file at `path`, the errors naming it and @format. */
static void assert_metrics_refused(const char *path)
{
    char needle[128];
    snprintf(needle, sizeof needle, "%s: not a metrics file", path);
    xai_metrics_scores sc;
    assert_int_equal(xai_metricsfile_read_scores(&sc, path, NULL), XAI_EFORMAT);
    assert_msg(needle), assert_msg("@format");
    xai_metrics_stats_set st;
    assert_int_equal(xai_metricsfile_read_stats(&st, path, NULL), XAI_EFORMAT);
    assert_msg(needle), assert_msg("@format");
    xai_metrics_summary sm;
    assert_int_equal(xai_metricsfile_read_summary(&sm, path), XAI_EFORMAT);
    assert_msg(needle), assert_msg("@format");
    double *v, *l, *m, *se, mean[2], e[2];
    int n;
    assert_int_equal(xai_metricsfile_read_values(path, "m", "sparseness/values", &v, &n), XAI_EFORMAT);
    assert_msg(needle), assert_msg("@format");
    /* The readers of optional parts say absent. */
    assert_int_equal(xai_metricsfile_read_fractions(path, &v), 0);
    assert_int_equal(xai_metricsfile_read_curve(path, NULL, NULL, 2, mean, e), 0);
    assert_int_equal(xai_metricsfile_read_sanity(path, "m", &l, &m, &se, NULL), 0);
    xai_clear_error();
}

static void test_metrics_format(void **state)
{
    (void)state;
    char *exp = in_dir("exp"), *path = xai_path_join(exp, "metrics.h5");
    assert_int_equal(xai_mkdirs(exp), XAI_OK);
    write_metrics(path, NULL);
    assert_metrics_refused(path);
    xai_exp_summary s;
    assert_int_equal(xai_exp_summary_load(&s, exp), XAI_EFORMAT);
    assert_msg("metrics.h5: not a metrics file"), assert_msg("@format");
    xai_exp_summary_free(&s);
    char *plot = in_dir("plot");
    assert_int_equal(xai_export_experiment(exp, plot, NULL, NULL), XAI_EFORMAT);
    assert_msg("metrics.h5: not a metrics file");
    write_metrics(path, "xai-attributions-1");
    assert_metrics_refused(path);
    /* The same file with its @format is read. */
    write_metrics(path, XAI_METRICS_FORMAT);
    double *v, *l, *m, *se;
    assert_int_equal(xai_metricsfile_read_fractions(path, &v), 2);
    free(v);
    assert_int_equal(xai_metricsfile_read_sanity(path, "m", &l, &m, &se, NULL), 2);
    free(l), free(m), free(se);
    xai_metrics_summary sm;
    assert_int_equal(xai_metricsfile_read_summary(&sm, path), XAI_OK);
    assert_int_equal(sm.nmethods, 1);
    xai_metrics_summary_free(&sm);
    assert_int_equal(xai_exp_summary_load(&s, exp), XAI_OK);
    xai_exp_summary_free(&s);
    /* Attribution files: every reader starts with the header, which checks @format. */
    char *ap = xai_path_join(exp, "attributions.h5");
    attr_spec a = {{2, 1, 2, 2}, 0, 0, 0};
    write_attr(ap, &a);
    assert_int_equal(xai_exp_summary_load(&s, exp), XAI_EFORMAT);
    assert_msg("attributions.h5: not an attribution file (no attribute @format");
    xai_exp_summary_free(&s);
    free(exp), free(path), free(plot), free(ap);
}

int main(void)
{
    xai_h5_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_not_input), cmocka_unit_test(test_config_long_line),
        cmocka_unit_test(test_config_name),      cmocka_unit_test(test_config_strict),
        cmocka_unit_test(test_config_size),      cmocka_unit_test(test_stale_tmp),
        cmocka_unit_test(test_attr_huge_dims),   cmocka_unit_test(test_attr_mismatch),
        cmocka_unit_test(test_model_sizes),      cmocka_unit_test(test_model_garbage),
        cmocka_unit_test(test_stale_plot_dirs),   cmocka_unit_test(test_bench_images),
        cmocka_unit_test(test_sanity_layer_huge), cmocka_unit_test(test_config_input_shape),
        cmocka_unit_test(test_stated_values),     cmocka_unit_test(test_stale_tmp_zombie),
        cmocka_unit_test(test_metrics_format),     cmocka_unit_test(test_plot_dir_not_inputs),
        cmocka_unit_test(test_archive_seeds_valid), cmocka_unit_test(test_explain_unused_options),
        cmocka_unit_test(test_cache_stated_values), cmocka_unit_test(test_import_out_not_input),
        cmocka_unit_test(test_flip_schedule_huge_steps), cmocka_unit_test(test_image_fifo),
        cmocka_unit_test(test_evaluate_unused_curve_methods),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
