/* test_datasets_http.c: the HTTP side of downloads (range resume, retries, 404) against a tiny local server.
 * The server is a forked child on 127.0.0.1 serving a fixture mirror; no outside network is touched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "datasets/datasets.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* How the server misbehaves. */
typedef struct {
    int fail_first;    /* answer 503 to the first request for a data file */
    int ignore_range;  /* always send the whole file with 200 */
    int missing;       /* answer 404 for t10k-labels */
} mode_t_;

typedef struct {
    char root[256], mirror[300], data[300];
    pid_t server;
    int port;
} fx;

static const char *const FILES[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void write_idx(const char *path, int images, int n, int seed)
{
    size_t len = images ? 16 + (size_t)n * 784 : 8 + (size_t)n;
    uint8_t *p = malloc(len);
    uint32_t v[4] = {images ? 0x803u : 0x801u, (uint32_t)n, 28, 28};
    for (int i = 0; i < (images ? 4 : 2); i++)
        for (int b = 0; b < 4; b++) p[4 * i + b] = (uint8_t)(v[i] >> (24 - 8 * b));
    uint64_t x = (uint64_t)seed + 1;
    for (size_t i = images ? 16 : 8; i < len; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL; /* incompressible, so files are ~150 kB */
        p[i] = images ? (uint8_t)(x >> 56) : (uint8_t)((x >> 33) % 10);
    }
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    gzwrite(g, p, (unsigned)len);
    gzclose(g);
    free(p);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/xai-ds-http-XXXXXX");
    if (!mkdtemp(f->root)) return -1;
    snprintf(f->mirror, sizeof f->mirror, "%s/mirror", f->root);
    snprintf(f->data, sizeof f->data, "%s/data", f->root);
    char dir[400], path[512], sums[512];
    snprintf(dir, sizeof dir, "%s/mnist", f->mirror);
    xai_mkdirs(dir);
    snprintf(sums, sizeof sums, "%s/SHA256SUMS", f->mirror);
    FILE *s = fopen(sums, "w");
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, FILES[i]);
        /* ~100 kB of incompressible-ish images so a resume has something to skip */
        write_idx(path, i % 2 == 0, i == 0 ? 200 : i == 2 ? 50 : i == 1 ? 200 : 50, i);
        char sha[65];
        xai_hash_file(path, sha, NULL);
        fprintf(s, "%s  mnist/%s\n", sha, FILES[i]);
    }
    fclose(s);
    *state = f;
    return 0;
}

static void stop_server(fx *f)
{
    if (f->server > 0) {
        kill(f->server, SIGTERM);
        waitpid(f->server, NULL, 0);
        f->server = 0;
    }
}

static int teardown(void **state)
{
    fx *f = *state;
    stop_server(f);
    if (!getenv("KEEP")) nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void send_all(int c, const void *p, size_t n)
{
    const char *q = p;
    while (n) {
        ssize_t w = write(c, q, n);
        if (w <= 0) return;
        q += w;
        n -= (size_t)w;
    }
}

/* One request per connection (we answer with Connection: close). */
static void serve(int ls, const char *mirror, const char *logpath, mode_t_ m)
{
    int failed_once = 0;
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) continue;
        char req[4096];
        size_t n = 0;
        while (n < sizeof req - 1) {
            ssize_t r = read(c, req + n, sizeof req - 1 - n);
            if (r <= 0) break;
            n += (size_t)r;
            req[n] = 0;
            if (strstr(req, "\r\n\r\n")) break;
        }
        req[n] = 0;
        char path[1024] = "";
        sscanf(req, "GET %1000s", path);
        long from = 0;
        const char *rg = strcasestr(req, "\r\nRange: bytes=");
        if (rg) from = atol(rg + 15);
        FILE *lg = fopen(logpath, "a");
        if (lg) {
            fprintf(lg, "GET %s range=%ld\n", path, from);
            fclose(lg);
        }
        char file[1400];
        snprintf(file, sizeof file, "%s%s", mirror, path);
        char *data = NULL;
        size_t len = 0;
        int is_data = strstr(path, ".gz") != NULL;
        char hdr[512];
        if ((m.missing && strstr(path, "t10k-labels")) || xai_read_file(file, &data, &len) != XAI_OK) {
            snprintf(hdr, sizeof hdr, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            send_all(c, hdr, strlen(hdr));
        } else if (is_data && m.fail_first && !failed_once) {
            failed_once = 1;
            snprintf(hdr, sizeof hdr, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            send_all(c, hdr, strlen(hdr));
        } else if (rg && !m.ignore_range && from > 0 && (size_t)from <= len) {
            snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 206 Partial Content\r\nContent-Length: %zu\r\nContent-Range: bytes %ld-%zu/%zu\r\n"
                     "Connection: close\r\n\r\n",
                     len - (size_t)from, from, len - 1, len);
            send_all(c, hdr, strlen(hdr));
            send_all(c, data + from, len - (size_t)from);
        } else {
            snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", len);
            send_all(c, hdr, strlen(hdr));
            send_all(c, data, len);
        }
        free(data);
        close(c);
    }
}

static void start_server(fx *f, mode_t_ m)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(ls, 16), 0);
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    fflush(NULL);
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        char log[400];
        snprintf(log, sizeof log, "%s/requests.log", f->root);
        serve(ls, f->mirror, log, m);
        _exit(0);
    }
    close(ls);
    f->server = p;
}

static xai_fetch_opts opts(fx *f, char *url, size_t cap)
{
    snprintf(url, cap, "http://127.0.0.1:%d", f->port);
    xai_fetch_opts o = {0};
    o.data_dir = f->data;
    o.mirror = url;
    return o;
}

