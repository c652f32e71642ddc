/* SPDX-License-Identifier: MIT */
#include "applets/proxyd/loginlog.h"

#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/proxyd.h"
#include "core/ip.h"
#include "core/conf.h"
#include "core/passdb.h"
#include "core/str.h"
#include "core/varexpand.h"

/* login_log_format_elements split on spaces: NULL when not set */
static char **elements;

void
loginlog_free(void)
{
	for (char **e = elements; e != NULL && *e != NULL; e++)
		free(*e);
	free(elements);
	elements = NULL;
}

/* Dovecot's have_username_key(): an element naming the user is kept even when empty. */
static int
names_user(const char *e)
{
	for (const char *p = strchr(e, '%'); p != NULL && p[1] != '\0'; p = strchr(p + 2, '%')) {
		const char *k = p + 1 + strspn(p + 1, "-0123456789." VAR_MODIFIERS);
		if (*k == 'u' || *k == 'n')
			return 1;
		if (*k == '\0')
			break;
		p = k - 1;
	}
	return 0;
}

/* %{passdb:name} over the passdb's answer (login_var_expand's passdb function) */
static int
passdb_func(struct strbuf *out, const char *name, size_t namelen, const char *data,
    size_t datalen, var_escape_fn *escape, void *ctx)
{
	const struct passdb_result *r = ctx;
	char key[128];
	const char *v;

	(void)escape;
	if (namelen != 6 || strncmp(name, "passdb", 6) != 0)
		return 0;
	if (r == NULL || datalen >= sizeof(key))
		return 1;
	memcpy(key, data, datalen);
	key[datalen] = '\0';
	if ((v = passdb_field(r, key)) != NULL)
		strbuf_puts(out, v);
	return out->error ? -1 : 1;
}

/* The login processes' table (login-common's login_var_expand_empty_tab). */
struct login_tab {
	struct var_std std;
	struct var_tab tab[VAR_STD_ENTRIES + 4];
	char rip[IP_ADDR_STRLEN], lip[IP_ADDR_STRLEN];
};

static int
login_tab_init(struct login_tab *t, const struct client *c, int empty)
{
	struct var_client vc = { 0 };
	size_t n = 0;

	if (!empty) {
		vc.user = c->virtual_user != NULL ? c->virtual_user : c->user;
		vc.service = c->proto->name;
		vc.rip = ip_format(&c->rip, t->rip, sizeof(t->rip));
		vc.lip = ip_format(&c->lip, t->lip, sizeof(t->lip));
		vc.rport = c->rport;
		vc.lport = c->lport;
		vc.session = c->session_id;
		vc.mech = c->mech_name;
		vc.secured = c->tls ? "TLS" : c->secured ? "secured" : NULL;
	}
	if (var_std_init(&t->std, &vc) < 0)
		return -1;
	for (const struct var_tab *s = t->std.tab; s->key != '\0' || s->long_key != NULL; s++) {
		t->tab[n++] = *s;
	}
	/* login-only names: the mail process's pid, TLS details, the listener */
	t->tab[n++] = (struct var_tab){ 'e', "mail_pid", NULL };
	t->tab[n++] = (struct var_tab){ 'k', "ssl_security", NULL };
	t->tab[n++] = (struct var_tab){ '\0', "listener", NULL };
	t->tab[n] = (struct var_tab){ '\0', NULL, NULL };
	if (empty)
		for (size_t i = 0; i < n; i++)
			t->tab[i].value = NULL;
	return 0;
}

int
loginlog_configure(const struct conf *conf, FILE *errf)
{
	const struct conf_node *fmt = conf_find(conf_root(conf), "login_log_format");
	const struct conf_node *el = conf_find(conf_root(conf), "login_log_format_elements");
	size_t n = 0;

	loginlog_free();
	if (fmt != NULL && strcmp(fmt->value, "%$: %s") != 0) {
		fprintf(errf, "%s:%u: login_log_format: only Dovecot's \"%%$: %%s\" is supported "
		    "by this build (the message, then the elements)\n", fmt->file, fmt->line);
		return -1;
	}
	if (el == NULL)
		return 0;
	if ((elements = calloc(strlen(el->value) / 2 + 2, sizeof(*elements))) == NULL)
		return -1;
	for (const char *s = el->value + strspn(el->value, " "); *s != '\0';
	    s += strspn(s, " ")) {
		size_t len = strcspn(s, " ");
		if ((elements[n] = strndup(s, len)) == NULL)
			return -1;
		/* an unknown variable is a config error now, not a broken log line later */
		struct login_tab t;
		struct strbuf sb;
		const char *error;
		struct var_expand_params p = { t.tab, NULL, passdb_func, NULL };
		if (login_tab_init(&t, NULL, 1) < 0)
			return -1;
		strbuf_init(&sb, 4096);
		int r = var_expand_params(&sb, elements[n], &p, &error);
		if (r < 0 && var_error_from_values(error))
			r = 0;
		if (r < 0)
			fprintf(errf, "%s:%u: login_log_format_elements: %s: %s\n", el->file, el->line,
			    elements[n], error);
		strbuf_free(&sb);
		var_std_free(&t.std);
		if (r < 0)
			return -1;
		n++;
		s += len;
	}
	return 0;
}

const char *
loginlog_tail(const struct client *c, char *buf, size_t len)
{
	struct login_tab t, e;
	struct strbuf sb, empty;
	const char *error;

	if (elements == NULL)
		return NULL;
	buf[0] = '\0';
	if (login_tab_init(&t, c, 0) < 0)
		return buf;
	if (login_tab_init(&e, c, 1) < 0) {
		var_std_free(&t.std);
		return buf;
	}
	struct var_expand_params p = { t.tab, NULL, passdb_func, c->passdb };
	struct var_expand_params pe = { e.tab, NULL, NULL, NULL };
	strbuf_init(&sb, len - 1);
	strbuf_init(&empty, len - 1);
	for (char **el = elements; *el != NULL; el++) {
		size_t pos = sb.len;
		if (var_expand_params(&sb, *el, &p, &error) < 0)
			strbuf_truncate(&sb, pos);
		if (!names_user(*el)) {
			/* Dovecot expands the empty form without its passdb function: an
			 * element with %{passdb:..} is never left out */
			strbuf_truncate(&empty, 0);
			if (var_expand_params(&empty, *el, &pe, &error) == 0 &&
			    strcmp(sb.s + pos, empty.s) == 0) {
				strbuf_truncate(&sb, pos);
				continue;
			}
		}
		strbuf_puts(&sb, ", ");
	}
	if (sb.len >= 2)
		strbuf_truncate(&sb, sb.len - 2);
	str_copy(buf, sb.s, len);
	strbuf_free(&sb);
	strbuf_free(&empty);
	var_std_free(&t.std);
	var_std_free(&e.std);
	return buf;
}
