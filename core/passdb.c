/* SPDX-License-Identifier: MIT */
/* Implementation notes: the chain walks its passdbs as Dovecot's
 * auth_request_handle_passdb_callback() does. Fields go straight into the result;
 * before each passdb the result is copied, and a passdb that fails gets its changes
 * undone from that copy (Dovecot's auth_fields_rollback). The drivers are in
 * core/passdb_drv.c, the per-lookup field handling in core/passdb_req.c. */
#include "core/passdb.h"
#include "core/authcache.h"
#include "core/metrics.h"
#include "core/passdb_drv.h"
#include "core/passdb_tmpl.h"
#include "core/passdb_req.h"
#include "core/passdb_user.h"
#include "core/loop.h"
#include "core/str.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum passdb_rule {
	RULE_RETURN, RULE_RETURN_OK, RULE_RETURN_FAIL,
	RULE_CONTINUE, RULE_CONTINUE_OK, RULE_CONTINUE_FAIL,
};

static const char *const rule_names[] = {
	"return", "return-ok", "return-fail", "continue", "continue-ok", "continue-fail",
};

struct passdb {
	struct passdb_drv *drv;
	enum passdb_rule on_success, on_failure, on_internal;
	struct passdb_tmpl *def, *ovr;	/* default_fields, override_fields; NULL: none */
};

struct passdb_chain {
	struct passdb *dbs;
	size_t n;
	char errbuf[256];
	struct loop *loop;		/* NULL: no timeouts */
	unsigned int timeout_ms;
	unsigned int next_id;
	struct passdb_pending *pending;
	struct authcache *cache;		/* NULL: auth_cache_size = 0 */
	unsigned int cache_negative_ttl;
	struct passdb_user user;		/* the auth_username_* settings */
};

struct metrics_family passdb_lookup_seconds = {
	.name = "mtool_passdb_lookup_duration_seconds", .help = "Time of one passdb lookup, by driver",
	.type = METRICS_HISTOGRAM, .labels = { "driver" }, .bounds = metrics_bounds_latency,
};

/* ---- the chain (auth_request_handle_passdb_callback) ---- */

/* One lookup on its way through the chain. L.req points at req, whose strings are
 * copies (the caller's may be gone when an asynchronous driver answers). */
struct passdb_pending {
	struct passdb_chain *chain;
	struct passdb_pending *lprev, *lnext;	/* chain->pending */
	unsigned int id;
	struct passdb_request req;
	struct passdb_lookup L;
	struct passdb_result out, snap;
	size_t i;			/* the passdb asked now */
	int success, seen_internal, next, fail_nodelay;
	char *fail_reason;
	char *cache_key;		/* this passdb's, when the cache applies */
	char *user;			/* req.user: the login name as fixed */
	int from_cache;			/* this passdb's answer came from the cache */
	int timed_out;
	uint64_t t0;			/* when this passdb was asked (metrics) */
	struct loop_timer timer;
	passdb_callback *cb;
	void *arg;
	char strings[];
};

static void chain_step(struct passdb_pending *p);

/* ---- the auth cache (Dovecot's passdb-cache.c and auth_request_save_cache()) ---- */

static void
rec_clear(struct passdb_lookup *L)
{
	for (size_t i = 0; i < L->nrec; i++) {
		free(L->rec[i].key);
		free(L->rec[i].value);
	}
	free(L->rec);
	L->rec = NULL;
	L->nrec = L->caprec = 0;
	L->recording = 0;
}

/* tabs and backslashes escaped: the key's variables stay apart */
static void
key_escape(struct strbuf *out, const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\\' || v[i] == '\t')
			strbuf_putc(out, '\\');
		strbuf_putc(out, v[i] == '\t' ? 't' : v[i]);
	}
}

static char *
cache_key(struct passdb_pending *p, const char *tmpl)
{
	char errbuf[128], prefix[16];
	const char *error;
	struct strbuf sb;

	char *k = passdb_expand(&p->L, NULL, tmpl, key_escape, errbuf, sizeof(errbuf), &error);
	if (k == NULL)
		return NULL;
	strbuf_init(&sb, PASSDB_VALUE_MAX + 16);
	str_fmt(prefix, sizeof(prefix), "P%zu\t", p->i);
	strbuf_puts(&sb, prefix);
	strbuf_puts(&sb, k);
	free(k);
	if (sb.error) {
		strbuf_free(&sb);
		return NULL;
	}
	return sb.s;
}

