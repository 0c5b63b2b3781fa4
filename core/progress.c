/* progress.c: progress bars with rate and ETA on a terminal, plain log lines otherwise.
 * Output goes to stderr so stdout stays machine-readable (bench figures, info). */
#include "core/base.h"
#include "core/io.h"

#include <stdlib.h>
#include <unistd.h>

int xai_quiet;

void xai_fmt_duration(char *buf, size_t n, double s)
{
    if (s < 0 || s > 1e7) snprintf(buf, n, "--:--");
    else if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else snprintf(buf, n, "%02d:%02d", (int)s / 60, (int)s % 60);
}

/* Where bars go: stderr, or the terminal descriptor named by XAI_PROGRESS_FD when `xai reproduce`
 * sends a stage's messages to its log and shows only the bar; such a bar is wiped when it ends,
 * since the stage's line above it says what ran. */
static FILE *bar_stream(int *transient)
{
    static FILE *f;
    static int checked, wipe;
    if (!checked) {
        checked = 1;
        const char *e = getenv("XAI_PROGRESS_FD");
        char *end = NULL;
        long fd = e && *e ? strtol(e, &end, 10) : -1;
        if (fd > 2 && fd < 65536 && end && !*end && isatty((int)fd)) f = fdopen((int)fd, "w");
        wipe = f != NULL;
        if (!f) f = stderr;
    }
    *transient = wipe;
    return f;
}

void xai_progress_start(xai_progress *p, const char *label, double total, const char *unit)
{
    p->label = label;
    p->unit = unit ? unit : "";
    p->total = total;
    p->done = 0;
    p->t0 = p->last = xai_now();
    p->out = bar_stream(&p->transient);
    p->tty = isatty(fileno(p->out));
    p->active = !xai_quiet;
}

static void draw(xai_progress *p, int final)
{
    double el = xai_now() - p->t0, rate = el > 0 ? p->done / el : 0;
    double eta = rate > 0 ? (p->total - p->done) / rate : -1;
    char e1[32], e2[32];
    xai_fmt_duration(e1, sizeof e1, el);
    xai_fmt_duration(e2, sizeof e2, eta);
    double frac = p->total > 0 ? p->done / p->total : 0;
    if (frac > 1) frac = 1;
    if (p->tty) {
        char bar[31];
        int w = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < w ? '#' : '.';
        bar[30] = 0;
        if (final && p->transient) fprintf(p->out, "\r\033[K");
        else
            fprintf(p->out, "\r%-18s [%s] %5.1f%% %.4g/%.4g %s %.4g %s/s elapsed %s eta %s\033[K", p->label, bar,
                    100 * frac, p->done, p->total, p->unit, rate, p->unit, e1, final ? "00:00" : e2);
        if (final && !p->transient) fputc('\n', p->out);
    } else {
        fprintf(p->out, "%s: %.1f%% (%.6g/%.6g %s, %.4g %s/s, elapsed %s, eta %s)\n", p->label, 100 * frac, p->done,
                p->total, p->unit, rate, p->unit, e1, final ? "00:00" : e2);
    }
    fflush(p->out);
}

void xai_progress_update(xai_progress *p, double done)
{
    if (!p->active) return;
    p->done = done;
    double now = xai_now();
    /* Redraw a terminal 5 times a second; log a plain line every 10 seconds. */
    if (now - p->last < (p->tty ? 0.2 : 10.0)) return;
    p->last = now;
    draw(p, 0);
}

void xai_progress_end(xai_progress *p, const char *summary)
{
    if (!p->active) return;
    if (p->tty) {
        p->done = p->total;
        draw(p, 1);
    }
    if (summary) fprintf(stderr, "%s: %s\n", p->label, summary);
}
