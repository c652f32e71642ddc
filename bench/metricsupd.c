/* SPDX-License-Identifier: MIT */
/* bench/metricsupd.c: what one metrics update costs (bench/metrics.py prints it; not part
 * of mtool, not a test). The families are shaped as proxyd's: a login counter with 36
 * series (4 protocols x 9 results, the one looked for is the last), the byte counter with
 * 10, a histogram with 4. Prints ns per update, per kind. */
#include <stdio.h>
#include <time.h>

#include "core/metrics.h"

#define N 10000000

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(void)
{
	static struct metrics_family logins = { .name = "b_logins", .help = "h",
	    .type = METRICS_COUNTER, .labels = { "protocol", "result" } };
	static struct metrics_family bytes = { .name = "b_bytes", .help = "h",
	    .type = METRICS_COUNTER, .labels = { "protocol", "direction" } };
	static struct metrics_family hist = { .name = "b_seconds", .help = "h",
	    .type = METRICS_HISTOGRAM, .labels = { "protocol" }, .bounds = metrics_bounds_latency };
	static const char *const protos[] = { "imap", "pop3", "submission", "sieve", "lmtp" };
	static const char *const results[] = { "success", "auth_failed", "auth_tempfail",
	    "auth_refused", "proxy_failed", "proxy_misconfigured", "backend_refused",
	    "backend_tempfail", "aborted" };
	metrics_register(&logins);
	metrics_register(&bytes);
	metrics_register(&hist);
	for (int p = 0; p < 4; p++)
		for (int r = 0; r < 9; r++)
			metrics_add(&logins, 0, METRICS_VALUES(protos[p], results[r]));
	for (int p = 0; p < 5; p++) {
		metrics_add(&bytes, 0, METRICS_VALUES(protos[p], "client_to_backend"));
		metrics_add(&bytes, 0, METRICS_VALUES(protos[p], "backend_to_client"));
		metrics_observe(&hist, 1000, METRICS_VALUES(protos[p]));
	}
	volatile unsigned int sink = 0;
	double t0 = now();
	for (int i = 0; i < N; i++)
		METRICS_INC(logins, "sieve", "aborted");	/* the last of 36 */
	double t1 = now();
	for (int i = 0; i < N; i++)
		METRICS_ADD(bytes, i & 1023, "imap", (i & 1) ? "client_to_backend" : "backend_to_client");
	double t2 = now();
	for (int i = 0; i < N; i++)
		metrics_observe(&hist, (uint64_t)(i & 0xfffff), METRICS_VALUES("sieve"));
	double t3 = now();
	for (int i = 0; i < N / 10; i++)
		sink += (unsigned int)metrics_now_us();
	double t4 = now();
	printf("login_counter_ns=%.1f bytes_counter_ns=%.1f histogram_ns=%.1f clock_ns=%.1f\n",
	    (t1 - t0) * 1e9 / N, (t2 - t1) * 1e9 / N, (t3 - t2) * 1e9 / N, (t4 - t3) * 1e9 / (N / 10));
	(void)sink;
	return 0;
}