/* Undoes what this passdb set so far (a cache entry that will not do after all). */
static void
lookup_reset(struct passdb_pending *p)
{
	struct passdb_lookup *L = &p->L;

	passdb_result_free(&p->out);
	if (passdb_result_copy(&p->snap, &p->out) < 0)
		p->out.user = strdup(p->req.user);
	L->res = &p->out;
	L->failed = L->nopassword = L->noauthenticate = L->stored_noscheme = 0;
	free(L->stored);
	L->stored = NULL;
}

/* The cached answer for this passdb, or PASSDB_PENDING to ask the passdb itself. */
static enum passdb_status
cache_answer(struct passdb_pending *p, const char *scheme, int use_expired)
{
	struct passdb_chain *chain = p->chain;
	struct passdb_lookup *L = &p->L;
	int64_t now = chain->loop != NULL ? loop_wall(chain->loop) : (int64_t)time(NULL);
	const struct authcache_entry *e = authcache_get(chain->cache, p->cache_key, now);
	enum passdb_status st;

	if (e == NULL || (e->expired && !use_expired)) {
		passdb_log(L, LOG_LEVEL_DEBUG, e == NULL ? "cache miss" : "cache expired");
		return PASSDB_PENDING;
	}
	passdb_log(L, LOG_LEVEL_DEBUG, "cache hit");
	if (e->negative) {
		passdb_log(L, LOG_LEVEL_DEBUG, "unknown user");
		return PASSDB_USER_UNKNOWN;
	}
	int last_success = e->last_success;
	int neg_expired = now - e->created >= (int64_t)chain->cache_negative_ttl;
	L->scheme = scheme;
	for (size_t i = 0; i < e->nfields; i++)
		if (passdb_set_field(L, e->fields[i].key, e->fields[i].value) < 0)
			return PASSDB_INTERNAL_FAILURE;
	st = passdb_verify_password(L);
	if (st == PASSDB_PASSWORD_MISMATCH && (last_success || neg_expired) && !use_expired) {
		/* the password may have changed since the last success, or the mismatch
		 * is as old as a negative entry may be: ask the passdb */
		authcache_set_failed(chain->cache, p->cache_key);
		lookup_reset(p);
		return PASSDB_PENDING;
	}
	return st;
}

/* After the passdb itself answered st: what the cache keeps of it. */
static void
cache_save(struct passdb_pending *p, enum passdb_status st)
{
	struct passdb_chain *chain = p->chain;
	struct passdb_lookup *L = &p->L;
	int64_t now = chain->loop != NULL ? loop_wall(chain->loop) : (int64_t)time(NULL);

	if (st == PASSDB_USER_UNKNOWN && L->nrec == 0)
		authcache_put(chain->cache, p->cache_key, p->req.user, 1, 0, NULL, 0, now);
	else if ((st == PASSDB_OK || st == PASSDB_PASSWORD_MISMATCH) &&
	    (L->stored != NULL || L->nopassword))
		authcache_put(chain->cache, p->cache_key, p->req.user, 0, st == PASSDB_OK,
		    L->rec, L->nrec, now);
}

static void
pending_free(struct passdb_pending *p)
{
	struct passdb_chain *chain = p->chain;

	if (p->lprev)
		p->lprev->lnext = p->lnext;
	else
		chain->pending = p->lnext;
	if (p->lnext)
		p->lnext->lprev = p->lprev;
	if (chain->loop != NULL)
		loop_timer_cancel(chain->loop, &p->timer);
	free(p->L.stored);
	free(p->fail_reason);
	free(p->cache_key);
	free(p->user);
	rec_clear(&p->L);
	passdb_result_free(&p->out);
	passdb_result_free(&p->snap);
	free(p);
}

