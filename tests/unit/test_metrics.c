/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/metrics.h"

static char *
render(int om)
{
	static char text[65536];
	struct buf b = { 0 };
	CHECK_INT(metrics_render(&b, om), 0);
	size_t n = buf_len(&b) < sizeof(text) - 1 ? buf_len(&b) : sizeof(text) - 1;
	memcpy(text, buf_data(&b), n);
	text[n] = '\0';
	buf_release(&b);
	return text;
}

static void
collect_two(struct metrics_family *f, void *arg)
{
	if (*(int *)arg >= 0)
		metrics_set(f, *(int *)arg, METRICS_VALUES("imap", "proxying"));
}

TEST(metrics_text_and_openmetrics)
{
	static const uint64_t bounds[] = { 1000, 250000, 1000000, 0 };
	static struct metrics_family c = { .name = "t_logins", .help = "Logins",
	    .type = METRICS_COUNTER, .labels = { "protocol", "result" } };
	static struct metrics_family z = { .name = "t_kicks", .help = "Kicks", .type = METRICS_COUNTER };
	static struct metrics_family g = { .name = "t_sessions", .help = "Sessions",
	    .type = METRICS_GAUGE, .labels = { "protocol", "state" } };
	static struct metrics_family h = { .name = "t_login_seconds", .help = "Login time",
	    .type = METRICS_HISTOGRAM, .labels = { "protocol" }, .bounds = bounds };
	int n = 7;

	metrics_reset();
	metrics_register(&c);
	metrics_register(&z);
	metrics_register_collect(&g, collect_two, &n);
	metrics_register(&h);
	METRICS_INC(c, "imap", "success");
	METRICS_INC(c, "imap", "success");
	METRICS_ADD(c, 3, "pop3", "auth \"failed\"\n\\");
	metrics_observe(&h, 500, METRICS_VALUES("imap"));
	metrics_observe(&h, 250000, METRICS_VALUES("imap"));
	metrics_observe(&h, 2500000, METRICS_VALUES("imap"));
	metrics_build_info("unit");

	const char *t = render(0);
	CHECK_CONTAINS(t, "# HELP t_logins_total Logins\n# TYPE t_logins_total counter\n"
	    "t_logins_total{protocol=\"imap\",result=\"success\"} 2\n"
	    "t_logins_total{protocol=\"pop3\",result=\"auth \\\"failed\\\"\\n\\\\\"} 3\n");
	CHECK_CONTAINS(t, "# TYPE t_kicks_total counter\nt_kicks_total 0\n");
	CHECK_CONTAINS(t, "t_sessions{protocol=\"imap\",state=\"proxying\"} 7\n");
	CHECK_CONTAINS(t, "t_login_seconds_bucket{protocol=\"imap\",le=\"0.001\"} 1\n"
	    "t_login_seconds_bucket{protocol=\"imap\",le=\"0.25\"} 2\n"
	    "t_login_seconds_bucket{protocol=\"imap\",le=\"1\"} 2\n"
	    "t_login_seconds_bucket{protocol=\"imap\",le=\"+Inf\"} 3\n"
	    "t_login_seconds_sum{protocol=\"imap\"} 2.7505\n"
	    "t_login_seconds_count{protocol=\"imap\"} 3\n");
	CHECK_CONTAINS(t, "# TYPE mtool_build_info gauge\nmtool_build_info{version=\"");
	CHECK(strstr(t, "# EOF") == NULL);

	/* collect runs again on each render, from 0 */
	n = 0;
	t = render(1);
	CHECK_CONTAINS(t, "t_sessions{protocol=\"imap\",state=\"proxying\"} 0\n");
	CHECK_CONTAINS(t, "# TYPE t_logins counter\nt_logins_total{protocol=\"imap\"");
	CHECK_CONTAINS(t, "# TYPE mtool_build info\nmtool_build_info{");
	size_t len = strlen(t);
	CHECK(len > 6 && strcmp(t + len - 6, "# EOF\n") == 0);
	/* a series the collect callback no longer sets is not shown */
	n = -1;
	t = render(0);
	CHECK(strstr(t, "t_sessions{") == NULL);
	CHECK_CONTAINS(t, "# TYPE t_sessions gauge\n");
	metrics_reset();
}

