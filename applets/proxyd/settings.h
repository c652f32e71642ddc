/* SPDX-License-Identifier: MIT */
/* applets/proxyd/settings.h: proxyd's settings, read from the config once at start-up
 * (and on SIGHUP) into plain values. Not the config parser: core/conf.h is. */
#ifndef PROXYD_SETTINGS_H
#define PROXYD_SETTINGS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/ip.h"

#include "core/conf_known.h"
#include "core/tls.h"

struct conf;
struct proxyd_proto;

struct listener_set {
	const struct proxyd_proto *proto;
	const char *name;		/* inet_listener name, for logs */
	struct ip_addr ip;
	unsigned int port;
	int ssl;
	int haproxy;		/* haproxy = yes: a PROXY header comes first (haproxy_accept.c) */
	char *path;		/* unix_listener: the socket's path, else NULL */
	mode_t mode;
	uid_t uid;		/* (uid_t)-1: the process's */
	gid_t gid;
};

struct proto_set {			/* per protocol, from "protocol NAME { }" or the top level */
	const char *local_host;		/* proxy_local_host: where "log in locally" goes */
	unsigned int local_port;
	unsigned int client_limit, process_limit;	/* service X-login { } (limits.c) */
};

/* service ipc { unix_listener ipc { mode user group } }, and the same for anvil */
struct unix_listener_set {
	char path[512];
	mode_t mode;
	uid_t uid;		/* (uid_t)-1: the process's */
	gid_t gid;
};

/* submission_backend_capabilities: what the backends can do, so that the pre-login EHLO
 * promises nothing they cannot keep (Dovecot's names) */
#define SUBM_CAP_8BITMIME		0x001
#define SUBM_CAP_BINARYMIME		0x002
#define SUBM_CAP_BURL			0x004
#define SUBM_CAP_CHUNKING		0x008
#define SUBM_CAP_DSN			0x010
#define SUBM_CAP_ENHANCEDSTATUSCODES	0x020
#define SUBM_CAP_SIZE			0x040
#define SUBM_CAP_PIPELINING		0x080
#define SUBM_CAP_VRFY			0x100

struct proxyd_settings {
	struct conf *conf;
	struct conf_unused unused;	/* accepted, not used: logged at start-up */
	const char *base_dir;
	struct unix_listener_set ipc, anvil;
	struct listener_set *listeners;
	unsigned int nlisteners;
	const char *login_trusted_networks;
	const char *haproxy_trusted_networks;	/* who may send a PROXY header */
	unsigned int haproxy_timeout_ms;
	int allow_cleartext;		/* !disable_plaintext_auth */
	unsigned int auth_failure_delay_ms;
	char auth_mechanisms[64];	/* upper case, space separated: "PLAIN LOGIN" */
	const char *login_greeting;
	unsigned int login_timeout_ms;	/* pre-login inactivity */
	unsigned int login_proxy_timeout_ms;
	unsigned int login_proxy_max_reconnects;
	unsigned int login_proxy_max_disconnect_delay_ms;
	struct ip_addr *source_ips;	/* login_source_ips, resolved */
	unsigned int nsource_ips;
	const char *auth_proxy_self;
	const char *auth_master_user_separator;
	int imap_id_retain;
	const char *imap_id_send;	/* the pre-login ID answer (imap_id.c) */
	const char *resolv_conf;	/* proxy_resolv_conf: nameservers for host= names */
	const char *hosts_file;		/* proxy_hosts_file: looked at before them */
	const char *imap_id_log;	/* ID fields logged: "*", names, or "" for none */
	const char *imap_capability;	/* pre-login CAPABILITY without AUTH= parts, or NULL */
	const char *hostname;
	int hostname_owned;
	const char *default_login_user;
	int relay_splice;
	int verbose_auth;
	struct proto_set imap, pop3, lmtp, submission, sieve;
	unsigned int subm_backend_caps;	/* SUBM_CAP_* */
	int subm_exotic_backend;	/* submission_client_workarounds = exotic-backend */
	uint64_t subm_max_mail_size;	/* 0: SIZE without a number */
	const char *sieve_implementation;	/* managesieve_implementation_string */
	const char *sieve_capability;	/* managesieve_sieve_capability */
	const char *sieve_notify;	/* managesieve_notify_capability, or NULL */
	unsigned int max_clients;
	unsigned int login_max_prelogin_per_ip;	/* 0: no limit */
	int shutdown_clients;
	int auth_penalty;		/* no with anvil-auth-penalty's mode = 0, as Dovecot */
	unsigned int shutdown_clients_timeout_ms;
	const char *recipient_delimiter;	/* LMTP: characters that start a detail */
	const char *mail_temp_dir;		/* LMTP: where messages are spooled */
	unsigned long long lmtp_max_mail_size;	/* 0: no limit */
	const char *director_socket;	/* directord's proxy socket, or "" */

	/* TLS: ssl = no|yes|required; the PEM texts point into conf */
	enum { SSL_NO, SSL_YES, SSL_REQUIRED } ssl;
	struct tls_params tls_params;
	struct tls_cert_conf *certs;	/* [0] is ssl_cert/ssl_key, then local_name sections */
	unsigned int ncerts;
	struct local_cert_set {		/* local NET { ssl_cert ssl_key }, in file order */
		const char *net;
		const char *cert_pem, *key_pem;
	} *local_certs;
	unsigned int nlocal_certs;
	const char *ssl_client_ca_file, *ssl_client_ca_dir;	/* PEM text, directory */
	const char *ssl_client_cert, *ssl_client_key;
	size_t ssl_session_cache;	/* bytes; 0: no resumption */
};

/* Reads and checks everything; prints every error as "file:line: message" to errf.
 * Returns 0, or -1 after errors. The settings own the config. */
int settings_load(struct proxyd_settings *, const char *path, char *const *overrides,
    size_t noverrides, FILE *errf);
void settings_free(struct proxyd_settings *);
/* What proxyd uses of a config (core/conf_known.h). */
extern const struct conf_applet settings_conf;
const struct proto_set *settings_proto(const struct proxyd_settings *, const char *proto);
/* The protocols of this build, in the order of settings.c's list (the one list of them):
 * the i-th, or NULL past the last; and the one called name, or NULL. */
const struct proxyd_proto *settings_protos(unsigned int i);
const struct proxyd_proto *settings_protos_named(const char *name);

#endif
