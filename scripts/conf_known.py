#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes core/conf_known_tab.h, the names core/conf_known.c knows, from Dovecot 2.3's
`doveconf -a` of an empty config (its defaults) and the lists below.

    doveconf -c /dev/null -a > /tmp/dc.txt   # an empty file works too
    python3 scripts/conf_known.py /tmp/dc.txt > core/conf_known_tab.h

A name is a '/'-joined path of section types down to the setting ("passdb/deny",
"service/inet_listener/reuse_port"), a section type followed by '/' ("namespace/"), or
"service NAME" for a service Dovecot has. Its class (core/conf_known.h) is the first byte
of what follows the name; the default, where Dovecot has one, the rest."""
import re
import sys

# Would change a login proxy's behaviour when set to anything but the default; mtool's
# proxyd does not implement them (proxyd's own schema wins for what it implements).
PROXY = """auth_username_format auth_username_translation auth_realms auth_default_realm
auth_policy_server_url auth_ssl_require_client_cert auth_ssl_username_from_cert
ssl_verify_client_cert ssl_ca ssl_alt_cert ssl_alt_key ssl_key_password
login_access_sockets login_plugins lmtp_client_workarounds
passdb/deny passdb/master passdb/pass passdb/skip passdb/mechanisms
passdb/username_filter passdb/default_fields passdb/override_fields""".split()
# The same for a director.
DIRECTOR = "director_flush_socket director_consistent_hashing".split()
# Settings only mtool has (each is used by one applet; unused in the others).
MTOOL = """auth_allow_cleartext auth_cache_verify_password_with_worker proxy_relay_splice
proxy_local_host proxy_local_port proxy_resolv_conf proxy_hosts_file lmtp_proxy_max_mail_size
submission_backend_capabilities director_socket director_state_file director_proxy_socket
director_admin_socket director_lookup_timeout director_proxy_max_connections
director_max_sessions director_health_check director_health_check_ports
director_health_check_interval director_health_check_timeout director_health_check_fails
director_health_check_rises director_health_check_flush
director_health_check_flush_max_parallel director_health_check_user
director_health_check_password director_health_check_ssl_ca_file
director_health_check_ssl_any_cert director_ring_alone director_ping_idle_timeout
director_ping_max_timeout director_output_buffer_size haproxy_timeout
replication_dsync_parameters replicator_pairs replicator_state_file
replicator_dsync_timeout replicator_connect_timeout replicator_retry_min
replicator_retry_max replicator_startup_rate replicator_list_users replicator_startup_sync
service/inet_listener/backend imap_capability""".split()
# Sections doveconf -a of an empty config does not show, with their settings
# ("*": any name, as plugin { } and dict { } take).
EXTRA = {
    "passdb": "driver args default_fields override_fields mechanisms username_filter skip "
              "result_success result_failure result_internalfail deny pass master "
              "auth_verbose name",
    "userdb": "driver args default_fields override_fields skip result_success "
              "result_failure result_internalfail auth_verbose name",
    "namespace": "type separator prefix location inbox hidden list subscriptions "
                 "ignore_on_failure disabled order",
    "namespace/mailbox": "auto special_use driver comment autoexpunge autoexpunge_max_mails",
    "plugin": "*", "dict": "*",
    "metric": "filter fields group_by description categories",
    "event_exporter": "format format_args transport transport_args transport_timeout",
}
FILTERS = "protocol local remote local_name".split()
# Dovecot's defaults too long to be worth their bytes: "-n" shows them when set.
DEFAULT_MAX = 48
BLOCK = 16


def main():
    ent = {}
    stack = []
    for line in open(sys.argv[1]):
        line = line.rstrip("\n")
        depth = (len(line) - len(line.lstrip(" "))) // 2
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        del stack[depth:]
        if s == "}":
            continue
        m = re.match(r"^([a-z_]+)(?: (\S+))? \{$", s)
        if m:
            stack.append(m.group(1))
            path = "/".join(stack)
            ent.setdefault(path + "/", ("s", None))
            if m.group(1) == "service":
                ent["service " + m.group(2)] = ("v", None)
            continue
        m = re.match(r"^([a-z_0-9]+) =(?: (.*))?$", s)
        if not m:
            sys.exit("cannot parse: " + line)
        path = "/".join(stack + [m.group(1)])
        val = m.group(2) or ""
        if path.startswith("service/") and path.count("/") == 1 and m.group(1) in (
                "executable", "protocol", "type", "user", "group", "extra_groups",
                "privileged_group", "chroot"):
            val = None  # differs from service to service
        ent[path] = ("u", val)
    for sec, keys in EXTRA.items():
        ent[sec + "/"] = ("s", None)
        for k in keys.split():
            ent[sec + "/" + k] = ("u", "" if k not in ("skip", "auth_verbose") else None)
    for f in FILTERS:
        ent[f + "/"] = ("f", None)
    for k in PROXY:
        ent[k] = ("p", ent.get(k, ("u", ""))[1])
    for k in DIRECTOR:
        ent[k] = ("d", ent.get(k, ("u", ""))[1])
    defaults = {"passdb/deny": "no", "passdb/master": "no", "passdb/pass": "no",
                "passdb/skip": "never"}
    for k, v in defaults.items():
        ent[k] = (ent[k][0], v)
    for k in MTOOL:
        if k not in ent:
            ent[k] = ("m", None)
    out = sys.stdout
    out.write("/* SPDX-License-Identifier: MIT */\n/* core/conf_known_tab.h: generated by "
              "scripts/conf_known.py from Dovecot 2.3.19's doveconf -a; do not edit. */\n")
    # Without the feature DOVECOT_SETTINGS (the router) only the section types, filters,
    # service names and settings inside services are kept: a dovecot.conf's structure
    # still checks, and any other setting mtool does not use is unknown to that build.
    out.write("#if FEATURE_ON(MTOOL_WITH_DOVECOT_SETTINGS)\n")
    write_table(out, ent, sorted(ent))
    out.write("#else\n")
    write_table(out, ent, sorted(n for n in ent if ent[n][0] in "sfv" or n.startswith("service/")))
    out.write("#endif\n")


def write_table(out, ent, names):
    # front coding: each entry is the number of leading bytes it shares with the one
    # before (0 every BLOCK entries, whose offsets are kept for the binary search), the
    # rest of its name, NUL, the class, the default, NUL
    out.write("#define KNOWN_BLOCK %d\n#define KNOWN_COUNT %d\n" % (BLOCK, len(names)))
    out.write("static const char known_blob[] =\n")
    heads = []
    pos = 0
    prev = ""
    for i, n in enumerate(names):
        if len(n) > 63:
            sys.exit("name too long: " + n)
        cls, val = ent[n]
        if val is not None and len(val) > DEFAULT_MAX:
            val = None
        k = 0
        if i % BLOCK == 0:
            heads.append(pos)
        else:
            while k < min(len(n), len(prev)) and n[k] == prev[k]:
                k += 1
        prev = n
        # the class letter is upper case when the default is not kept
        rest = n[k:] + "\0" + (cls if val is not None else cls.upper()) + (val or "") + "\0"
        pos += 1 + len(rest.encode())
        esc = rest.replace("\\", "\\\\").replace('"', '\\"').replace("\0", "\\0")
        out.write('\t"\\%03o%s"\n' % (k, esc))
    if pos > 65535:
        sys.exit("table too large for 16-bit offsets")
    out.write(";\n\nstatic const unsigned short known_head[%d] = {\n" % len(heads))
    for i in range(0, len(heads), 12):
        out.write("\t" + ", ".join(str(o) for o in heads[i:i + 12]) + ",\n")
    out.write("};\n")


main()