TEST(metrics_series_cap)
{
	static struct metrics_family c = { .name = "t_cap", .help = "Capped", .type = METRICS_COUNTER,
	    .labels = { "backend" } };
	char name[32];
	metrics_reset();
	metrics_register(&c);
	for (int i = 0; i < METRICS_SERIES_MAX + 10; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		METRICS_INC(c, name);
	}
	METRICS_INC(c, "b0");
	const char *t = render(0);
	CHECK_CONTAINS(t, "t_cap_total{backend=\"b0\"} 2\n");
	CHECK_CONTAINS(t, "t_cap_total{backend=\"other\"} 10\n");
	metrics_reset();
}

TEST(http_parse_requests)
{
	static const struct {
		const char *in;
		int result;	/* > 0: the whole input is the head */
		int method, metrics, om;
	} t[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 1, HTTP_GET, 1, 0 },
		{ "GET /metrics?x=1 HTTP/1.0\n\n", 1, HTTP_GET, 1, 0 },
		{ "HEAD /metrics HTTP/1.1\r\nhost: x\r\nAccept: text/plain;q=0.5,Application/OpenMetrics-Text;version=1.0.0\r\n\r\n", 1, HTTP_HEAD, 1, 1 },
		{ "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 1, HTTP_OTHER, 1, 0 },
		{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1, HTTP_GET, 0, 0 },
		{ "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", 1, HTTP_GET, 0, 0 },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, 0, 0, 0 },
		{ "GET /met", 0, 0, 0, 0 },
		{ "GET /metrics HTTP/1.1\r\n\r\n", -400, 0, 0, 0 },		/* no Host */
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -400, 0, 0, 0 },
		{ "GET /metrics HTTP/2.0\r\n\r\n", -400, 0, 0, 0 },
		{ "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", -400, 0, 0, 0 },
		{ "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", -400, 0, 0, 0 },
		{ "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", -400, 0, 0, 0 },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", -400, 0, 0, 0 },
		{ "GET /metrics HTTP/1.1\r\nHost: x\0y\r\n\r\n", -400, 0, 0, 0 },
		{ "GET /metrics HTTP/1.1\r\nHost: x\ry\r\n\r\n", -400, 0, 0, 0 },
		{ "G\x80T /metrics HTTP/1.1\r\n", -400, 0, 0, 0 },
		{ "\r\n", -400, 0, 0, 0 },
		{ "\x16\x03\x01\x02", -400, 0, 0, 0 },		/* a TLS hello, before any LF */
		{ "GET /metrics HTTP/1.1\r\nHost: \x01", -400, 0, 0, 0 },
	};
	static const char nul[] = "GET /metrics HTTP/1.1\r\nHost: x\0y\r\n\r\n";
	struct http_request req;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = strlen(t[i].in);
		if (len + 1 < sizeof(nul) && memcmp(t[i].in, nul, len + 1) == 0)
			len = sizeof(nul) - 1;	/* the case with a NUL inside */
		int r = http_parse(t[i].in, len, &req);
		int want = t[i].result == 1 ? (int)len : t[i].result;
		if (r != want) {
			unit_fail(__FILE__, __LINE__, "http_parse case %zu: %d, expected %d", i, r, want);
			continue;
		}
		if (r > 0) {
			CHECK_INT(req.method, t[i].method);
			CHECK_INT(req.metrics_path, t[i].metrics);
			CHECK_INT(req.openmetrics, t[i].om);
		}
	}

	/* the head limit: incomplete below it, 431 at it */
	static char big[HTTP_HEAD_MAX + 10];
	strcpy(big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX: ");
	memset(big + strlen(big), 'a', sizeof(big) - strlen(big));
	CHECK_INT(http_parse(big, HTTP_HEAD_MAX - 1, &req), 0);
	CHECK_INT(http_parse(big, HTTP_HEAD_MAX, &req), -431);
	CHECK_INT(http_parse(big, sizeof(big), &req), -431);

	/* too many headers */
	char many[HTTP_HEAD_MAX];
	size_t n = (size_t)snprintf(many, sizeof(many), "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "A: b\r\n");
	n += (size_t)snprintf(many + n, sizeof(many) - n, "\r\n");
	CHECK_INT(http_parse(many, n, &req), -431);
}
