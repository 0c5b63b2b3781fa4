/* provenance.c: JSON run records: program version and commit, compiler and flags,
 * library versions, CPU and threads, seeds, dataset checksums and per-stage wall times. */
#include "experiments/provenance.h"
#include "trainers/trainers.h"

#include <archive.h>
#include <cblas.h>
#include <curl/curl.h>
#include <jpeglib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zip.h>
#include <zlib.h>

/* JSON string escaping for the few free-text values (paths, CPU names). */
static void put_str(xai_sbuf *b, const char *s)
{
    xai_sbuf_printf(b, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') xai_sbuf_printf(b, "\\%c", c);
        else if (c < 0x20) xai_sbuf_printf(b, "\\u%04x", c);
        else xai_sbuf_printf(b, "%c", c);
    }
    xai_sbuf_printf(b, "\"");
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
    xai_sbuf b = {0};
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    const char *blas_core = getenv("OPENBLAS_CORETYPE");
    xai_sbuf_printf(&b, "  \"program_version\": ");
    put_str(&b, XAI_VERSION);
    xai_sbuf_printf(&b, ",\n  \"git_commit\": ");
    put_str(&b, XAI_GIT_COMMIT);
    xai_sbuf_printf(&b, ",\n  \"compiler\": ");
    put_str(&b, "gcc " __VERSION__);
    xai_sbuf_printf(&b, ",\n  \"c_flags\": ");
    put_str(&b, XAI_C_FLAGS);
#ifdef _OPENMP
    xai_sbuf_printf(&b, ",\n  \"openmp\": %d", _OPENMP);
#else
    xai_sbuf_printf(&b, ",\n  \"openmp\": null");
#endif
    xai_sbuf_printf(&b, ",\n  \"libraries\": {\n    \"hdf5\": \"%s\",\n    \"openblas\": ", xai_h5_version());
    put_str(&b, openblas_get_config());
    xai_sbuf_printf(&b, ",\n    \"openblas_core\": ");
    put_str(&b, openblas_get_corename());
    xai_sbuf_printf(&b, ",\n    \"openblas_coretype_env\": ");
    if (blas_core) put_str(&b, blas_core);
    else xai_sbuf_printf(&b, "null");
    xai_sbuf_printf(&b, ",\n    \"conv_kernels\": ");
    put_str(&b, xai_conv_impl_name());
    xai_sbuf_printf(&b, ",\n    \"libjpeg\": \"libjpeg-turbo %s (API %d)\"", 
#ifdef LIBJPEG_TURBO_VERSION
#define XAI_STR2(x) #x
#define XAI_STR(x) XAI_STR2(x)
        XAI_STR(LIBJPEG_TURBO_VERSION),
#else
        "?",
#endif
        JPEG_LIB_VERSION);
    xai_sbuf_printf(&b, ",\n    \"libarchive\": ");
    put_str(&b, archive_version_string());
    xai_sbuf_printf(&b, ",\n    \"libcurl\": ");
    put_str(&b, curl_version());
    xai_sbuf_printf(&b, ",\n    \"zlib\": ");
    put_str(&b, zlibVersion());
    xai_sbuf_printf(&b, ",\n    \"libzip\": ");
    put_str(&b, zip_libzip_version());
    xai_sbuf_printf(&b, "\n  },\n  \"cpu\": ");
    put_str(&b, cpu);
    xai_sbuf_printf(&b, ",\n  \"threads\": %d", xai_threads());
    return b.s;
}

/* Dataset checksum and seed come from the trained model file's /train group. */
static void model_facts(xai_sbuf *b, const char *results, const char *exp)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/model.h5", results, exp);
    xai_train_record r;
    int found = 0;
    if (!xai_file_exists(path) || xai_train_record_read(&r, path, &found) != XAI_OK) {
        xai_clear_error();
        xai_sbuf_printf(b, ",\n      \"dataset_sha256\": null");
        return;
    }
    xai_sbuf_printf(b, ",\n      \"dataset_sha256\": ");
    if (found && r.dataset_sha256[0]) put_str(b, r.dataset_sha256);
    else xai_sbuf_printf(b, "null");
    xai_train_record_free(&r);
}

