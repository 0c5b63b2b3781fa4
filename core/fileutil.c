/* fileutil.c: small file-system helpers shared by every stage.
 * Writers go through a temp name and rename, so a crash never leaves a half file. */
#include "core/base.h"
#include "core/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

xai_status xai_mkdirs(const char *path)
{
    char *p = xai_strdup(path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                xai_status st = xai_fail(XAI_EIO, "%s: cannot create directory: %s", p, strerror(errno));
                free(p);
                return st;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    return XAI_OK;
}

int xai_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *xai_path_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *r = xai_malloc(na + nb + 2);
    memcpy(r, a, na);
    size_t k = na;
    if (na && a[na - 1] != '/') r[k++] = '/';
    memcpy(r + k, b, nb + 1);
    return r;
}

xai_status xai_read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return xai_fail(errno == ENOENT ? XAI_ENOTFOUND : XAI_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = xai_malloc(cap + 1);
    for (;;) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        char *nb = xai_malloc(2 * cap + 1);
        memcpy(nb, buf, n);
        free(buf);
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return xai_fail(XAI_EIO, "%s: read error", path);
    }
    buf[n] = 0;
    *data = buf;
    if (len) *len = n;
    return XAI_OK;
}

xai_status xai_write_file_atomic(const char *path, const void *data, size_t len)
{
    size_t n = strlen(path) + 32;
    char *tmp = xai_malloc(n);
    snprintf(tmp, n, "%s.tmp.%d", path, (int)getpid());
    xai_status s = XAI_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        s = xai_fail(XAI_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    for (const char *p = data, *end = p + len; p < end;) {
        ssize_t w = write(fd, p, (size_t)(end - p));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            s = xai_fail(XAI_EIO, "%s: write failed: %s", tmp, strerror(errno));
            goto done;
        }
        p += w;
    }
    fsync(fd);
    if (rename(tmp, path) != 0) s = xai_fail(XAI_EIO, "%s: cannot rename from %s: %s", path, tmp, strerror(errno));
done:
    if (fd >= 0) close(fd);
    if (s != XAI_OK && fd >= 0) unlink(tmp);
    free(tmp);
    return s;
}
