/* config.c: experiment INI files, read with libinih, with line numbers kept.
 * Every getter's error names file:line, the key, the bad value and what was expected. */
#include "core/base.h"
#include "core/config.h"
#include "core/io.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    xai_config *c;
    const char *cursor; /* next unread line of the text, to recover line numbers */
    int lineno;
} parse_state;

/* libinih reports entries in file order but not their lines; walk the text to
 * the next line that holds an entry. */
static int next_entry_line(parse_state *ps)
{
    while (*ps->cursor) {
        const char *l = ps->cursor;
        const char *nl = strchr(l, '\n');
        ps->cursor = nl ? nl + 1 : l + strlen(l);
        ps->lineno++;
        while (*l == ' ' || *l == '\t' || *l == '\r') l++;
        if (*l == '\n' || *l == 0 || *l == ';' || *l == '#' || *l == '[') continue;
        return ps->lineno;
    }
    return ps->lineno;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_state *ps = user;
    xai_config *c = ps->c;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 32;
        c->e = realloc(c->e, c->cap * sizeof *c->e);
        XAI_CHECK(c->e);
    }
    xai_config_entry *e = &c->e[c->n++];
    e->section = xai_strdup(section);
    e->key = xai_strdup(name);
    e->value = xai_strdup(value ? value : "");
    e->line = next_entry_line(ps);
    return 1;
}

/* The sections an experiment config may have, and the keys of those checked here (NULL: the
 * keys are checked by the section's reader: [train] by the trainer, [explain]/[evaluate]/
 * [quick-evaluate]/[full-evaluate]/[seed-evaluate]/[confound] by the command options they become;
 * experiments/README.md). A typo must never mean a default. */
static const char *const experiment_keys[] = {"name", "dataset", "seed", "size", NULL};
static const char *const model_keys[] = {"input", "classes", "layer", NULL};
static const char *const quick_keys[] = {"train-limit", "epochs", "n", "seeds", NULL};
static const char *const full_keys[] = {"n", "seeds", "epochs", NULL};
static const struct {
    const char *name;
    const char *const *keys;
} sections[] = {{"experiment", experiment_keys}, {"model", model_keys}, {"train", NULL},       {"explain", NULL},
                {"evaluate", NULL},             {"quick", quick_keys}, {"quick-evaluate", NULL},
                {"full", full_keys},            {"full-evaluate", NULL}, {"seed-evaluate", NULL},
                {"confound", NULL}};
#define NSECTIONS (int)(sizeof sections / sizeof *sections)

static int section_index(const char *name, size_t len)
{
    for (int i = 0; i < NSECTIONS; i++)
        if (strlen(sections[i].name) == len && !strncmp(sections[i].name, name, len)) return i;
    return -1;
}

/* What libinih would read differently from what the file says: a NUL ends its text early, a
 * line longer than its buffer is split into two lines, an indented line continues the previous
 * value; and a section that nobody reads. Each is an error naming file:line. */