double xai_prov_ratio(double wall, double predicted) { return wall >= 0 && predicted > 0 ? wall / predicted : NAN; }

/* One stage: its wall time, whether it ran now, and beside them the cost model's prediction. */
static void stage_json(xai_sbuf *b, const xai_prov_stage_times *t, int s)
{
    xai_sbuf_printf(b, "%s\n        \"%s\": {\"wall_seconds\": %.3f, \"ran\": %s, \"predicted_seconds\": ", s ? "," : "",
                    t->stage[s], t->seconds[s], t->ran[s] ? "true" : "false");
    const double ratio = xai_prov_ratio(t->seconds[s], t->predicted[s]);
    if (t->predicted[s] >= 0) xai_sbuf_printf(b, "%.3f", t->predicted[s]);
    else xai_sbuf_printf(b, "null");
    if (isfinite(ratio)) xai_sbuf_printf(b, ", \"wall_over_predicted\": %.3f}", ratio);
    else xai_sbuf_printf(b, ", \"wall_over_predicted\": null}");
}

/* The rates a stage's prediction came from: GFLOP/s by kind (road-impute: imputations a second). */
static void rates_json(xai_sbuf *b, const xai_rates *r)
{
    xai_sbuf_printf(b, ",\n      \"rates\": {");
    for (int k = 0; k < r->n; k++) {
        xai_sbuf_printf(b, "%s", k ? ", " : "");
        put_str(b, r->kind[k]);
        xai_sbuf_printf(b, ": %.4g", r->rate[k]);
    }
    xai_sbuf_printf(b, "}");
}

xai_status xai_provenance_write(const char *results, const xai_prov_stage_times *t, int n, const char *profile,
                                double total_s, double calib_s)
{
    xai_sbuf b = {0};
    char *build = xai_provenance_build_json();
    time_t now = time(NULL);
    char stamp[64];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    xai_sbuf_printf(&b, "{\n  \"written\": \"%s\",\n  \"profile\": \"%s\",\n  \"total_wall_seconds\": %.3f,\n%s,\n",
        stamp, profile, total_s, build);
    xai_sbuf_printf(&b, "  \"experiments\": [\n");
    for (int i = 0; i < n; i++) {
        xai_sbuf_printf(&b, "    {\n      \"name\": ");
        put_str(&b, t[i].name);
        xai_sbuf_printf(&b, ",\n      \"dataset\": ");
        put_str(&b, t[i].dataset);
        xai_sbuf_printf(&b, ",\n      \"config\": ");
        put_str(&b, t[i].config);
        xai_sbuf_printf(&b, ",\n      \"seed\": ");
        put_str(&b, t[i].seed);
        model_facts(&b, results, t[i].name);
        xai_sbuf_printf(&b, ",\n      \"stages\": {");
        for (int s = 0; s < t[i].nstages; s++) stage_json(&b, &t[i], s);
        xai_sbuf_printf(&b, "\n      }");
        if (t[i].rates) rates_json(&b, t[i].rates);
        xai_sbuf_printf(&b, "\n    }%s\n", i + 1 < n ? "," : "");
    }
    xai_sbuf_printf(&b, "  ]");
    if (calib_s >= 0)
        xai_sbuf_printf(&b, ",\n  \"cost_model\": {\"calibration_seconds\": %.3f, \"rates_file\": \"stages/rates.txt\", "
                        "\"doc\": \"experiments/README.md#cost-model\"}", calib_s);
    xai_sbuf_printf(&b, "\n}\n");
    char *path = xai_path_join(results, "provenance.json");
    xai_status s = xai_write_file_atomic(path, b.s, b.n);
    free(path);
    free(build);
    free(b.s);
    return s;
}