/* The end of the walk: the status from the rules, then the caller's callback. */
static void
chain_finish(struct passdb_pending *p, enum passdb_status st)
{
	struct passdb_result res;

	if (p->next) {
		passdb_log(&p->L, LOG_LEVEL_ERROR,
		    "Last passdb had noauthenticate field, cannot authenticate user");
		st = PASSDB_INTERNAL_FAILURE;
	} else if (p->success)
		st = PASSDB_OK;
	else if (p->seen_internal)
		st = PASSDB_INTERNAL_FAILURE;
	else if (st == PASSDB_OK)
		st = PASSDB_PASSWORD_MISMATCH;	/* found, but a rule said it fails */
	if (st != PASSDB_OK) {
		if (p->fail_nodelay)
			passdb_result_set(&p->out, "nodelay", NULL);
		if (p->fail_reason && passdb_field(&p->out, "reason") == NULL)
			passdb_result_set(&p->out, "reason", p->fail_reason);
	}
	p->out.status = st;
	res = p->out;
	memset(&p->out, 0, sizeof(p->out));
	passdb_callback *cb = p->cb;
	void *arg = p->arg;
	pending_free(p);
	cb(&res, arg);
}

/* One passdb answered st: its rule decides whether the walk goes on. */
static void
chain_answer(struct passdb_pending *p, enum passdb_status st)
{
	struct passdb *db = &p->chain->dbs[p->i];
	struct passdb_lookup *L = &p->L;
	enum passdb_rule rule;
	int cont = 0;

	metrics_observe(&passdb_lookup_seconds, metrics_now_us() - p->t0, METRICS_VALUES(L->db_name));
	if (p->cache_key != NULL && !p->from_cache) {
		const char *scheme = NULL;
		(void)passdb_drv_cache_key(db->drv, &scheme);
		L->recording = 0;
		if (st == PASSDB_INTERNAL_FAILURE) {
			/* as Dovecot: a passdb that fails may be answered by an expired entry */
			lookup_reset(p);
			enum passdb_status cst = cache_answer(p, scheme, 1);
			if (cst != PASSDB_PENDING) {
				passdb_log(L, LOG_LEVEL_INFO, "Falling back to expired data from cache");
				st = cst;
			} else
				lookup_reset(p);
		} else
			cache_save(p, st);
	}
	free(p->cache_key);
	p->cache_key = NULL;
	rec_clear(L);
	/* as Dovecot: after every answer, cached or not, and not kept in the cache */
	char eb[256];
	if (passdb_tmpl_export(db->ovr, L, eb, sizeof(eb)) < 0) {
		passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand override_fields: %s", eb);
		st = PASSDB_INTERNAL_FAILURE;
	}

	p->next = st == PASSDB_OK && L->noauthenticate;
	if (L->failed && st == PASSDB_OK && !p->next)
		st = PASSDB_USER_UNKNOWN;	/* Dovecot: allow_nets, fail=yes */
	if (p->next) {
		passdb_log(L, LOG_LEVEL_DEBUG, "Not performing authentication (noauthenticate set)");
		rule = RULE_CONTINUE;
	} else
		rule = st == PASSDB_OK ? db->on_success :
		    st == PASSDB_INTERNAL_FAILURE ? db->on_internal : db->on_failure;
	switch (rule) {
	case RULE_RETURN:
		break;
	case RULE_RETURN_OK:
		p->success = 1;
		break;
	case RULE_RETURN_FAIL:
		p->success = 0;
		break;
	case RULE_CONTINUE:
		cont = 1;
		if (st == PASSDB_OK && !p->next)
			L->skip_password_check = 1;
		break;
	case RULE_CONTINUE_OK:
		cont = 1;
		p->success = 1;
		L->skip_password_check = 1;
		break;
	case RULE_CONTINUE_FAIL:
		cont = 1;
		p->success = 0;
		break;
	}
	if (st == PASSDB_OK || p->next)
		passdb_result_free(&p->snap);
	else {
		/* this passdb failed: undo what it set, but remember what speaks about
		 * the failure itself (Dovecot keeps these as request flags) */
		const char *reason = passdb_field(&p->out, "reason");
		p->fail_nodelay |= passdb_field(&p->out, "nodelay") != NULL;
		if (reason && *reason) {
			free(p->fail_reason);
			p->fail_reason = strdup(reason);
		}
		passdb_result_free(&p->out);
		p->out = p->snap;
		memset(&p->snap, 0, sizeof(p->snap));
	}
	if (!cont || p->i + 1 == p->chain->n || p->timed_out) {
		chain_finish(p, st);
		return;
	}
	if (st == PASSDB_INTERNAL_FAILURE)
		p->seen_internal = 1;
	p->i++;
	chain_step(p);
}

