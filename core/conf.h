/* SPDX-License-Identifier: MIT */
/* core/conf.h: Dovecot 2.3's configuration file format read into a tree of settings and
 * sections, -o overrides, typed getters and a schema check. Not a settings registry: what
 * a key means, its default and its type belong to the applet that reads it.
 * The syntax is described in docs/mtool.conf.5.md. core/conf.c reads files into the
 * tree; core/conf_get.c holds everything that only reads the tree. */
#ifndef CORE_CONF_H
#define CORE_CONF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "core/feature.h"

/* Sections nested deeper than this are an error (the parser never recurses over them,
 * but the schema check and every reader would). */
#define CONF_SECTION_DEPTH	64

/* A setting (value != NULL) or a section (value == NULL). Every node and string belongs
 * to the struct conf it came from and lives until conf_free(). A named section that is
 * opened again ("service imap-login { }" twice in one section) is the same node, as in
 * Dovecot; unnamed sections ("passdb { }") are never merged. A key set twice is two
 * nodes: the last one wins (conf_find). */
struct conf_node {
	const char *key;	/* setting name, or section type */
	const char *name;	/* section name, or NULL (always NULL for settings) */
	const char *value;	/* setting value, never NULL; NULL for a section */
	const char *file;	/* where it was set; "-o" for an override */
	unsigned int line;	/* 1-based; for "-o": the override's 1-based index */
	struct conf_node *parent, *children, *next;	/* children in file order */
	struct conf_node *last_child;	/* parser-internal: where to append */
};

struct conf;

/* Reads the file at path, its !include files and <file values, then applies the
 * overrides ("key=value" or "section/.../key=value", see conf_load_string). Every
 * error is printed to errf (which may be NULL) as "FILE:LINE: message\n", or
 * "FILE: message\n" when no line applies; parsing goes on after an error so that all
 * of them are reported at once. Returns the config, to be freed with conf_free(), or
 * NULL if there was any error (or out of memory, also printed). */
struct conf *conf_load(const char *path, char *const *overrides, size_t noverrides,
    FILE *errf);

/* Same as conf_load() with the text of a file in memory; name is used in errors and as
 * node->file, and relative !include or <file paths are relative to name's directory
 * (the current directory if name has no '/'). text is not kept.
 * Overrides: "key=value" sets key at the top level; "a/b/key=value" walks sections,
 * where each step matches an unnamed child section by type ("passdb/driver=...") or a
 * named one by type then name ("service/imap-login/..."), creating the section (named if
 * two or more components are left before the key, else unnamed) if there is none. The
 * value is taken as it is: no quotes, $ or < processing. Overrides are applied after
 * the file and so win over it. */
struct conf *conf_load_string(const char *name, const char *text,
    char *const *overrides, size_t noverrides, FILE *errf);

/* Frees every node and string of the config. NULL is allowed. */
void conf_free(struct conf *);

/* The top-level section (key "", file = the path or name given to conf_load*). */
const struct conf_node *conf_root(const struct conf *);

/* The last setting named key directly inside section (sections are not searched into),
 * or NULL if it is not set there. */
const struct conf_node *conf_find(const struct conf_node *section, const char *key);

/* conf_find()'s value, or def if the key is not set there. */
const char *conf_get(const struct conf_node *section, const char *key, const char *def);

/* Dovecot's protocol filter: key as set inside the top-level "protocol NAME { }" section
 * if it is set there, else as set at the top level, else NULL (conf_find_proto) or def. */
const struct conf_node *conf_find_proto(const struct conf *, const char *protocol,
    const char *key);
const char *conf_get_proto(const struct conf *, const char *protocol, const char *key,
    const char *def);

/* Iterates the child sections of section whose type is type (any type if type is NULL):
 * prev is NULL for the first; returns NULL after the last. */
const struct conf_node *conf_next_section(const struct conf_node *section,
    const struct conf_node *prev, const char *type);

/* Typed getters. Each parses node->value (node must be a setting) and returns 0 with
 * *out set, or prints "FILE:LINE: key: message\n" to errf (may be NULL) and returns -1
 * with *out untouched. Letters are case-insensitive everywhere, as in Dovecot.
 * bool: yes, y, 1 / no, n, 0.
 * uint: decimal digits only, at most max.
 * time_ms: NUMBER [UNIT] with optional spaces between; no unit means seconds; a unit is
 *   any prefix of ms/msecs/mseconds/millisecs/milliseconds, secs/seconds, mins/minutes,
 *   hours, days, weeks ("m" is minutes, "ms" milliseconds): "30", "30s", "5 mins",
 *   "1h", "2 days", "100 ms".
 * size: NUMBER [UNIT] with optional spaces: B, K/k, M, G, T (powers of 1024), each
 *   letter optionally followed by "i" and/or "B" ("10M", "1 G", "512kiB", "100 B"). */
