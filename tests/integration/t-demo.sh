# SPDX-License-Identifier: MIT
# The README's run command (make demo -> scripts/demo.py): proxyd in front of a real
# Dovecot backend with a demo user; curl logs in through it as the demo says.
. "$TOP/tests/integration/lib.sh"

chmod 711 "$TESTDIR"	# the demo's Dovecot runs as other users and must reach its files
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tlsport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DEMO_SECONDS=30 DEMO_IMAP_PORT=$port DEMO_IMAPS_PORT=$tlsport DEMO_POP3_PORT=0 TESTDIR=$TESTDIR/demo \
	python3 "$TOP/scripts/demo.py" >demo.out 2>&1 &
demo=$!
i=0
while ! grep -q 'Ctrl-C stops both' demo.out 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "the demo prints how to log in" grep -q "curl -u demo@example.org:demo imap://127.0.0.1:$port/" demo.out
testing "curl lists the demo mailbox through proxyd" \
	"curl -sS --max-time 10 -u demo@example.org:demo imap://127.0.0.1:$port/ | tr -d '\\r'" '* LIST (\\HasNoChildren) "/" INBOX'
testing "curl reads the welcome message through proxyd" \
	"curl -sS --max-time 10 -u demo@example.org:demo 'imap://127.0.0.1:$port/INBOX;UID=1' | grep -c 'fetched through mtool proxyd'" "1"
ca=$(sed -n "s/^  curl --cacert \([^ ]*\) -u.*imaps:.*/\1/p" demo.out)
check "the demo prints how to log in over TLS" grep -q "imaps://127.0.0.1:$tlsport/" demo.out
testing "curl --cacert lists the demo mailbox over imaps://" \
	"curl -sS --max-time 10 --cacert '$ca' -u demo@example.org:demo imaps://127.0.0.1:$tlsport/ | tr -d '\\r'" '* LIST (\\HasNoChildren) "/" INBOX'
testing "curl --ssl-reqd (STARTTLS) reads the welcome message" \
	"curl -sS --max-time 10 --cacert '$ca' --ssl-reqd -u demo@example.org:demo 'imap://127.0.0.1:$port/INBOX;UID=1' | grep -c 'fetched through mtool proxyd'" "1"
kill $demo
wait $demo
check "the demo stopped both servers" sh -c "! grep -q 'proxyd exited' demo.out"
