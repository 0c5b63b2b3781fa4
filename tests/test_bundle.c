/* test_bundle.c: the artefact zip holds the configs, summaries, figures, provenance and report, and
 * a manifest whose SHA-256 of every member matches the member; written atomically, reproducibly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datasets/datasets.h"
#include "test_export_fixture.h"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>

static void put(const char *dir, const char *name, const char *text)
{
    assert_int_equal(xai_mkdirs(dir), XAI_OK);
    char *p = xai_path_join(dir, name);
    assert_int_equal(xai_write_file_atomic(p, text, strlen(text)), XAI_OK);
    free(p);
}

/* repo/experiments/{a,b}.ini, results/{report.md, report.html, README.md, provenance.json,
 * figures/aopc.png}, results/alpha/{summary.csv, provenance.json, figures/heatmaps.png, model.h5}. */
static void make_tree(const char *top, char **repo, char **results)
{
    *repo = xai_path_join(top, "repo");
    *results = xai_path_join(top, "results");
    char *cfg = xai_path_join(*repo, "experiments");
    put(cfg, "a.ini", "[experiment]\nname = a\n");
    put(cfg, "b.ini", "[experiment]\nname = b\n");
    put(cfg, "notes.txt", "not a config\n");
    put(*results, "report.md", "# report\n");
    put(*results, "report.html", "<!DOCTYPE html>\n");
    put(*results, "README.md", "# layout\n");
    put(*results, "provenance.json", "{\"cpu\": \"x\"}\n");
    char *figs = xai_path_join(*results, "figures");
    put(figs, "aopc.png", "\x89PNG fake aopc");
    put(figs, "aopc.png.tmp.123", "half-written");
    char *alpha = xai_path_join(*results, "alpha");
    put(alpha, "summary.csv", "label,method\nalpha,ig\n");
    put(alpha, "provenance.json", "{\"stage\": \"train\"}\n");
    put(alpha, "model.h5", "big binary results are not bundled");
    char *af = xai_path_join(alpha, "figures");
    put(af, "heatmaps.png", "\x89PNG fake heatmaps");
    put(af, "heatmaps.pdf", "%PDF fake");
    free(af);
    free(alpha);
    free(figs);
    free(cfg);
}

static char *member_text(zip_t *z, const char *name, zip_uint64_t *len)
{
    zip_stat_t st;
    if (zip_stat(z, name, 0, &st) != 0) return NULL;
    zip_file_t *f = zip_fopen(z, name, 0);
    assert_non_null(f);
    char *buf = xai_malloc(st.size + 1);
    zip_int64_t r = zip_fread(f, buf, st.size);
    assert_int_equal(r, (zip_int64_t)st.size);
    buf[st.size] = 0;
    zip_fclose(f);
    *len = st.size;
    return buf;
}