int conf_parse_bool(const struct conf_node *, int *out, FILE *errf);
int conf_parse_uint(const struct conf_node *, unsigned long long max,
    unsigned long long *out, FILE *errf);
int conf_parse_time_ms(const struct conf_node *, unsigned long long *out_ms, FILE *errf);
int conf_parse_size(const struct conf_node *, unsigned long long *out, FILE *errf);
/* A top-level unsigned setting: *out = def when it is not set, else its value, which
 * must be within [min, max]; -1 after printing "file:line: key: ..." to errf. */
int conf_get_uint(const struct conf *, const char *key, unsigned int def, unsigned int min,
    unsigned int max, unsigned int *out, FILE *errf);
/* The same for a time interval (time_ms syntax above, in milliseconds) and a size (size
 * syntax above, in bytes): *out = def when the key is not set, else its value, which must
 * be within [min, max]; -1 after printing "file:line: key: invalid ..." or "file:line: key:
 * must be between 1 secs and 7 days" (the bounds in the largest unit that fits) to errf.
 *   conf_get_ms(c, "director_user_kick_delay", 2000, 0, 7 * 86400000ULL, &ms, errf);
 *   conf_get_size(c, "director_output_buffer_size", 10 << 20, 1024, 1ULL << 40, &sz, errf); */
int conf_get_ms(const struct conf *, const char *key, unsigned long long def_ms,
    unsigned long long min_ms, unsigned long long max_ms, unsigned long long *out_ms, FILE *errf);
int conf_get_size(const struct conf *, const char *key, unsigned long long def,
    unsigned long long min, unsigned long long max, unsigned long long *out, FILE *errf);
/* conf_get_ms into an unsigned int (the bounds fit one: at most about 49 days). */
int conf_get_ms_uint(const struct conf *, const char *key, unsigned int def_ms,
    unsigned int min_ms, unsigned int max_ms, unsigned int *out_ms, FILE *errf);

/* The time and size syntax above for a string that is not a setting (a passdb extra
 * field, a command argument): returns 0 with *out set, or -1 (invalid or too large;
 * nothing printed, *out untouched). */
int conf_parse_time_string_ms(const char *s, unsigned long long *out_ms);
int conf_parse_size_string(const char *s, unsigned long long *out);

/* One schema row; a schema is an array of rows ended by one with section == NULL.
 * section: "" for the top level, or the '/'-joined path of section *types* down to the
 * section ("service/inet_listener", "passdb", "protocol"). key: a setting allowed there,
 * "*" for any setting, or NULL to declare only that the section exists.
 * A section of type T is allowed where some row's section path is T at that place or
 * goes through it. The filter sections of Dovecot (protocol, local, remote, local_name)
 * are allowed only where some row declares them, like any other section, but what is
 * inside them is checked both against their own rows and against the rows of the
 * section they are in, as if the filter were not there: {"protocol", NULL} lets
 * "protocol imap { }" hold every top-level setting, and {"protocol", "imap_id_send"}
 * adds a key allowed only there. A filter nested in a filter ("local { protocol { } }")
 * sees the rows of its own full path and of the path without any filter. */
struct conf_key {
	const char *section;
	const char *key;
};

/* Rows of a feature (mk/features.mk) go between CONF_FEATURE_BEGIN(MTOOL_WITH_NAME, "name")
 * and CONF_FEATURE_END: when the feature is out of this build, its settings are errors
 * that say so ("KEY: not in this build (feature name)") instead of unknown ones. */
extern const char conf_feature_mark[];
#define CONF_FEATURE_BEGIN(opt, name) { conf_feature_mark, FEATURE_OFF(opt, name) }
#define CONF_FEATURE_END { conf_feature_mark, NULL }

/* Checks every node of the config against schema; prints
 * "FILE:LINE: unknown setting 'KEY'" or "FILE:LINE: unknown section 'TYPE'" (followed by
 * " in section 'PATH'" below the top level, PATH being the types path) for each
 * offender, not descending into unknown sections. Returns the number of errors. */
int conf_check(const struct conf *, const struct conf_key *schema, FILE *errf);

/* The schema's answers conf_check() goes by: has it the setting key in the section whose
 * types path is path (*absent: as in conf_check's "not in this build", else NULL), and
 * may a section of type type be inside path? */
int conf_schema_has_key(const struct conf_key *schema, const char *path, const char *key,
    const char **absent);
int conf_schema_has_section(const struct conf_key *schema, const char *path,
    const char *type);
/* "FILE:LINE: message" with " in section 'PATH'" when path is not "", to errf (may be
 * NULL): how conf_check and core/conf_known report. */
void conf_vreport(FILE *errf, const struct conf_node *, const char *path, const char *fmt,
    va_list ap) __attribute__((format(printf, 4, 0)));

#endif
