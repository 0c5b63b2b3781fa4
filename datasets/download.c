/* download.c: resumable, verified downloads with libcurl (http, https and file:// mirrors).
 * A download lives at "<dest>.part" until its checksum matches; only then is it renamed into place. */
#include "datasets/datasets.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ATTEMPTS 5       /* first try + 4 retries, waiting 1, 2, 4, 8 s */
#define TEXT_MAX (16u << 20) /* SHA256SUMS and the like */

static const char *MIRROR_HINT = "To use a local copy instead, pass --mirror PATH|URL or set XAI_MIRROR.";

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

xai_status xai_verify_fd(int fd, const char *name, const char *expect_sha256, const char *expect_md5,
                         const char *source, char got_sha256[65])
{
    XAI_CHECK(expect_sha256 || expect_md5);
    char md5[33];
    XAI_TRY(xai_hash_fd(fd, name, got_sha256, expect_md5 ? md5 : NULL));
    if (expect_sha256 && strcmp(expect_sha256, got_sha256) != 0)
        return xai_fail(XAI_ECHECKSUM, "%s: checksum mismatch (source: %s): expected sha256 %s, got %s", name, source,
                        expect_sha256, got_sha256);
    if (expect_md5 && strcmp(expect_md5, md5) != 0)
        return xai_fail(XAI_ECHECKSUM, "%s: checksum mismatch (source: %s): expected md5 %s, got %s", name, source,
                        expect_md5, md5);
    return XAI_OK;
}

/* Hashes `path`, reporting mismatches under the name `shown` (a download is
 * checked under its temporary name but the user knows the final one). */
static xai_status verify_as(const char *path, const char *shown, const char *expect_sha256, const char *expect_md5,
                            const char *source, char got_sha256[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xai_fail(errno == ENOENT ? XAI_ENOTFOUND : XAI_EIO, "%s: cannot open: %s", path, strerror(errno));
    xai_status s = xai_verify_fd(fd, shown, expect_sha256, expect_md5, source, got_sha256);
    close(fd);
    return s;
}

xai_status xai_verify_file(const char *path, const char *expect_sha256, const char *expect_md5, const char *source,
                           char got_sha256[65])
{
    return verify_as(path, path, expect_sha256, expect_md5, source, got_sha256);
}

/* Where one transfer attempt writes: a file opened for appending, or memory. */
typedef struct {
    CURL *c;
    int fd;              /* -1: memory sink */
    char *mem;
    size_t mlen, mcap;
    curl_off_t offset;   /* bytes already in the file when the attempt started */
    int checked, werr;
    xai_progress pr;
    int pstarted;
    const char *label;
} sink_t;

static size_t on_write(char *p, size_t sz, size_t n, void *ud)
{
    sink_t *s = ud;
    size_t len = sz * n;
    if (!s->checked) {
        s->checked = 1;
        long code = 0;
        curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &code);
        /* A server that ignores our Range header sends the whole file again. */
        if (s->fd >= 0 && s->offset > 0 && code == 200) {
            if (ftruncate(s->fd, 0) != 0) {
                s->werr = errno;
                return 0;
            }
            s->offset = 0;
        }
    }
    if (s->fd < 0) {
        if (s->mlen + len + 1 > TEXT_MAX) {
            s->werr = EFBIG;
            return 0;
        }
        if (s->mlen + len + 1 > s->mcap) {
            size_t nc = (s->mlen + len + 1) * 2;
            char *nm = realloc(s->mem, nc);
            if (!nm) {
                s->werr = ENOMEM;
                return 0;
            }
            s->mem = nm;
            s->mcap = nc;
        }
        memcpy(s->mem + s->mlen, p, len);
        s->mlen += len;
        s->mem[s->mlen] = 0;
        return len;
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = write(s->fd, p + done, len - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            s->werr = errno;
            return 0;
        }
        done += (size_t)w;
    }
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)ultotal, (void)ulnow;
    sink_t *s = ud;
    if (s->fd < 0 || dltotal <= 0) return 0;
    if (!s->pstarted) {
        xai_progress_start(&s->pr, s->label, (double)(s->offset + dltotal) / 1e6, "MB");
        s->pstarted = 1;
    }
    xai_progress_update(&s->pr, (double)(s->offset + dlnow) / 1e6);
    return 0;
}

