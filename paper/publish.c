/* publish.c: the pipeline's last steps: cross-dataset figures, the report, the bundle.
 * Thin glue between `xai reproduce` and paper/publish.h. */
#include "paper/publish.h"
#include "core/io.h"

#include <stdlib.h>
#include <string.h>

/* A results root other than the source tree's results/ (results/quick, --results DIR) gets a copy of
 * results/README.md, which the report names for the layout and the bundle carries. */
static xai_status readme_copy(const char *results)
{
    char *dst = xai_path_join(results, "README.md"), *text = NULL;
    xai_status st = XAI_OK;
#ifdef XAI_SOURCE_DIR
    char *src = xai_path_join(XAI_SOURCE_DIR, "results/README.md");
#else
    char *src = xai_path_join("results", "README.md");
#endif
    size_t len = 0;
    if (xai_file_exists(dst) || xai_read_file(src, &text, &len) != XAI_OK) {
        xai_clear_error(); /* a root with its own README, or no source tree to copy from */
        goto done;
    }
    xai_sbuf b = {0};
    xai_sbuf_printf(&b, "<!-- copied from %s by xai %s: the layout is the same under this results root -->\n\n%.*s",
                    src, xai_version(), (int)len, text);
    st = xai_write_file_atomic(dst, b.s, b.n);
    xai_sbuf_free(&b);
done:
    free(text);
    free(src);
    free(dst);
    return st;
}

xai_status xai_publish_all(const char *results, const char *const *names, int n)
{
    XAI_TRY(readme_copy(results));
    /* Each experiment's export stage already rendered its own figures. */
    XAI_TRY(xai_figures_cross(results, names, n, NULL, stderr));
    return xai_report_write(results, names, n);
}

xai_status xai_publish_bundle(const char *results, const char *const *names, int n)
{
    return xai_bundle_write(results, NULL, names, n);
}