/* Asks the passdbs from p->i on, as long as they answer at once. */
static void
chain_step(struct passdb_pending *p)
{
	struct passdb_lookup *L = &p->L;
	struct passdb *db = &p->chain->dbs[p->i];
	enum passdb_status st;

	L->db_name = passdb_drv_name(db->drv);
	L->failed = L->nopassword = L->noauthenticate = L->stored_noscheme = 0;
	free(L->stored);
	L->stored = NULL;
	if (passdb_result_copy(&p->out, &p->snap) < 0) {
		p->next = 0;
		chain_finish(p, PASSDB_INTERNAL_FAILURE);
		return;
	}
	passdb_log(L, LOG_LEVEL_DEBUG, "Performing passdb lookup");
	p->t0 = metrics_now_us();
	st = PASSDB_PENDING;
	p->from_cache = 0;
	const char *scheme = NULL, *tmpl;
	if (p->chain->cache != NULL && (tmpl = passdb_drv_cache_key(db->drv, &scheme)) != NULL &&
	    (p->cache_key = cache_key(p, tmpl)) != NULL) {
		st = cache_answer(p, scheme, 0);
		p->from_cache = st != PASSDB_PENDING;
		L->recording = !p->from_cache;
	}
	if (st == PASSDB_PENDING) {
		char eb[256];
		if (passdb_tmpl_export(db->def, L, eb, sizeof(eb)) < 0) {
			passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand default_fields: %s", eb);
			st = PASSDB_INTERNAL_FAILURE;
		} else
			st = passdb_drv_lookup(db->drv, L);
	}
	if (st != PASSDB_PENDING)
		chain_answer(p, st);
}

/* see passdb_req.h */
void
passdb_lookup_done(struct passdb_lookup *L, enum passdb_status st)
{
	struct passdb_pending *p = (struct passdb_pending *)
	    ((char *)L - offsetof(struct passdb_pending, L));

	chain_answer(p, st);
}

static void
pending_timeout(struct loop_timer *t, void *arg)
{
	struct passdb_pending *p = arg;

	(void)t;
	passdb_drv_cancel(p->chain->dbs[p->i].drv, &p->L, 1);
	passdb_log(&p->L, LOG_LEVEL_ERROR, "Lookup timed out after %u msecs",
	    p->chain->timeout_ms);
	/* an internal failure of this passdb (an expired cache entry may still answer),
	 * and the end of the walk */
	p->timed_out = 1;
	chain_answer(p, PASSDB_INTERNAL_FAILURE);
}

static char *
copy_str(char **dst, const char *s)
{
	size_t n = strlen(s != NULL ? s : "") + 1;

	memcpy(*dst, s != NULL ? s : "", n);
	*dst += n;
	return *dst - n;
}