typedef enum { T_OK, T_RETRY, T_FAIL } outcome;

/* Turns a finished attempt into ok / retry / give up, with a status and a
 * human explanation for the last two. */
static outcome classify(CURLcode rc, long http, int resumed, xai_status *st, char *why, size_t cap, const char *ebuf)
{
    const char *detail = ebuf && *ebuf ? ebuf : curl_easy_strerror(rc);
    if (rc == CURLE_OK) return T_OK;
    if (rc == CURLE_HTTP_RETURNED_ERROR) {
        if (http == 416 && resumed) return T_OK; /* nothing left to fetch; the checksum will tell */
        if (http == 408 || http == 429 || http >= 500) {
            *st = XAI_ENET;
            snprintf(why, cap, "server error (HTTP %ld)", http);
            return T_RETRY;
        }
        *st = http == 404 || http == 410 ? XAI_ENOTFOUND : XAI_ENET;
        snprintf(why, cap, "%s (HTTP %ld)", http == 404 ? "not found on the server" : http == 403 ? "access denied" : "refused by the server", http);
        return T_FAIL;
    }
    *st = XAI_ENET;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        snprintf(why, cap, "transfer interrupted: %s", detail);
        return T_RETRY;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(why, cap, "DNS lookup failed (%s): no network, or a wrong host name", detail);
        return T_FAIL;
    case CURLE_COULDNT_CONNECT:
        snprintf(why, cap, "cannot connect (%s): no network, or the server is down", detail);
        return T_FAIL;
    case CURLE_FILE_COULDNT_READ_FILE:
        *st = XAI_ENOTFOUND;
        snprintf(why, cap, "no such file (%s)", detail);
        return T_FAIL;
    case CURLE_WRITE_ERROR:
        *st = XAI_EIO;
        snprintf(why, cap, "cannot write the download (disk full?)");
        return T_FAIL;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        *st = XAI_EINVAL;
        snprintf(why, cap, "bad URL (%s); supported: http://, https://, file:// or a plain path", detail);
        return T_FAIL;
    default:
        snprintf(why, cap, "%s", detail);
        return T_FAIL;
    }
}

/* Runs attempts with backoff until success or a permanent failure. fd >= 0:
 * appends to that file, resuming from its current size. */
static xai_status transfer(const char *url, int fd, sink_t *s, const char *label, int upstream_hint)
{
    pthread_once(&curl_once, curl_init);
    char ebuf[CURL_ERROR_SIZE], why[512], ua[64];
    snprintf(ua, sizeof ua, "xai-repro/%s", XAI_VERSION);
    xai_status st = XAI_ENET;
    for (int attempt = 1;; attempt++) {
        CURL *c = curl_easy_init();
        if (!c) return xai_fail(XAI_ENOMEM, "%s: cannot initialise libcurl", url);
        s->c = c;
        s->fd = fd;
        s->checked = s->werr = 0;
        s->offset = 0;
        s->label = label;
        if (fd >= 0) {
            struct stat sb;
            if (fstat(fd, &sb) == 0) s->offset = sb.st_size;
        } else {
            s->mlen = 0;
        }
        ebuf[0] = 0;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        /* A stalled connection (under 1 kB/s for a minute) is retried and resumed. */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        if (s->offset > 0) curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, s->offset);
        int resumed = s->offset > 0;
        if (resumed && !xai_quiet)
            fprintf(stderr, "%s: resuming an interrupted download at %.1f MB\n", label, (double)s->offset / 1e6);
        CURLcode rc = curl_easy_perform(c);
        long http = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
        curl_easy_cleanup(c);
        if (s->pstarted) {
            xai_progress_end(&s->pr, rc == CURLE_OK ? NULL : "interrupted");
            s->pstarted = 0;
        }
        if (s->werr) {
            if (s->werr == EFBIG)
                return xai_fail(XAI_EFORMAT, "%s: larger than %u bytes; not a checksum list", url, TEXT_MAX);
            return xai_fail(XAI_EIO, "%s: cannot write the download: %s", label, strerror(s->werr));
        }
        /* The file is shorter than what we have, or the server cannot send
         * ranges (libcurl stops when a 200 answers our range): start over. */
        if ((rc == CURLE_BAD_DOWNLOAD_RESUME || rc == CURLE_RANGE_ERROR) && fd >= 0 && resumed) {
            if (!xai_quiet) fprintf(stderr, "%s: cannot resume (%s); downloading from the start\n", label, curl_easy_strerror(rc));
            if (ftruncate(fd, 0) != 0) return xai_fail(XAI_EIO, "%s: cannot truncate: %s", label, strerror(errno));
            continue;
        }
        outcome o = classify(rc, http, resumed, &st, why, sizeof why, ebuf);
        if (o == T_OK) return XAI_OK;
        if (o == T_FAIL || attempt >= MAX_ATTEMPTS) break;
        int wait = 1 << (attempt - 1);
        fprintf(stderr, "%s: %s; retrying in %d s (attempt %d of %d)\n", label, why, wait, attempt + 1, MAX_ATTEMPTS);
        sleep((unsigned)wait);
    }
    for (size_t n = strlen(why); n > 0 && (why[n - 1] == '.' || why[n - 1] == ' '); n--) why[n - 1] = 0;
    return xai_fail(st, "cannot download %s: %s.%s%s", url, why, upstream_hint ? " " : "",
                    upstream_hint ? MIRROR_HINT : "");
}

