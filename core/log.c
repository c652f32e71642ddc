/* SPDX-License-Identifier: MIT */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "core/str.h"
#include "core/timefmt.h"

static struct {
	char prefix[64];
	int debug;
	int syslog;
	int syslog_fd;			/* -1: not connected (yet, or the daemon went away) */
	struct sockaddr_un syslog_addr;
	char *path;			/* log_path when it is a file, for log_reopen() */
	/* info_log_path and debug_log_path: their files' names and descriptors (-1: the
	 * level goes where the one above it goes) */
	char *level_path[2];
	int level_fd[2];
	char stamp[64];			/* log_timestamp; "": Dovecot's default */
	char ident[64];			/* instance_name for syslog; "": the prefix */
} log_state = { "mtool", 0, 0, -1, { AF_UNIX, MTOOL_SYSLOG_PATH }, NULL, { NULL, NULL },
    { -1, -1 }, "", "" };

static const char *const level_names[] = {
	[LOG_LEVEL_DEBUG] = "Debug: ",
	[LOG_LEVEL_INFO] = "Info: ",
	[LOG_LEVEL_WARNING] = "Warning: ",
	[LOG_LEVEL_ERROR] = "Error: ",
	[LOG_LEVEL_FATAL] = "Fatal: ",
};

static const int syslog_prio[] = {
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
	[LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_WARNING] = LOG_WARNING,
	[LOG_LEVEL_ERROR] = LOG_ERR,
	[LOG_LEVEL_FATAL] = LOG_CRIT,
};

/* syslog(3) without libc's: a datagram to the log socket in RFC 3164's form, as musl's
 * would send it ("<PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE"), facility mail. Our own,
 * because musl's formats its stamp with strftime(3), whose locale tables cost the static
 * binary 5 KiB. A socket that went away (syslogd restarted) is reconnected once per
 * message; a message that still cannot go is dropped, as syslog(3) drops it. */
static void
syslog_connect(void)
{
	if (log_state.syslog_fd >= 0)
		close(log_state.syslog_fd);
	log_state.syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (log_state.syslog_fd >= 0 && connect(log_state.syslog_fd,
	    (struct sockaddr *)&log_state.syslog_addr, sizeof(log_state.syslog_addr)) < 0) {
		close(log_state.syslog_fd);
		log_state.syslog_fd = -1;
	}
}

static void
syslog_send(enum log_level level, const char *msg)
{
	char pkt[LOG_LINE_MAX + 128];
	size_t len = str_fmt(pkt, sizeof(pkt), "<%d>", LOG_MAIL | syslog_prio[level]);

	len += timefmt_log(pkt + len, sizeof(pkt) - len, time(NULL));
	if (log_state.ident[0] != '\0')	/* Dovecot: "dovecot[PID]: imap-login: ..." */
		len += str_fmt(pkt + len, sizeof(pkt) - len, " %s[%d]: %s: %s", log_state.ident,
		    (int)getpid(), log_state.prefix, msg);
	else
		len += str_fmt(pkt + len, sizeof(pkt) - len, " %s[%d]: %s", log_state.prefix,
		    (int)getpid(), msg);
	if (len >= sizeof(pkt))
		len = sizeof(pkt) - 1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (log_state.syslog_fd < 0 || attempt > 0)
			syslog_connect();
		if (log_state.syslog_fd >= 0 && send(log_state.syslog_fd, pkt, len, MSG_NOSIGNAL) >= 0)
			return;
	}
}