unsigned int
passdb_chain_lookup_start(struct passdb_chain *chain, const struct passdb_request *req,
    passdb_callback *cb, void *arg)
{
	const char *strs[] = { req->user, req->password, req->service, req->rip, req->lip,
	    req->session };
	struct passdb_result fail = { .status = PASSDB_INTERNAL_FAILURE };
	size_t len = 0;
	unsigned int id;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		len += strlen(strs[i] != NULL ? strs[i] : "") + 1;
	struct passdb_pending *p = calloc(1, sizeof(*p) + len);
	if (p == NULL || (p->out.user = strdup(req->user != NULL ? req->user : "")) == NULL) {
		free(p);
		cb(&fail, arg);
		return 0;
	}
	char *s = p->strings;
	p->req = *req;
	p->req.user = copy_str(&s, req->user);
	p->req.password = req->password != NULL ? copy_str(&s, req->password) : NULL;
	p->req.service = copy_str(&s, req->service);
	p->req.rip = copy_str(&s, req->rip);
	p->req.lip = copy_str(&s, req->lip);
	p->req.session = copy_str(&s, req->session);
	p->L.req = &p->req;
	p->L.res = &p->out;
	p->chain = chain;
	p->cb = cb;
	p->arg = arg;
	if (++chain->next_id == 0)
		chain->next_id = 1;
	id = p->id = chain->next_id;
	p->lnext = chain->pending;
	if (p->lnext)
		p->lnext->lprev = p;
	chain->pending = p;
	enum passdb_status st = passdb_user_fix(&chain->user, &p->L, p->req.user, &p->user);
	char *u = p->user != NULL ? strdup(p->user) : NULL;
	if (u != NULL) {
		free(p->out.user);
		p->out.user = u;
		p->req.user = p->user;
	} else if (p->user != NULL)
		st = PASSDB_INTERNAL_FAILURE;
	if (st != PASSDB_OK) {
		chain_finish(p, st);
		return 0;
	}
	if (chain->n == 0) {
		chain_finish(p, PASSDB_USER_UNKNOWN);
		return 0;
	}
	if (chain->loop != NULL && chain->timeout_ms != 0 &&
	    loop_timer_set(chain->loop, &p->timer, chain->timeout_ms, pending_timeout, p) < 0) {
		chain_finish(p, PASSDB_INTERNAL_FAILURE);
		return 0;
	}
	chain_step(p);
	/* it may have finished already: the id is live only while the lookup waits */
	for (p = chain->pending; p != NULL; p = p->lnext)
		if (p->id == id)
			return id;
	return 0;
}

void
passdb_chain_cancel(struct passdb_chain *chain, unsigned int id)
{
	for (struct passdb_pending *p = chain->pending; p != NULL; p = p->lnext)
		if (p->id == id) {
			passdb_drv_cancel(chain->dbs[p->i].drv, &p->L, 0);
			pending_free(p);
			return;
		}
}

static void
sync_done(struct passdb_result *res, void *arg)
{
	*(struct passdb_result *)arg = *res;
}

int
passdb_chain_lookup(struct passdb_chain *chain, const struct passdb_request *req,
    struct passdb_result *out)
{
	unsigned int id;

	memset(out, 0, sizeof(*out));
	out->status = PASSDB_INTERNAL_FAILURE;
	if ((id = passdb_chain_lookup_start(chain, req, sync_done, out)) != 0) {
		/* an asynchronous driver: this caller cannot wait */
		passdb_chain_cancel(chain, id);
		memset(out, 0, sizeof(*out));
		out->status = PASSDB_INTERNAL_FAILURE;
	}
	return out->status == PASSDB_OK;
}


struct passdb_chain *
passdb_chain_new(void)
{
	return calloc(1, sizeof(struct passdb_chain));
}

void
passdb_chain_set_loop(struct passdb_chain *chain, struct loop *loop, unsigned int timeout_ms)
{
	chain->loop = loop;
	chain->timeout_ms = timeout_ms;
	for (size_t i = 0; i < chain->n; i++)
		passdb_drv_set_loop(chain->dbs[i].drv, loop);
}

int
passdb_chain_set_cache(struct passdb_chain *chain, size_t max_bytes, unsigned int ttl_s,
    unsigned int negative_ttl_s)
{
	authcache_free(chain->cache);
	chain->cache = NULL;
	chain->cache_negative_ttl = negative_ttl_s;
	if (max_bytes == 0)
		return 0;
	chain->cache = authcache_new(max_bytes, ttl_s, negative_ttl_s);
	return chain->cache != NULL ? 0 : -1;
}

unsigned int
passdb_chain_cache_flush(struct passdb_chain *chain, const char *const *users, size_t nusers)
{
	return chain->cache == NULL ? 0 : authcache_flush(chain->cache, users, nusers);
}

