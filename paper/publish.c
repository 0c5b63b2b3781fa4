/* publish.c: the pipeline's last steps: cross-dataset figures, the report, the bundle.
 * Thin glue between `xai reproduce` and paper/publish.h. */
#include "paper/publish.h"

xai_status xai_publish_all(const char *results, const char *const *names, int n)
{
    /* Each experiment's export stage already rendered its own figures. */
    XAI_TRY(xai_figures_cross(results, names, n, NULL, stderr));
    return xai_report_write(results, names, n);
}

xai_status xai_publish_bundle(const char *results, const char *const *names, int n)
{
    return xai_bundle_write(results, NULL, names, n);
}