int
log_open(const char *prefix, const char *path, int debug)
{
	if (strcmp(path, "syslog") == 0 || strncmp(path, "syslog:", 7) == 0) {
		const char *sock = path[6] == ':' ? path + 7 : MTOOL_SYSLOG_PATH;
		if (str_copy(log_state.syslog_addr.sun_path, sock,
		    sizeof(log_state.syslog_addr.sun_path)) >= sizeof(log_state.syslog_addr.sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		log_init(prefix, debug, 1);
		return 0;
	}
	log_init(prefix, debug, 0);
	free(log_state.path);
	log_state.path = NULL;
	if (*path == '\0' || strcmp(path, "/dev/stderr") == 0)
		return 0;
	if ((log_state.path = strdup(path)) == NULL)
		return -1;
	return log_reopen();
}

static int
reopen_levels(void)
{
	for (int i = 0; i < 2; i++) {
		if (log_state.level_path[i] == NULL)
			continue;
		int fd = open(log_state.level_path[i], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0640);
		if (fd < 0)
			return -1;
		if (log_state.level_fd[i] >= 0)
			close(log_state.level_fd[i]);
		log_state.level_fd[i] = fd;
	}
	return 0;
}

int
log_open_levels(const char *info_path, const char *debug_path)
{
	const char *paths[2] = { debug_path, info_path };

	for (int i = 0; i < 2; i++) {
		free(log_state.level_path[i]);
		log_state.level_path[i] = NULL;
		if (log_state.level_fd[i] >= 0)
			close(log_state.level_fd[i]);
		log_state.level_fd[i] = -1;
		if (paths[i] == NULL || *paths[i] == '\0')
			continue;
		if (log_state.syslog || strcmp(paths[i], "syslog") == 0 ||
		    strncmp(paths[i], "syslog:", 7) == 0) {
			/* Dovecot can mix syslog and files; this logger cannot */
			if (log_state.syslog && strcmp(paths[i], "syslog") == 0)
				continue;
			errno = ENOTSUP;
			return -1;
		}
		if ((log_state.level_path[i] = strdup(paths[i])) == NULL)
			return -1;
	}
	return reopen_levels();
}

void
log_set_ident(const char *ident)
{
	str_copy(log_state.ident, ident != NULL ? ident : "", sizeof(log_state.ident));
}

int
log_set_timestamp(const char *fmt, char *bad)
{
	if (fmt == NULL) {
		log_state.stamp[0] = '\0';
		return 0;
	}
	if (timefmt_strf_check(fmt, bad) < 0)
		return -1;
	if (str_copy(log_state.stamp, fmt, sizeof(log_state.stamp)) >= sizeof(log_state.stamp)) {
		log_state.stamp[0] = '\0';
		*bad = '\0';
		return -1;
	}
	return 0;
}

int
log_reopen(void)
{
	if (reopen_levels() < 0)
		return -1;
	if (log_state.syslog) {
		if (log_state.syslog_fd >= 0)
			close(log_state.syslog_fd);
		log_state.syslog_fd = -1;
		syslog_connect();
		return 0;
	}
	if (log_state.path == NULL)
		return 0;
	int fd = open(log_state.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (fd != STDERR_FILENO && dup2(fd, STDERR_FILENO) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (fd != STDERR_FILENO)
		close(fd);
	return 0;
}

void
log_init(const char *prefix, int debug, int use_syslog)
{
	log_set_prefix(prefix);
	log_state.debug = debug;
	log_state.syslog = use_syslog;
	if (use_syslog) {
		/* now, before a chroot or privilege drop could make the socket unreachable */
		syslog_connect();
	} else if (log_state.syslog_fd >= 0) {
		close(log_state.syslog_fd);
		log_state.syslog_fd = -1;
	}
}

void
log_set_prefix(const char *prefix)
{
	str_copy(log_state.prefix, prefix, sizeof(log_state.prefix));
}

void
log_set_debug(int debug)
{
	log_state.debug = debug;
}

int
log_debug_enabled(void)
{
	return log_state.debug;
}

void
log_vmsg(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t len = 0, n;
	int saved_errno = errno;

	if (level == LOG_LEVEL_DEBUG && !log_state.debug)
		return;
	if (!log_state.syslog && log_state.stamp[0] != '\0') {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		/* at most 4 times the format's 63 bytes: LOG_LINE_MAX has room */
		len = timefmt_strf(line, 256, log_state.stamp, ts.tv_sec, ts.tv_nsec / 1000);
		len += str_fmt(line + len, sizeof(line) - len, "%s: ", log_state.prefix);
	} else if (!log_state.syslog) {
		len = timefmt_log(line, sizeof(line), time(NULL));
		line[len++] = ' ';	/* the stamp is 15 bytes: LOG_LINE_MAX has room */
		len += str_fmt(line + len, sizeof(line) - len, "%s: ", log_state.prefix);
	}
	len += str_copy(line + len, level_names[level], sizeof(line) - len);
	/* the last byte is kept for the LF; "..." marks a message that did not fit */
	int truncated = 0;
	n = str_vfmt(line + len, sizeof(line) - len, fmt, ap);
	if (len + n >= sizeof(line))
		truncated = 1;
	else
		len += n;
	if (with_errno && !truncated) {
		n = str_fmt(line + len, sizeof(line) - len, ": %s", strerror(saved_errno));
		if (len + n >= sizeof(line))
			truncated = 1;
		else
			len += n;
	}
	if (truncated) {
		memcpy(line + sizeof(line) - 4, "...", 3);
		len = sizeof(line) - 1;
	}

	if (log_state.syslog) {
		syslog_send(level, line);
	} else {
		line[len++] = '\n';
		int fd = STDERR_FILENO;
		if (level == LOG_LEVEL_DEBUG && log_state.level_fd[0] >= 0)
			fd = log_state.level_fd[0];
		else if (level <= LOG_LEVEL_INFO && log_state.level_fd[1] >= 0)
			fd = log_state.level_fd[1];
		/* one write per line so that lines of several processes do not interleave */
		ssize_t w = write(fd, line, len);
		(void)w;
	}
	errno = saved_errno;
}

#define LOG_FN(fn, level, with_errno) \
	void fn(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		log_vmsg(level, with_errno, fmt, ap); \
		va_end(ap); \
	}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_warn, LOG_LEVEL_WARNING, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARNING, 0)
LOG_FN(log_error, LOG_LEVEL_ERROR, 1)
LOG_FN(log_errorx, LOG_LEVEL_ERROR, 0)

void
log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_FATAL, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_FATAL, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