xai_status xai_download_text(const char *url, char **text, size_t *len)
{
    sink_t s;
    memset(&s, 0, sizeof s);
    xai_status st = transfer(url, -1, &s, url, 0);
    if (st != XAI_OK) {
        free(s.mem);
        return st;
    }
    if (!s.mem) s.mem = xai_calloc(1, 1);
    *text = s.mem;
    if (len) *len = s.mlen;
    return XAI_OK;
}

xai_status xai_download(const char *url, const char *dest, const char *expect_sha256, const char *expect_md5,
                        const char *source, int upstream_hint, char got_sha256[65])
{
    size_t n = strlen(dest) + 8;
    char *part = xai_malloc(n);
    snprintf(part, n, "%s.part", dest);
    int fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        xai_status s = xai_fail(XAI_EIO, "%s: cannot create: %s", part, strerror(errno));
        free(part);
        return s;
    }
    /* Two fetches appending to one .part would interleave bytes. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        xai_status s = xai_fail(XAI_ESTATE, "%s: another xai process is downloading this file right now", part);
        free(part);
        return s;
    }
    const char *base = strrchr(dest, '/') ? strrchr(dest, '/') + 1 : dest;
    char label[128];
    snprintf(label, sizeof label, "%s", base);
    sink_t sk;
    memset(&sk, 0, sizeof sk);
    xai_status s = XAI_OK;
    for (int round = 0; round < 2; round++) {
        struct stat sb;
        int had = fstat(fd, &sb) == 0 && sb.st_size > 0;
        s = transfer(url, fd, &sk, label, upstream_hint);
        if (s != XAI_OK) {
            /* Keep a partial file for resuming after a network failure; a file
             * the server does not have (or an empty .part) is of no use. */
            if (s != XAI_ENET || (fstat(fd, &sb) == 0 && sb.st_size == 0)) unlink(part);
            break;
        }
        char src[1200];
        snprintf(src, sizeof src, "%s; the download was deleted", source);
        s = verify_as(part, dest, expect_sha256, expect_md5, src, got_sha256);
        if (s == XAI_OK) {
            if (rename(part, dest) != 0) s = xai_fail(XAI_EIO, "%s: cannot rename from %s: %s", dest, part, strerror(errno));
            break;
        }
        if (s == XAI_ECHECKSUM && had && round == 0) {
            /* The kept prefix may come from another version of the file. */
            fprintf(stderr, "%s: resumed download does not verify; downloading it again from the start\n", label);
            if (ftruncate(fd, 0) != 0) {
                s = xai_fail(XAI_EIO, "%s: cannot truncate: %s", part, strerror(errno));
                unlink(part);
                break;
            }
            continue;
        }
        unlink(part); /* never leave an unverifiable file that a later run could resume */
        break;
    }
    close(fd);
    free(part);
    return s;
}
