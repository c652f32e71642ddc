/* SPDX-License-Identifier: MIT */
/* Implementation notes: the chain walks its passdbs as Dovecot's
 * auth_request_handle_passdb_callback() does. Fields go straight into the result;
 * before each passdb the result is copied, and a passdb that fails gets its changes
 * undone from that copy (Dovecot's auth_fields_rollback). The drivers are in
 * core/passdb_drv.c, the per-lookup field handling in core/passdb_req.c. */
#include "core/passdb.h"
#include "core/metrics.h"
#include "core/passdb_drv.h"
#include "core/passdb_req.h"
#include "core/str.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
};

struct passdb_chain {
	struct passdb *dbs;
	size_t n;
	char errbuf[256];
};

struct metrics_family passdb_lookup_seconds = {
	.name = "mtool_passdb_lookup_duration_seconds", .help = "Time of one passdb lookup, by driver",
	.type = METRICS_HISTOGRAM, .labels = { "driver" }, .bounds = metrics_bounds_latency,
};

/* ---- the chain (auth_request_handle_passdb_callback) ---- */

int
passdb_chain_lookup(struct passdb_chain *chain, const struct passdb_request *req,
    struct passdb_result *out)
{
	struct passdb_lookup L;
	enum passdb_status st = PASSDB_USER_UNKNOWN;
	int success = 0, seen_internal = 0, next = 0, fail_nodelay = 0;
	char *fail_reason = NULL;

	memset(out, 0, sizeof(*out));
	memset(&L, 0, sizeof(L));
	L.req = req;
	L.res = out;
	if ((out->user = strdup(req->user != NULL ? req->user : "")) == NULL) {
		out->status = PASSDB_INTERNAL_FAILURE;
		return 0;
	}
	for (size_t i = 0; i < chain->n; i++) {
		struct passdb *db = &chain->dbs[i];
		struct passdb_result snap;
		enum passdb_rule rule;
		int cont = 0;

		L.db_name = passdb_drv_name(db->drv);
		L.failed = L.nopassword = L.noauthenticate = L.stored_noscheme = 0;
		free(L.stored);
		L.stored = NULL;
		if (passdb_result_copy(out, &snap) < 0) {
			st = PASSDB_INTERNAL_FAILURE;
			next = 0;
			break;
		}
		passdb_log(&L, LOG_LEVEL_DEBUG, "Performing passdb lookup");
		uint64_t t0 = metrics_now_us();
		st = passdb_drv_lookup(db->drv, &L);
		metrics_observe(&passdb_lookup_seconds, metrics_now_us() - t0, METRICS_VALUES(L.db_name));
		next = st == PASSDB_OK && L.noauthenticate;
		if (L.failed && st == PASSDB_OK && !next)
			st = PASSDB_USER_UNKNOWN;	/* Dovecot: allow_nets, fail=yes */

		if (next) {
			passdb_log(&L, LOG_LEVEL_DEBUG,
			    "Not performing authentication (noauthenticate set)");
			rule = RULE_CONTINUE;
		} else
			rule = st == PASSDB_OK ? db->on_success :
			    st == PASSDB_INTERNAL_FAILURE ? db->on_internal : db->on_failure;
		switch (rule) {
		case RULE_RETURN:
			break;
		case RULE_RETURN_OK:
			success = 1;
			break;
		case RULE_RETURN_FAIL:
			success = 0;
			break;
		case RULE_CONTINUE:
			cont = 1;
			if (st == PASSDB_OK && !next)
				L.skip_password_check = 1;
			break;
		case RULE_CONTINUE_OK:
			cont = 1;
			success = 1;
			L.skip_password_check = 1;
			break;
		case RULE_CONTINUE_FAIL:
			cont = 1;
			success = 0;
			break;
		}
		if (st == PASSDB_OK || next)
			passdb_result_free(&snap);
		else {
			/* this passdb failed: undo what it set, but remember what speaks
			 * about the failure itself (Dovecot keeps these as request flags) */
			const char *reason = passdb_field(out, "reason");
			fail_nodelay |= passdb_field(out, "nodelay") != NULL;
			if (reason && *reason) {
				free(fail_reason);
				fail_reason = strdup(reason);
			}
			passdb_result_free(out);
			*out = snap;
		}
		if (!cont || i + 1 == chain->n)
			break;
		if (st == PASSDB_INTERNAL_FAILURE)
			seen_internal = 1;
	}
	free(L.stored);

	if (next) {
		passdb_log(&L, LOG_LEVEL_ERROR,
		    "Last passdb had noauthenticate field, cannot authenticate user");
		st = PASSDB_INTERNAL_FAILURE;
	} else if (success)
		st = PASSDB_OK;
	else if (seen_internal)
		st = PASSDB_INTERNAL_FAILURE;
	else if (st == PASSDB_OK)
		st = PASSDB_PASSWORD_MISMATCH;	/* found, but a rule said it fails */
	if (st != PASSDB_OK) {
		if (fail_nodelay)
			passdb_result_set(out, "nodelay", NULL);
		if (fail_reason && passdb_field(out, "reason") == NULL)
			passdb_result_set(out, "reason", fail_reason);
	}
	free(fail_reason);
	out->status = st;
	return st == PASSDB_OK;
}


struct passdb_chain *
passdb_chain_new(void)
{
	return calloc(1, sizeof(struct passdb_chain));
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
	for (size_t i = 0; i < chain->n; i++)
		passdb_drv_free(chain->dbs[i].drv);
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