static xai_status check_text(const char *text, size_t len, const char *name)
{
    int line = 1;
    for (const char *l = text, *end = text + len; l < end; line++) {
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        const char *le = nl ? nl : end;
        const char *nul = memchr(l, 0, (size_t)(le - l));
        if (nul)
            return xai_fail(XAI_EFORMAT, "%s:%d: NUL byte in the file (not a text config)", name, line);
        if (le - l > XAI_CONFIG_MAX_LINE)
            return xai_fail(XAI_EFORMAT, "%s:%d: line of %td characters, longer than the %d a config line may have",
                            name, line, le - l, XAI_CONFIG_MAX_LINE);
        const char *p = l;
        while (p < le && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
        int blank = p == le || *p == ';' || *p == '#';
        if (!blank && p > l)
            return xai_fail(XAI_EFORMAT,
                            "%s:%d: indented line (continuation lines are not supported; remove the indent)", name,
                            line);
        if (!blank && *p == '[') {
            const char *close = memchr(p, ']', (size_t)(le - p));
            if (close && section_index(p + 1, (size_t)(close - p - 1)) < 0)
                return xai_fail(XAI_EFORMAT,
                                "%s:%d: unknown section [%.*s] (expected experiment, model, train, explain, "
                                "evaluate, quick, quick-evaluate, full, full-evaluate, seed-evaluate or confound)",
                                name, line, (int)(close - p - 1), p + 1);
        }
        l = le + 1;
    }
    return XAI_OK;
}

/* [experiment] name becomes a directory under results/: one plain path component. */
static int name_ok(const char *v)
{
    if (!*v || !strcmp(v, ".") || !strcmp(v, "..")) return 0;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') return 0;
    return 1;
}

static xai_status check_entries(const xai_config *c)
{
    for (int i = 0; i < c->n; i++) {
        const xai_config_entry *e = &c->e[i];
        int k = section_index(e->section, strlen(e->section));
        if (k < 0) /* unreachable after check_text, unless a section header hides in a split line */
            return xai_fail(XAI_EFORMAT, "%s:%d: unknown section [%s]", c->path, e->line, e->section);
        const char *const *keys = sections[k].keys;
        int known = !keys;
        for (int j = 0; keys && keys[j]; j++) known |= !strcmp(keys[j], e->key);
        if (!known)
            return xai_fail(XAI_EFORMAT, "%s:%d: unknown key '%s' in [%s]", c->path, e->line, e->key, e->section);
        if (k == 0 && !strcmp(e->key, "name") && !name_ok(e->value))
            return xai_fail(XAI_EINVAL,
                            "%s:%d: [experiment] name = '%s': expected letters, digits, '.', '_' or '-' "
                            "(it names a directory under results/)",
                            c->path, e->line, e->value);
    }
    return XAI_OK;
}

static xai_status load_text(xai_config *c, const char *text, size_t len, const char *name)
{
    memset(c, 0, sizeof *c);
    XAI_TRY(check_text(text, len, name));
    c->path = xai_strdup(name);
    c->text = xai_strdup(text);
    parse_state ps = {c, c->text, 0};
    int r = ini_parse_string(c->text, handler, &ps);
    xai_status s = XAI_OK;
    if (r != 0) {
        s = xai_fail(XAI_EFORMAT, "%s:%d: cannot parse this line (expected `key = value` or `[section]`)", name, r);
        goto done;
    }
    s = check_entries(c);
done:
    if (s != XAI_OK) xai_config_free(c);
    return s;
}

xai_status xai_config_load_string(xai_config *c, const char *text, const char *name)
{
    return load_text(c, text, strlen(text), name);
}

xai_status xai_config_load(xai_config *c, const char *path)
{
    char *text;
    size_t len;
    memset(c, 0, sizeof *c);
    XAI_TRY(xai_read_file_max(path, XAI_CONFIG_MAX_BYTES, &text, &len));
    xai_status s = load_text(c, text, len, path);
    free(text);
    return s;
}

void xai_config_free(xai_config *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->e[i].section);
        free(c->e[i].key);
        free(c->e[i].value);
    }
    free(c->e);
    free(c->path);
    free(c->text);
    memset(c, 0, sizeof *c);
}

const xai_config_entry *xai_config_find(const xai_config *c, const char *section, const char *key)
{
    for (int i = c->n - 1; i >= 0; i--)
        if (!strcmp(c->e[i].section, section) && !strcmp(c->e[i].key, key)) return &c->e[i];
    return NULL;
}

const char *xai_config_str(const xai_config *c, const char *section, const char *key, const char *def)
{
    const xai_config_entry *e = xai_config_find(c, section, key);
    return e ? e->value : def;
}

xai_status xai_config_int(const xai_config *c, const char *section, const char *key, long def, long *out)
{
    const xai_config_entry *e = xai_config_find(c, section, key);
    if (!e) {
        *out = def;
        return XAI_OK;
    }
    char *end;
    errno = 0;
    long v = strtol(e->value, &end, 10);
    while (isspace((unsigned char)*end)) end++;
    if (errno || end == e->value || *end)
        return xai_fail(XAI_EINVAL, "%s:%d: [%s] %s = '%s' is not an integer", c->path, e->line, section, key,
                        e->value);
    *out = v;
    return XAI_OK;
}

xai_status xai_config_float(const xai_config *c, const char *section, const char *key, double def, double *out)
{
    const xai_config_entry *e = xai_config_find(c, section, key);
    if (!e) {
        *out = def;
        return XAI_OK;
    }
    char *end;
    errno = 0;
    double v = strtod(e->value, &end);
    while (isspace((unsigned char)*end)) end++;
    if (errno || end == e->value || *end)
        return xai_fail(XAI_EINVAL, "%s:%d: [%s] %s = '%s' is not a number", c->path, e->line, section, key,
                        e->value);
    *out = v;
    return XAI_OK;
}

uint64_t xai_config_hash(const xai_config *c)
{
    return c->text ? xai_fnv1a(XAI_FNV_OFFSET, c->text, strlen(c->text)) : XAI_FNV_OFFSET;
}
