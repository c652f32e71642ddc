# SPDX-License-Identifier: MIT
# Configuration errors: every problem as "file:line: message", exit 1, nothing started;
# -o overrides are checked the same way ("-o:N").
. "$TOP/tests/integration/lib.sh"

cat >bad.conf <<'CONF'
listen = 127.0.0.1
auth_failure_delay = soon
bogus_setting = 1
CONF
testing "unknown setting" "$MTOOL proxyd -c bad.conf" \
	"bad.conf:3: unknown setting 'bogus_setting'\nproxyd: not started: fix the configuration above" 1

cat >bad2.conf <<'CONF'
listen = 127.0.0.1
auth_failure_delay = soon
service imap-login {
  inet_listener imap {
    port = 99999
  }
}
passdb {
  driver = nosuch
}
login_trusted_networks = 10.0.0.0/33
protocols = imap smtp
CONF
testing "every error at once, with file:line" "$MTOOL proxyd -c bad2.conf 2>&1 | sort" \
"bad2.conf:11: login_trusted_networks: invalid network '10.0.0.0/33'
bad2.conf:12: protocols: 'smtp' is not proxied by this version of proxyd (imap, pop3, lmtp, submission, sieve)
bad2.conf:2: auth_failure_delay: invalid time interval 'soon'
bad2.conf:5: port: number '99999' is too large (max 65535)
bad2.conf:8: passdb: Unknown passdb driver 'nosuch' (mtool has passwd-file, static, sql, ldap and auth)
proxyd: not started: fix the configuration above"

cat >syntax.conf <<'CONF'
listen 127.0.0.1
service imap-login {
CONF
testing "syntax errors" "$MTOOL proxyd -c syntax.conf 2>&1 | head -2" \
	"syntax.conf:1: expected 'key = value', got 'listen 127.0.0.1'\nsyntax.conf:2: missing '}' for section 'service imap-login'"

cat >ok.conf <<'CONF'
listen = 127.0.0.1
protocols = imap
service imap-login {
  inet_listener imap {
    port = 0
  }
}
passdb {
  driver = static
  args = nopassword proxy host=127.0.0.1
}
CONF
testing "bad -o override" "$MTOOL proxyd -c ok.conf -o service/imap-login/inet_listener/imap/port=abc" \
	"-o:1: port: invalid number 'abc'\nproxyd: not started: fix the configuration above" 1
testing "-o with an unknown setting" "$MTOOL proxyd -c ok.conf -o nosuch=1" \
	"-o:1: unknown setting 'nosuch'\nproxyd: not started: fix the configuration above" 1
testing "missing config file" "$MTOOL proxyd -c ./nonexistent.conf" \
	"./nonexistent.conf: No such file or directory\nproxyd: not started: fix the configuration above" 1
testing "no listener left" "$MTOOL proxyd -c ok.conf" \
	"ok.conf: no listeners: enable a protocol (protocols = imap pop3) with a port\nproxyd: not started: fix the configuration above" 1
