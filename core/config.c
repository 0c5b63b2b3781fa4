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

xai_status xai_config_load_string(xai_config *c, const char *text, const char *name)
{
    memset(c, 0, sizeof *c);
    c->path = xai_strdup(name);
    c->text = xai_strdup(text);
    parse_state ps = {c, c->text, 0};
    int r = ini_parse_string(c->text, handler, &ps);
    if (r != 0) {
        xai_status s = xai_fail(XAI_EFORMAT, "%s:%d: cannot parse this line (expected `key = value` or `[section]`)",
                                name, r);
        xai_config_free(c);
        return s;
    }
    return XAI_OK;
}

xai_status xai_config_load(xai_config *c, const char *path)
{
    char *text;
    size_t len;
    memset(c, 0, sizeof *c);
    XAI_TRY(xai_read_file(path, &text, &len));
    xai_status s = xai_config_load_string(c, text, path);
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
