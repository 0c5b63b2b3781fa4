/* heatmap.c: one PNG per image and method of an attribution file (`xai explain --images`), in
 * the colours of the study's heatmap figure (paper/heatmaps.gp): channel sum, own max |R|, RdBu. */
#include "core/io.h"
#include "datasets/datasets.h"
#include "explainers/explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* paper/heatmaps.gp's palette: ColorBrewer RdBu at -1, -2/3, -1/3, 0, 1/3, 2/3, 1 (gnuplot's
 * stops are -0.66 and -0.33; the difference is below one colour step). */
static const uint8_t RDBU[7][3] = {{0x05, 0x30, 0x61}, {0x21, 0x66, 0xac}, {0x92, 0xc5, 0xde}, {0xff, 0xff, 0xff},
                                   {0xf4, 0xa5, 0x82}, {0xb2, 0x18, 0x2b}, {0x67, 0x00, 0x1f}};

static void palette(double v /* [-1, 1] */, uint8_t *rgb)
{
    double t = (v < -1 ? -1 : v > 1 ? 1 : v) * 3 + 3; /* [0, 6] */
    int i = t >= 6 ? 5 : (int)t;
    double f = t - i;
    for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)lrint(RDBU[i][c] + f * (RDBU[i + 1][c] - RDBU[i][c]));
}

void xai_heatmap_rgb(uint8_t *rgb, const float *attr, xai_shape s, int scale)
{
    const size_t hw = (size_t)s.h * s.w;
    double mx = 0;
    for (size_t p = 0; p < hw; p++) {
        double v = 0;
        for (int c = 0; c < s.c; c++) v += attr[(size_t)c * hw + p];
        if (fabs(v) > mx) mx = fabs(v);
    }
    const size_t W = (size_t)s.w * scale;
    for (int y = 0; y < s.h; y++)
        for (int x = 0; x < s.w; x++) {
            double v = 0;
            for (int c = 0; c < s.c; c++) v += attr[(size_t)c * hw + (size_t)y * s.w + x];
            uint8_t px[3];
            palette(mx > 0 && isfinite(mx) ? v / mx : 0, px);
            for (int dy = 0; dy < scale; dy++)
                for (int dx = 0; dx < scale; dx++)
                    memcpy(rgb + 3 * (((size_t)y * scale + dy) * W + (size_t)x * scale + dx), px, 3);
        }
}

/* "lrp-epsilon:eps=0.25" -> "lrp-epsilon_eps-0.25": a file name part. */
static void method_tag(char *tag, size_t cap, const char *method)
{
    snprintf(tag, cap, "%s", method);
    for (char *c = tag; *c; c++)
        if (*c == ':') *c = '_';
        else if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                   *c == '_' || *c == '.'))
            *c = '-';
}

xai_status xai_heatmaps_write(const char *attr_path, const char *dir, const char *const *names, int *nwritten)
{
    xai_attr_header h;
    *nwritten = 0;
    XAI_TRY(xai_attr_read_header(&h, attr_path));
    const int scale = h.shape.w >= 256 ? 1 : (256 + h.shape.w - 1) / h.shape.w; /* at least 256 px wide */
    float *map = xai_malloc(xai_shape_size(h.shape) * sizeof *map);
    uint8_t *rgb = xai_malloc((size_t)3 * h.shape.h * scale * h.shape.w * scale);
    xai_status s = xai_mkdirs(dir);
    for (int j = 0; j < h.nmethods && s == XAI_OK; j++) {
        char tag[128];
        method_tag(tag, sizeof tag, h.methods[j]);
        for (int i = 0; i < h.n && s == XAI_OK; i++) {
            if ((s = xai_attr_read_row(attr_path, h.methods[j], i, map, &h)) != XAI_OK) break;
            xai_heatmap_rgb(rgb, map, h.shape, scale);
            char file[384];
            snprintf(file, sizeof file, "%.240s_%s.png", names[i], tag);
            char *path = xai_path_join(dir, file);
            s = xai_png_write_rgb(path, rgb, h.shape.w * scale, h.shape.h * scale);
            free(path);
            *nwritten += s == XAI_OK;
        }
    }
    free(rgb);
    free(map);
    xai_attr_header_free(&h);
    return s;
}

static int by_str(const void *a, const void *b) { return strcmp(**(char *const *const *)a, **(char *const *const *)b); }

char **xai_heatmap_names(const char *const *files, const int64_t *indices, int n)
{
    char **names = xai_calloc((size_t)(n ? n : 1), sizeof *names);
    for (int i = 0; i < n; i++) {
        char buf[256];
        const char *f = files ? files[indices[i]] : NULL; /* row i is image indices[i] */
        if (f) {
            const char *base = strrchr(f, '/'), *dot;
            base = base ? base + 1 : f;
            snprintf(buf, sizeof buf, "%s", base);
            if ((dot = strrchr(buf, '.')) && dot != buf) buf[dot - buf] = 0;
        } else {
            snprintf(buf, sizeof buf, "test%lld", (long long)indices[i]);
        }
        names[i] = xai_strdup(buf);
    }
    /* Two files of one name (from two folders): both get their row appended. */
    char ***order = xai_malloc((size_t)(n ? n : 1) * sizeof *order);
    int *dup = xai_calloc((size_t)(n ? n : 1), sizeof *dup);
    for (int i = 0; i < n; i++) order[i] = &names[i];
    qsort(order, (size_t)n, sizeof *order, by_str);
    for (int i = 1; i < n; i++)
        if (!strcmp(*order[i], *order[i - 1])) dup[order[i] - names] = dup[order[i - 1] - names] = 1;
    for (int i = 0; i < n; i++)
        if (dup[i]) {
            char buf[300];
            snprintf(buf, sizeof buf, "%s-%d", names[i], i);
            free(names[i]);
            names[i] = xai_strdup(buf);
        }
    free(dup);
    free(order);
    return names;
}

xai_status xai_explain_heatmaps(const xai_explain_cfg *cfg, const char *outpath, const char *const *files,
                                const int64_t *indices, int n)
{
    if (cfg->heatmaps ? !strcmp(cfg->heatmaps, "none") : !cfg->images) return XAI_OK;
    char *dir = NULL;
    if (cfg->heatmaps) dir = xai_strdup(cfg->heatmaps);
    else {
        size_t len = strlen(outpath);
        if (len > 3 && !strcmp(outpath + len - 3, ".h5")) len -= 3;
        dir = xai_malloc(len + 16);
        snprintf(dir, len + 16, "%.*s_heatmaps", (int)len, outpath);
    }
    char **names = xai_heatmap_names(files, indices, n);
    int written = 0;
    xai_status s = xai_heatmaps_write(outpath, dir, (const char *const *)names, &written);
    if (s == XAI_OK) fprintf(stderr, "xai explain: %d heatmaps in %s\n", written, dir);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(dir);
    return s;
}
