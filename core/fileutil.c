/* fileutil.c: small file-system helpers shared by every stage.
 * Writers go through a temp name and rename, so a crash never leaves a half file. */
#include "core/base.h"
#include "core/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
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
    return xai_read_file_max(path, SIZE_MAX, data, len);
}

xai_status xai_read_file_max(const char *path, size_t max, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return xai_fail(errno == ENOENT ? XAI_ENOTFOUND : XAI_EIO, "%s: cannot open: %s", path, strerror(errno));
    xai_status s = xai_read_fd_max(fd, path, max, data, len);
    close(fd);
    return s;
}

xai_status xai_read_fd_max(int fd, const char *name, size_t max, char **data, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = xai_malloc(cap + 1);
    xai_status s = XAI_OK;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            s = xai_fail(XAI_EIO, "%s: read error: %s", name, strerror(errno));
            goto done;
        }
        n += (size_t)r;
        /* Checked before growing: a device like /dev/zero never ends. */
        if (n > max) {
            s = xai_fail(XAI_EINVAL, "%s: larger than %zu bytes, the most this file may have", name, max);
            goto done;
        }
        if (r == 0) break;
        if (n < cap) continue;
        char *nb = xai_malloc(2 * cap + 1);
        memcpy(nb, buf, n);
        free(buf);
        buf = nb;
        cap *= 2;
    }
done:
    if (s != XAI_OK) {
        free(buf);
        return s;
    }
    buf[n] = 0;
    *data = buf;
    if (len) *len = n;
    return XAI_OK;
}

xai_status xai_output_not_input(const char *out_opt, const char *out, const char *in_opt, const char *in)
{
    if (!out || !in) return XAI_OK;
    struct stat so, si;
    /* An output that does not exist yet cannot be an input; stat follows links, so a
     * symlink, a hard link or another spelling of the same file is caught too. */
    int same = stat(out, &so) == 0 && stat(in, &si) == 0 && so.st_dev == si.st_dev && so.st_ino == si.st_ino;
    if (!same) {
        char *ro = realpath(out, NULL), *ri = realpath(in, NULL);
        same = ro && ri && !strcmp(ro, ri);
        free(ro);
        free(ri);
    }
    if (same)
        return xai_fail(XAI_EINVAL, "%s %s is the same file as %s %s: refusing to overwrite an input", out_opt, out,
                        in_opt, in);
    return XAI_OK;
}

/* "<real path of the parent>/<name>": the same for every spelling of a path whose file need not
 * exist yet (a link as the last component is not followed). malloc'd; NULL when the parent is missing. */
static char *resolved_name(const char *path)
{
    char *d = xai_strdup(path), *b = xai_strdup(path);
    char *rd = realpath(dirname(d), NULL), *r = rd ? xai_path_join(rd, basename(b)) : NULL;
    free(rd), free(d), free(b);
    return r;
}

xai_status xai_outputs_differ(const char *opt1, const char *p1, const char *opt2, const char *p2)
{
    if (!p1 || !p2) return XAI_OK;
    XAI_TRY(xai_output_not_input(opt1, p1, opt2, p2));
    char *r1 = resolved_name(p1), *r2 = resolved_name(p2);
    int same = r1 && r2 && !strcmp(r1, r2);
    free(r1), free(r2);
    if (same) return xai_fail(XAI_EINVAL, "%s %s and %s %s are the same file: one output would overwrite the other",
                              opt1, p1, opt2, p2);
    return XAI_OK;
}

/* "<base><infix><pid>" -> pid, else 0. */
static long tmp_pid(const char *name, const char *base, const char *infix)
{
    size_t nb = strlen(base), ni = strlen(infix);
    if (strncmp(name, base, nb) || strncmp(name + nb, infix, ni)) return 0;
    const char *p = name + nb + ni;
    char *end;
    errno = 0;
    long pid = strtol(p, &end, 10);
    if (errno || end == p || *end || *p < '1' || *p > '9' || pid <= 0 || pid > INT32_MAX) return 0;
    return pid;
}

static void unlink_one(const char *p) { unlink(p); }

/* A pid that kill() still finds may be a zombie (a killed MPI rank whose launcher exited before
 * reaping it): it writes nothing any more, so its temporaries are stale. Linux's /proc tells. */
static int pid_alive(long pid)
{
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *state = strrchr(buf, ')'); /* "pid (comm) S ...": comm may hold spaces and ')' */
    return !(state && (state[1] == ' ') && (state[2] == 'Z' || state[2] == 'X'));
}

int xai_remove_stale_tmp(const char *path) { return xai_remove_stale(path, ".tmp.", unlink_one); }

int xai_remove_stale(const char *path, const char *infix, void (*remove_fn)(const char *))
{
    char *d = xai_strdup(path), *b = xai_strdup(path);
    const char *dir = dirname(d), *base = basename(b);
    int removed = 0;
    DIR *dh = opendir(dir);
    struct dirent *de;
    while (dh && (de = readdir(dh))) {
        long pid = tmp_pid(de->d_name, base, infix);
        /* A live pid (even one reused by another program) keeps its file: never remove a
         * temporary that someone may still be writing. */
        if (!pid || pid == (long)getpid() || pid_alive(pid)) continue;
        char *p = xai_path_join(dir, de->d_name);
        remove_fn(p);
        removed += !xai_file_exists(p);
        free(p);
    }
    if (dh) closedir(dh);
    free(d);
    free(b);
    return removed;
}

xai_status xai_write_file_atomic(const char *path, const void *data, size_t len)
{
    size_t n = strlen(path) + 32;
    char *tmp = xai_malloc(n);
    xai_remove_stale_tmp(path);
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