static void test_bundle_manifest(void **state)
{
    (void)state;
    char *top = fx_tmpdir(), *repo, *results;
    make_tree(top, &repo, &results);
    const char *exps[1] = {"alpha"};
    assert_int_equal(xai_bundle_write(results, repo, exps, 1), XAI_OK);
    char *zp = xai_path_join(results, "xai-repro-artifact.zip");
    int err = 0;
    zip_t *z = zip_open(zp, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    assert_non_null(z);
    zip_uint64_t mlen;
    char *manifest = member_text(z, "MANIFEST.sha256", &mlen);
    assert_non_null(manifest);
    const char *want[] = {"configs/a.ini", "configs/b.ini", "report.md", "report.html", "README.md",
                          "provenance.json", "figures/aopc.png", "alpha/summary.csv", "alpha/provenance.json",
                          "alpha/figures/heatmaps.png", "alpha/figures/heatmaps.pdf"};
    int nwant = (int)(sizeof want / sizeof *want);
    /* Every member but the manifest is listed once, with the hash of its bytes in the zip. */
    assert_int_equal(zip_get_num_entries(z, 0), nwant + 1);
    int lines = 0;
    char prev[256] = "";
    for (char *line = manifest, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = 0;
        assert_true(strlen(line) > 66);
        assert_true(line[64] == ' ' && line[65] == ' ');
        const char *name = line + 66;
        assert_true(strcmp(prev, name) < 0); /* sorted, no duplicates */
        snprintf(prev, sizeof prev, "%s", name);
        zip_uint64_t len;
        char *data = member_text(z, name, &len);
        assert_non_null(data);
        char hex[65];
        xai_sha256_hex(data, len, hex);
        assert_memory_equal(hex, line, 64);
        free(data);
        int found = 0;
        for (int i = 0; i < nwant; i++) found |= !strcmp(want[i], name);
        assert_true(found);
        lines++;
    }
    assert_int_equal(lines, nwant);
    /* Content survives: the member is the file. */
    zip_uint64_t len;
    char *csv = member_text(z, "alpha/summary.csv", &len);
    assert_string_equal(csv, "label,method\nalpha,ig\n");
    free(csv);
    /* Not bundled: result files, unrelated files, temporary files. */
    assert_true(zip_name_locate(z, "alpha/model.h5", 0) < 0);
    assert_true(zip_name_locate(z, "configs/notes.txt", 0) < 0);
    assert_true(zip_name_locate(z, "figures/aopc.png.tmp.123", 0) < 0);
    zip_close(z);
    free(manifest);
    /* No temporary zip is left. */
    DIR *d = opendir(results);
    struct dirent *e;
    while ((e = readdir(d))) assert_null(strstr(e->d_name, "zip.tmp"));
    closedir(d);
    free(zp);
    free(repo);
    free(results);
    fx_rmtree(top);
    free(top);
}

/* With SOURCE_DATE_EPOCH the same inputs give the same bytes. */
static void test_bundle_reproducible(void **state)
{
    (void)state;
    char *top = fx_tmpdir(), *repo, *results;
    make_tree(top, &repo, &results);
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    const char *exps[1] = {"alpha"};
    char *zp = xai_path_join(results, "xai-repro-artifact.zip");
    char *one = NULL, *two = NULL;
    size_t n1 = 0, n2 = 0;
    assert_int_equal(xai_bundle_write(results, repo, exps, 1), XAI_OK);
    assert_int_equal(xai_read_file(zp, &one, &n1), XAI_OK);
    /* Every member carries the given time (not the clock's, not the files'), so a later
     * second cannot change a byte; checked directly rather than by sleeping past a tick. */
    int err = 0;
    zip_t *z = zip_open(zp, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    assert_non_null(z);
    for (zip_int64_t i = 0; i < zip_get_num_entries(z, 0); i++) {
        zip_stat_t st;
        assert_int_equal(zip_stat_index(z, (zip_uint64_t)i, 0, &st), 0);
        assert_true(st.valid & ZIP_STAT_MTIME);
        assert_int_equal((long long)st.mtime, 1700000000LL);
    }
    zip_close(z);
    assert_int_equal(xai_bundle_write(results, repo, exps, 1), XAI_OK);
    assert_int_equal(xai_read_file(zp, &two, &n2), XAI_OK);
    unsetenv("SOURCE_DATE_EPOCH");
    assert_int_equal(n1, n2);
    assert_memory_equal(one, two, n1);
    free(one);
    free(two);
    free(zp);
    free(repo);
    free(results);
    fx_rmtree(top);
    free(top);
}

static void test_bundle_errors(void **state)
{
    (void)state;
    char *top = fx_tmpdir(), *repo, *results;
    make_tree(top, &repo, &results);
    char *missing = xai_path_join(top, "nothere");
    const char *exps[1] = {"alpha"};
    assert_int_equal(xai_bundle_write(missing, repo, exps, 1), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "nothere"));
    const char *evil[1] = {"../repo"};
    assert_int_equal(xai_bundle_write(results, repo, evil, 1), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "../repo"));
    assert_false(fx_exists(results, "xai-repro-artifact.zip"));
    /* An empty results directory and no configs: nothing to bundle, said so. */
    char *empty = xai_path_join(top, "empty");
    assert_int_equal(xai_mkdirs(empty), XAI_OK);
    assert_int_equal(xai_bundle_write(empty, empty, NULL, 0), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "nothing to bundle"));
    assert_false(fx_exists(empty, "xai-repro-artifact.zip"));
    free(empty);
    free(missing);
    free(repo);
    free(results);
    fx_rmtree(top);
    free(top);
}

/* Issue 12: a zip temporary left by a killed run ("<zip>.tmp.<dead pid>") is removed by the next
 * bundle; one of a running process is kept. */
static void test_bundle_stale_tmp(void **state)
{
    (void)state;
    char *top = fx_tmpdir(), *repo, *results;
    make_tree(top, &repo, &results);
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    char stale[1024], live[1024];
    snprintf(stale, sizeof stale, "%s/xai-repro-artifact.zip.tmp.%d", results, (int)pid);
    snprintf(live, sizeof live, "%s/xai-repro-artifact.zip.tmp.%d", results, (int)getppid());
    FILE *f = fopen(stale, "w");
    fputs("half a zip", f);
    fclose(f);
    f = fopen(live, "w");
    fclose(f);
    const char *exps[1] = {"alpha"};
    assert_int_equal(xai_bundle_write(results, repo, exps, 1), XAI_OK);
    assert_false(xai_file_exists(stale));
    assert_true(xai_file_exists(live));
    unlink(live);
    free(repo), free(results), free(top);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_manifest),
        cmocka_unit_test(test_bundle_reproducible),
        cmocka_unit_test(test_bundle_errors),
        cmocka_unit_test(test_bundle_stale_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
