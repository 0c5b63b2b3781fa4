/* provenance.c: JSON run records: program version and commit, compiler and flags,
 * library versions, CPU and threads, seeds, dataset checksums and per-stage wall times. */
#include "core/h5.h"
#include "experiments/provenance.h"

#include <archive.h>
#include <cblas.h>
#include <curl/curl.h>
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zip.h>
#include <zlib.h>

/* Appends printf output to a growing buffer. */
typedef struct { char *s; size_t len, cap; } sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (b->s && (size_t)n < room) {
            b->len += n;
            return;
        }
        b->cap = (b->cap + n + 1) * 2;
        char *ns = xai_malloc(b->cap);
        if (b->s) memcpy(ns, b->s, b->len + 1);
        else ns[0] = 0;
        free(b->s);
        b->s = ns;
    }
}

/* JSON string escaping for the few free-text values (paths, CPU names). */
static void put_str(sbuf *b, const char *s)
{
    put(b, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') put(b, "\\%c", c);
        else if (c < 0x20) put(b, "\\u%04x", c);
        else put(b, "%c", c);
    }
    put(b, "\"");
}

static void cpu_model(char *out, size_t n)
{
    snprintf(out, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) {
                c += 1 + (c[1] == ' ');
                c[strcspn(c, "\n")] = 0;
                snprintf(out, n, "%s", c);
            }
            break;
        }
    if (f) fclose(f);
}

char *xai_provenance_build_json(void)
{
    sbuf b = {0};
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    const char *blas_core = getenv("OPENBLAS_CORETYPE");
    put(&b, "  \"program_version\": ");
    put_str(&b, XAI_VERSION);
    put(&b, ",\n  \"git_commit\": ");
    put_str(&b, XAI_GIT_COMMIT);
    put(&b, ",\n  \"compiler\": ");
    put_str(&b, "gcc " __VERSION__);
    put(&b, ",\n  \"c_flags\": ");
    put_str(&b, XAI_C_FLAGS);
#ifdef _OPENMP
    put(&b, ",\n  \"openmp\": %d", _OPENMP);
#else
    put(&b, ",\n  \"openmp\": null");
#endif
    put(&b, ",\n  \"libraries\": {\n    \"hdf5\": \"%u.%u.%u\",\n    \"openblas\": ", maj, min, rel);
    put_str(&b, openblas_get_config());
    put(&b, ",\n    \"openblas_core\": ");
    put_str(&b, openblas_get_corename());
    put(&b, ",\n    \"openblas_coretype_env\": ");
    if (blas_core) put_str(&b, blas_core);
    else put(&b, "null");
    put(&b, ",\n    \"conv_kernels\": ");
    put_str(&b, xai_conv_impl_name());
    put(&b, ",\n    \"libjpeg\": \"libjpeg-turbo %s (API %d)\"", 
#ifdef LIBJPEG_TURBO_VERSION
#define XAI_STR2(x) #x
#define XAI_STR(x) XAI_STR2(x)
        XAI_STR(LIBJPEG_TURBO_VERSION),
#else
        "?",
#endif
        JPEG_LIB_VERSION);
    put(&b, ",\n    \"libarchive\": ");
    put_str(&b, archive_version_string());
    put(&b, ",\n    \"libcurl\": ");
    put_str(&b, curl_version());
    put(&b, ",\n    \"zlib\": ");
    put_str(&b, zlibVersion());
    put(&b, ",\n    \"libzip\": ");
    put_str(&b, zip_libzip_version());
    put(&b, "\n  },\n  \"cpu\": ");
    put_str(&b, cpu);
    put(&b, ",\n  \"threads\": %d", xai_threads());
    return b.s;
}

/* Dataset checksum and seed come from the trained model file's /train group. */
static void model_facts(sbuf *b, const char *results, const char *exp)
{
    char path[1024], dsum[128] = "", ds[64] = "";
    snprintf(path, sizeof path, "%s/%s/model.h5", results, exp);
    hid_t f;
    if (!xai_file_exists(path) || xai_h5_open(&f, path, 0) != XAI_OK) {
        put(b, ",\n      \"dataset_sha256\": null");
        return;
    }
    if (xai_h5_exists(f, "/train")) {
        hid_t g = H5Gopen2(f, "/train", H5P_DEFAULT);
        xai_h5_get_str(g, "dataset_sha256", dsum, sizeof dsum);
        xai_h5_get_str(g, "dataset", ds, sizeof ds);
        H5Gclose(g);
    }
    H5Fclose(f);
    put(b, ",\n      \"dataset_sha256\": ");
    if (*dsum) put_str(b, dsum);
    else put(b, "null");
}

xai_status xai_provenance_write(const char *results, const xai_prov_stage_times *t, int n, int quick,
                                double total_s)
{
    sbuf b = {0};
    char *build = xai_provenance_build_json();
    time_t now = time(NULL);
    char stamp[64];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    put(&b, "{\n  \"written\": \"%s\",\n  \"profile\": \"%s\",\n  \"total_wall_seconds\": %.3f,\n%s,\n",
        stamp, quick ? "quick" : "full", total_s, build);
    put(&b, "  \"experiments\": [\n");
    for (int i = 0; i < n; i++) {
        put(&b, "    {\n      \"name\": ");
        put_str(&b, t[i].name);
        put(&b, ",\n      \"dataset\": ");
        put_str(&b, t[i].dataset);
        put(&b, ",\n      \"config\": ");
        put_str(&b, t[i].config);
        put(&b, ",\n      \"seed\": ");
        put_str(&b, t[i].seed);
        model_facts(&b, results, t[i].name);
        put(&b, ",\n      \"stages\": {");
        for (int s = 0; s < t[i].nstages; s++)
            put(&b, "%s\n        \"%s\": {\"wall_seconds\": %.3f, \"ran\": %s}", s ? "," : "", t[i].stage[s],
                t[i].seconds[s], t[i].ran[s] ? "true" : "false");
        put(&b, "\n      }\n    }%s\n", i + 1 < n ? "," : "");
    }
    put(&b, "  ]\n}\n");
    char *path = xai_path_join(results, "provenance.json");
    xai_status s = xai_write_file_atomic(path, b.s, b.len);
    free(path);
    free(build);
    free(b.s);
    return s;
}
