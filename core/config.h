/* config.h: INI experiment configs read with libinih, entries kept in file order with their
 * line numbers so that every error can point at the line. */
#ifndef XAI_CONFIG_H
#define XAI_CONFIG_H

#include "core/base.h"

/* ----------------------------------------------------------------- config */

/* An INI file read with libinih, keeping each entry's line for error messages.
 * Keys may repeat (e.g. `layer = ...` lines of a model); order is kept. */
typedef struct {
    char *section, *key, *value;
    int line;
} xai_config_entry;

typedef struct {
    char *path;
    xai_config_entry *e; /* (n) */
    int n, cap;
    char *text;          /* whole file, for hashing/provenance */
} xai_config;

/* Limits of a config file: larger files are refused unread, longer lines are errors (libinih
 * would split them, its buffer holds 200 bytes with the newline). */
#define XAI_CONFIG_MAX_BYTES (1 << 20)
#define XAI_CONFIG_MAX_LINE 190

/* Reads and checks an experiment config: every line is `[section]`, `key = value`, a comment or
 * blank; no NUL byte, no indented (continuation) line, no line over XAI_CONFIG_MAX_LINE bytes,
 * only the known sections; [experiment], [model] and [quick] keys known, [experiment] name
 * one path component of [A-Za-z0-9._-]. Errors name file:line. */
xai_status xai_config_load(xai_config *c, const char *path);
xai_status xai_config_load_string(xai_config *c, const char *text, const char *name);
void xai_config_free(xai_config *c);
/* Last value of section.key, or NULL. */
const xai_config_entry *xai_config_find(const xai_config *c, const char *section, const char *key);
const char *xai_config_str(const xai_config *c, const char *section, const char *key, const char *def);
xai_status xai_config_int(const xai_config *c, const char *section, const char *key, long def, long *out);
xai_status xai_config_float(const xai_config *c, const char *section, const char *key, double def, double *out);
uint64_t xai_config_hash(const xai_config *c); /* FNV-1a of the file text */


#endif
