/* SPDX-License-Identifier: MIT */
/* core/log.h: Dovecot-style log lines ("<time> <prefix>: Info: <message>") to stderr or
 * syslog. Not a session logger: callers add "proxy(user): " themselves.
 * Suffix rule (OpenBSD): log_warn/log_error/log_fatal append ": strerror(errno)";
 * the x forms (log_warnx, log_errorx, log_fatalx) do not. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARNING, LOG_LEVEL_ERROR, LOG_LEVEL_FATAL };

/* prefix: the process's name as Dovecot prints it ("imap-login", "director"); copied. */
void log_init(const char *prefix, int debug, int use_syslog);
void log_set_prefix(const char *prefix);
/* log_init() for a daemon's log_path setting: "" or "/dev/stderr" keeps stderr, "syslog"
 * logs to /dev/log (facility mail), "syslog:PATH" to the syslog socket PATH, anything else is a file appended to (stderr is redirected to it, so that
 * sanitizer and fatal messages land there too). Returns 0, or -1 with errno set. */
int log_open(const char *prefix, const char *log_path, int debug);
/* Opens log_path's file again by its name (SIGUSR1, after logrotate moved it away), or
 * reconnects to syslog; nothing to do for stderr. Returns 0, or -1 with errno and the old
 * file still in use (the new one must be writable by the user the daemon runs as). */
int log_reopen(void);
/* Dovecot's info_log_path and debug_log_path, after log_open(): info lines go to the
 * first file, debug lines to the second ("" or NULL: where info lines go, as in Dovecot).
 * Files only; "syslog" is accepted when log_path is syslog too (Dovecot can mix the two,
 * this logger cannot: -1 with errno ENOTSUP). Reopened by log_reopen(). Returns 0, or -1
 * with errno set. */
int log_open_levels(const char *info_path, const char *debug_path);
/* Dovecot's log_timestamp for lines written to files or stderr (see timefmt_strf; the
 * format includes its trailing space, "%b %d %H:%M:%S " being the default). NULL: that
 * default. Returns 0, or -1 with the unsupported conversion's letter in *bad ('\0': the
 * format is longer than 63 bytes). */
int log_set_timestamp(const char *fmt, char *bad);
/* Dovecot's instance_name as the syslog tag, the prefix then starting the message as in
 * Dovecot's syslog lines ("dovecot[PID]: imap-login: Info: ..."). NULL or "": the tag is
 * the prefix (mtool's own form). */
void log_set_ident(const char *ident);
void log_set_debug(int debug);
int log_debug_enabled(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up only: log and exit(1). */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

void log_vmsg(enum log_level, int with_errno, const char *fmt, va_list ap);

#endif