static void assert_same_file(const char *a, const char *b)
{
    char *x, *y;
    size_t nx, ny;
    assert_int_equal(xai_read_file(a, &x, &nx), XAI_OK);
    assert_int_equal(xai_read_file(b, &y, &ny), XAI_OK);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    free(x);
    free(y);
}

static void seed_part(fx *f, int idx, size_t keep, int garbage)
{
    char src[512], part[512], dir[400];
    snprintf(src, sizeof src, "%s/mnist/%s", f->mirror, FILES[idx]);
    snprintf(dir, sizeof dir, "%s/mnist", f->data);
    snprintf(part, sizeof part, "%s/%s.part", dir, FILES[idx]);
    xai_mkdirs(dir);
    char *d;
    size_t n;
    assert_int_equal(xai_read_file(src, &d, &n), XAI_OK);
    if (garbage) memset(d, 0x5a, keep);
    FILE *p = fopen(part, "wb");
    fwrite(d, 1, keep < n ? keep : n, p);
    fclose(p);
    free(d);
}

static void check_downloads(fx *f)
{
    for (int i = 0; i < 4; i++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/mnist/%s", f->mirror, FILES[i]);
        snprintf(b, sizeof b, "%s/mnist/%s", f->data, FILES[i]);
        assert_same_file(a, b);
        strcat(b, ".part");
        assert_false(xai_file_exists(b));
    }
    char c[512];
    snprintf(c, sizeof c, "%s/mnist-28.h5", f->data);
    assert_true(xai_file_exists(c));
}

static void test_http_plain(void **state)
{
    fx *f = *state;
    start_server(f, (mode_t_){0, 0, 0});
    char url[128];
    xai_fetch_opts o = opts(f, url, sizeof url);
    xai_status s = xai_dataset_fetch("mnist", &o);
    if (s != XAI_OK) fail_msg("%s", xai_errmsg());
    check_downloads(f);
}

/* How many times the request log holds text. */
static int requests(fx *f, const char *text)
{
    char log[400], *t = NULL;
    snprintf(log, sizeof log, "%s/requests.log", f->root);
    if (xai_read_file(log, &t, NULL) != XAI_OK) return 0;
    int n = 0;
    for (char *p = t; (p = strstr(p, text)); p += strlen(text)) n++;
    free(t);
    return n;
}

static int logged(fx *f, const char *line) { return requests(f, line) > 0; }

static void test_http_resume(void **state)
{
    fx *f = *state;
    start_server(f, (mode_t_){0, 0, 0});
    seed_part(f, 0, 30000, 0);    /* honest prefix: resumed with a range request */
    seed_part(f, 2, 5000, 1);     /* corrupt prefix: resumed, fails, fetched again whole */
    char url[128];
    xai_fetch_opts o = opts(f, url, sizeof url);
    xai_status s = xai_dataset_fetch("mnist", &o);
    if (s != XAI_OK) fail_msg("%s", xai_errmsg());
    check_downloads(f);
    assert_true(logged(f, "GET /mnist/train-images-idx3-ubyte.gz range=30000\n"));
    assert_false(logged(f, "GET /mnist/train-images-idx3-ubyte.gz range=0\n"));
    assert_true(logged(f, "GET /mnist/t10k-images-idx3-ubyte.gz range=5000\n"));
    assert_true(logged(f, "GET /mnist/t10k-images-idx3-ubyte.gz range=0\n"));
}

static void test_http_ignores_range(void **state)
{
    fx *f = *state;
    start_server(f, (mode_t_){0, 1, 0});
    seed_part(f, 0, 30000, 0);
    char url[128];
    xai_fetch_opts o = opts(f, url, sizeof url);
    xai_status s = xai_dataset_fetch("mnist", &o);
    if (s != XAI_OK) fail_msg("%s", xai_errmsg());
    check_downloads(f);
}

static void test_http_retry(void **state)
{
    fx *f = *state;
    start_server(f, (mode_t_){1, 0, 0});
    char url[128];
    xai_fetch_opts o = opts(f, url, sizeof url);
    xai_status s = xai_dataset_fetch("mnist", &o);
    if (s != XAI_OK) fail_msg("%s", xai_errmsg());
    /* The first data request got a 503 and was asked again: four files, five requests
     * (counted from the server's log, not timed). */
    assert_int_equal(requests(f, ".gz range="), 5);
    check_downloads(f);
}

static void test_http_404(void **state)
{
    fx *f = *state;
    start_server(f, (mode_t_){0, 0, 1});
    char url[128];
    xai_fetch_opts o = opts(f, url, sizeof url);
    xai_status s = xai_dataset_fetch("mnist", &o);
    assert_int_equal(s, XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "HTTP 404"));
    assert_non_null(strstr(xai_errmsg(), "t10k-labels-idx1-ubyte.gz"));
    char p[512];
    snprintf(p, sizeof p, "%s/mnist/%s.part", f->data, FILES[3]);
    assert_false(xai_file_exists(p));
    snprintf(p, sizeof p, "%s/mnist-28.h5", f->data);
    assert_false(xai_file_exists(p));
}

int main(void)
{
    xai_quiet = 1;
    unsetenv("XAI_MIRROR");
    unsetenv("XAI_DATA_DIR");
    setenv("XAI_SYSTEM_DATA_DIR", "", 1);
    /* Talk to our server directly, whatever proxy the environment names. */
    setenv("no_proxy", "127.0.0.1", 1);
    setenv("NO_PROXY", "127.0.0.1", 1);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_ignores_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_404, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
