/* SPDX-License-Identifier: MIT */
/* config.h: compile-time defaults. Every value here can be overridden in the config file
 * or with -o unless it says otherwise; each line states what it costs. */
#ifndef MTOOL_CONFIG_H
#define MTOOL_CONFIG_H

#define MTOOL_VERSION		"0.1.0"

/* Default configuration file for every applet (-c overrides). */
#define MTOOL_CONF_PATH		"/etc/mtool/mtool.conf"

/* Dovecot's base_dir as Debian installs it, so that doveadm and mtool find each other's
 * sockets without options. */
#define MTOOL_SYSLOG_PATH	"/dev/log"	/* log_path = syslog */
#define MTOOL_BASE_DIR		"/run/dovecot"
#define MTOOL_STATE_DIR		"/var/lib/dovecot"	/* Dovecot's state_dir: what survives a reboot */

/* Hard limits checked where bytes enter. */
#define CONF_LINE_MAX		8192	/* one config line, after joining continuations */
#define CONF_INCLUDE_DEPTH	16	/* nested !include */
#define CONF_INCLUDE_FILES_MAX	1024	/* files matched by one !include pattern */
#define CONF_VALUE_FILE_MAX	(1024 * 1024)	/* key = <file */
#define DLINE_MAX		16384	/* Dovecot's auth protocol line limit; used for all admin sockets */
#define DLINE_READER_MAX	(16u * 1024 * 1024)	/* one reply line to doveadm (proxy list, director map) */
#define PASSDB_TIMEOUT_MS	60000	/* one passdb lookup (Dovecot's SQL_QUERY_TIMEOUT_SECS) */
#define LOG_LINE_MAX		4096	/* one log line; longer messages are truncated with "..." */

/* proxyd pre-login limits (Dovecot's login processes use a few KiB too). */
#define LOGIN_MAX_CMD		8192	/* one IMAP command incl. literals, one POP3/SASL line */
#define LOGIN_MAX_ARGS		64	/* arguments of one pre-login IMAP command */
#define LOGIN_MAX_BAD_CMDS	3	/* bad commands before the connection is closed (Dovecot's) */
#define LOGIN_MAX_AUTH_ATTEMPTS	3	/* failed logins before the connection is closed */
#define SMTP_LOGIN_MAX_LINE	1030	/* pre-login SMTP command line without CRLF (Dovecot's, measured) */
#define SMTP_LOGIN_MAX_BAD_CMDS	10	/* consecutive bad SMTP commands; the next one closes */
#define SMTP_MAX_REPLY		16384	/* one multi-line reply from a backend, all lines */

/* proxyd LMTP limits (compile-time only). A command line is Dovecot's smtp-server limit;
 * a recipient costs about 300 bytes plus its addresses while the transaction lasts. */
#define LMTP_MAX_CMD		4096	/* one LMTP command line */
#define LMTP_MAX_REPLY		4096	/* one reply line from a backend (Dovecot's LMTP_MAX_REPLY_SIZE) */
#define LMTP_MAX_RCPTS		1000	/* accepted recipients in one transaction */
#define LMTP_MAX_BAD_CMDS	10	/* invalid commands before the connection is closed */

/* doveadm director limits. */
#define DOVEADM_DIRECTOR_MAX_IPS	64	/* addresses one host name may stand for */
#define DOVEADM_DIRECTOR_HASH_MAX	4096	/* director_username_hash expanded for one user */
#define DOVEADM_DIRECTOR_USERS_MAX	(16 * 1024 * 1024)	/* `map`: names from the userdb or -f;
						 * about 40 bytes each */

/* directord: what one proxy connection may make it hold (each costs ~100 bytes). */
#define DIRECTOR_PENDING_MAX	100000	/* lookups held (user being moved, no host) */
#define DIRECTOR_PROXY_SESSIONS_MAX	1000000	/* open sessions reported by one proxy */
#define DIRECTOR_SESSIONS_MAX	1000000	/* director_max_sessions' default: over all proxies */

/* TLS (core/tls.h). The input buffer must take the largest record a peer may send
 * (16 KiB + 325, BR_SSL_BUFSIZE_INPUT): smaller breaks interoperability. The output
 * buffer only bounds the records we make: 4 KiB records cost one send() per 4 KiB and
 * 29 bytes of overhead each, and save 12 KiB per connection against BearSSL's 16 KiB
 * default. Both live as long as the connection (BearSSL keeps partial records in them);
 * their pages go back to the kernel while the connection is idle (core/tls.c). */
#define TLS_IBUF_SIZE		(16384 + 325)
#define TLS_OBUF_SIZE		(4096 + 85)
/* Default of ssl_session_cache_size: session cache per server context (BearSSL's LRU,
 * about 100 bytes per session). */
#define TLS_SESSION_CACHE_BYTES	(256 * 1024)

#endif