void
passdb_chain_set_username_chars(struct passdb_chain *chain, const char *chars)
{
	passdb_user_set_chars(&chain->user, chars);
}

int
passdb_chain_set_username(struct passdb_chain *chain, const char *translation,
    const char *format, const char *realm, const char *separator, const char **error)
{
	if (passdb_user_set(&chain->user, translation, format, realm, separator, chain->errbuf,
	    sizeof(chain->errbuf)) < 0) {
		*error = chain->errbuf;
		return -1;
	}
	return 0;
}

size_t
passdb_chain_count(const struct passdb_chain *chain)
{
	return chain->n;
}

void
passdb_chain_free(struct passdb_chain *chain)
{
	if (chain == NULL)
		return;
	while (chain->pending != NULL)
		passdb_chain_cancel(chain, chain->pending->id);
	for (size_t i = 0; i < chain->n; i++) {
		passdb_drv_free(chain->dbs[i].drv);
		passdb_tmpl_free(chain->dbs[i].def);
		passdb_tmpl_free(chain->dbs[i].ovr);
	}
	authcache_free(chain->cache);
	passdb_user_free(&chain->user);
	free(chain->dbs);
	free(chain);
}

static int
parse_rule(const char *s, enum passdb_rule def, enum passdb_rule *rule)
{
	if (s == NULL || *s == '\0') {
		*rule = def;
		return 0;
	}
	for (size_t i = 0; i < sizeof(rule_names) / sizeof(rule_names[0]); i++)
		if (strcmp(s, rule_names[i]) == 0) {
			*rule = (enum passdb_rule)i;
			return 0;
		}
	return -1;
}

int
passdb_chain_add(struct passdb_chain *chain, const char *driver, const char *args,
    const char *result_success, const char *result_failure, const char *result_internalfail,
    const char **error)
{
	struct passdb db, *ndbs;
	const char *bad = NULL;

	*error = chain->errbuf;
	if (parse_rule(result_success, RULE_RETURN_OK, &db.on_success) < 0)
		bad = result_success;
	else if (parse_rule(result_failure, RULE_CONTINUE, &db.on_failure) < 0)
		bad = result_failure;
	else if (parse_rule(result_internalfail, RULE_CONTINUE, &db.on_internal) < 0)
		bad = result_internalfail;
	if (bad != NULL) {
		str_fmt(chain->errbuf, sizeof(chain->errbuf), "Unknown result rule '%s' (use "
		    "return, return-ok, return-fail, continue, continue-ok or continue-fail)",
		    bad);
		return -1;
	}
	db.def = db.ovr = NULL;
	db.drv = passdb_drv_new(driver, args, chain->errbuf, sizeof(chain->errbuf));
	if (db.drv == NULL)
		return -1;
	if ((ndbs = realloc(chain->dbs, (chain->n + 1) * sizeof(*ndbs))) == NULL) {
		passdb_drv_free(db.drv);
		str_copy(chain->errbuf, "out of memory", sizeof(chain->errbuf));
		return -1;
	}
	chain->dbs = ndbs;
	chain->dbs[chain->n++] = db;
	return 0;
}

int
passdb_chain_set_fields(struct passdb_chain *chain, const char *default_fields,
    const char *override_fields, const char **error)
{
	struct passdb *db = &chain->dbs[chain->n - 1];
	struct passdb_tmpl *def, *ovr;
	char eb[200];

	*error = chain->errbuf;
	if (passdb_tmpl_new(default_fields != NULL ? default_fields : "", &def, eb,
	    sizeof(eb)) < 0) {
		str_fmt(chain->errbuf, sizeof(chain->errbuf), "default_fields: %s", eb);
		return -1;
	}
	if (passdb_tmpl_new(override_fields != NULL ? override_fields : "", &ovr, eb,
	    sizeof(eb)) < 0) {
		passdb_tmpl_free(def);
		str_fmt(chain->errbuf, sizeof(chain->errbuf), "override_fields: %s", eb);
		return -1;
	}
	passdb_tmpl_free(db->def);
	passdb_tmpl_free(db->ovr);
	db->def = def;
	db->ovr = ovr;
	return 0;
}
