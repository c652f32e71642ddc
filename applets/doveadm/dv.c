/* SPDX-License-Identifier: MIT */
/* applets/doveadm/dv.c: doveadm's ways of failing and of reaching a socket, with its
 * exact texts: "Error:"/"Fatal:" lines, glibc's strerror() wording, usage lines, and
 * doveadm_connect()'s choice between a UNIX socket and host:port. */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "applets/doveadm/doveadm.h"
#include "applets/doveadm/dv.h"
#include "applets/doveadm/print.h"
#include "core/ip.h"

#include "core/hostres.h"
#include "core/str.h"
#include "core/tab.h"

static void
log_line(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
dv_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("Error: ", fmt, ap);
	va_end(ap);
}

void
dv_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("Warning: ", fmt, ap);
	va_end(ap);
}

void
dv_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("Info: ", fmt, ap);
	va_end(ap);
}

void
dv_fatal(const char *fmt, ...)
{
	va_list ap;

	print_discard();
	va_start(ap, fmt);
	log_line("Fatal: ", fmt, ap);
	va_end(ap);
	exit(DOVEADM_EX_TEMPFAIL);
}

void
dv_fatal_status(int status, const char *fmt, ...)
{
	va_list ap;

	print_discard();
	va_start(ap, fmt);
	log_line("Fatal: ", fmt, ap);
	va_end(ap);
	exit(status);
}

void
dv_usage(const struct doveadm_cmd *cmd)
{
	print_discard();
	fprintf(stderr, "doveadm %s %s\n", cmd->name, cmd->usage);
	exit(DOVEADM_EX_USAGE);
}

/* Where musl's wording differs from glibc's for errors a socket client can meet. */
static const struct {
	int num;
	const char *text;
} glibc_errors[] = {
	{ ENAMETOOLONG, "File name too long" },
	{ ELOOP, "Too many levels of symbolic links" },
	{ ETIMEDOUT, "Connection timed out" },
	{ ENOTSOCK, "Socket operation on non-socket" },
	{ EMFILE, "Too many open files" },
	{ ENOMEM, "Cannot allocate memory" },
	{ EIO, "Input/output error" },
	{ EADDRNOTAVAIL, "Cannot assign requested address" },
	{ ENETUNREACH, "Network is unreachable" },
	{ EHOSTUNREACH, "No route to host" },
	{ EMSGSIZE, "Message too long" },
	{ EOVERFLOW, "Value too large for defined data type" },
};

const char *
dv_strerror(int errnum)
{
	for (size_t i = 0; i < sizeof(glibc_errors) / sizeof(glibc_errors[0]); i++) {
		if (glibc_errors[i].num == errnum)
			return glibc_errors[i].text;
	}
	return strerror(errnum);
}

char *
dv_socket_path(const struct doveadm_ctx *ctx, const char *name)
{
	size_t len = strlen(ctx->base_dir) + 1 + strlen(name) + 1;
	char *path = malloc(len);

	if (path == NULL)
		dv_fatal("Out of memory");
	str_fmt(path, len, "%s/%s", ctx->base_dir, name);
	return path;
}

int
dv_connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* doveadm_tcp_connect(): "host:port", the port is required. */
static int
connect_tcp(const char *target)
{
	char buf[1024];
	const char *host, *why;
	unsigned int port;
	struct ip_addr ip;
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (str_copy(buf, target, sizeof(buf)) >= sizeof(buf) ||
	    ip_hostport_parse(buf, &host, &port, 0) < 0 || port == 0)
		dv_fatal("Port not known for %s. Either set proxy_port or use %s:port",
		    target, target);
	if (hostres_lookup(host, &ip, 1, &why) < 0)
		dv_fatal("Lookup of host %s failed: %s", host, why);
	if (ip_to_sockaddr(&ip, port, &ss, &sslen) < 0)
		dv_fatal("Port not known for %s", target);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sslen) < 0) {
		int e = errno;
		char ipstr[IP_ADDR_STRLEN];
		dv_fatal("connect(%s:%u) failed: %s", ip_format(&ip, ipstr, sizeof(ipstr)),
		    port, dv_strerror(e));
	}
	return fd;
}

int
dv_connect(const char *path)
{
	if (strchr(path, '/') == NULL)
		return connect_tcp(path);
	int fd = dv_connect_unix(path);
	if (fd < 0)
		dv_fatal("net_connect_unix(%s) failed: %s", path, dv_strerror(errno));
	return fd;
}

char **
dv_split_tabescaped(char *line, size_t *nfields)
{
	size_t n = *line == '\0' ? 0 : 1;

	for (const char *p = line; *p != '\0'; p++)
		n += *p == '\t';
	char **f = calloc(n + 1, sizeof(*f));
	if (f == NULL)
		dv_fatal("Out of memory");
	for (size_t i = 0; i < n; i++) {
		char *tab = strchr(line, '\t');
		if (tab != NULL)
			*tab = '\0';
		f[i] = line;
		tab_unescape(line);
		line = tab != NULL ? tab + 1 : line;
	}
	if (nfields != NULL)
		*nfields = n;
	return f;
}

int
dv_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
dv_handshake(int fd, struct dline_reader *r, const char *path, const char *hello,
    const char *service, const char *kind)
{
	char *line, prefix[96];
	size_t plen;

	if (dv_write_all(fd, hello, strlen(hello)) < 0)
		dv_fatal("write(%s) failed: %s", path, dv_strerror(errno));
	int ret = dline_reader_line(r, &line, 5000);
	if (ret == -1)
		dv_fatal("read(%s) failed: %s", path, dv_strerror(errno));
	if (ret == 0)
		dv_fatal("%s disconnected", path);
	/* doveadm's alarm(5) interrupts its read(), so it never reaches its own "timed
	 * out" texts but reports the EINTR */
	if (ret == -2)
		dv_fatal("read(%s) failed: read(size=8192) failed: Interrupted system call", path);
	/* version_string_verify(): service and major must match, any minor */
	plen = str_fmt(prefix, sizeof(prefix), "VERSION\t%s\t1\t", service);
	if (plen >= sizeof(prefix) || strncmp(line, prefix, plen) != 0)
		dv_fatal_status(DOVEADM_EX_PROTOCOL, "%s not a compatible %s socket", path, kind);
}
