# SPDX-License-Identifier: MIT
"""Bad input before login: malformed commands, 64 KiB lines, huge and negative literals,
unknown SASL data, too many failures, cleartext on an insecure connection. Each gets a
clear reply on that connection only; a client logged in meanwhile keeps working."""

import imaplib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard
from mtoolfix import Proxyd


def fresh(px, port=None, source_ip=None):
    raw = RawClient('127.0.0.1', port or px.imap_port, source_ip=source_ip)
    raw.line()
    return raw


def main():
    with DovecotBackend('be') as be:
        hp = 'proxy host=127.0.0.1 port=%d'
        px = Proxyd(users={'user1@example.org': hp % be.imap_port,
                           'pop@example.org': (('pass', hp % be.pop3_port + ' destuser=user1@example.org'))},
                    settings={'auth_mechanisms': 'plain login'},
                    # wrong passwords below are bad input here, not guesses: no auth penalty
                    # (t-proxyd-penalty tests it)
                    extra_conf='service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n')
        with px:
            # a logged-in session that must survive everything below
            keep = imaplib.IMAP4('127.0.0.1', px.imap_port)
            keep.login('user1@example.org', 'pass')
            keep.select('INBOX')

            # each case on its own connection: what the client sees, and whether it stays
            open_cases = [
                (b'a FROB\r\n', [b'a BAD Error in IMAP command received by server.\r\n'], 'unknown command'),
                (b'\r\n', [b'* BAD Error in IMAP command received by server.\r\n'], 'empty line'),
                (b'a LOGIN onlyuser\r\n', [b'a BAD Error in IMAP command received by server.\r\n'], 'LOGIN with one argument'),
                (b'a LOGIN {-1}\r\n', [b'a BAD Invalid literal size\r\n'], 'negative literal'),
                # as Dovecot: an error inside the arguments is answered in the parser's words
                (b'a LOGIN "unterminated\r\n', [b'a BAD Missing \'"\'\r\n'], 'unterminated quoted string'),
                (b'a AUTHENTICATE X-UNKNOWN\r\n', [b'a NO [ALERT] Unsupported authentication mechanism.\r\n'], 'unknown SASL mechanism'),
                (b'a AUTHENTICATE PLAIN !!!notbase64\r\n', [b'a BAD Invalid base64 data in initial response\r\n'], 'invalid base64 initial response'),
                (b'a AUTHENTICATE PLAIN\r\n!!!notbase64\r\n', [b'+ \r\n', b'a BAD Invalid base64 data in continued response\r\n'], 'invalid base64 continuation'),
                (b'a AUTHENTICATE PLAIN\r\n*\r\n', [b'+ \r\n', b'a BAD Authentication aborted by client.\r\n'], 'AUTHENTICATE aborted with *'),
                (b'a AUTHENTICATE PLAIN dXNlcg==\r\n', [b'a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n'], 'PLAIN without NULs'),
                (b'a ENABLE CONDSTORE\r\n', [b'* ENABLED\r\n', b'a OK ENABLE ignored in non-authenticated state.\r\n'], 'ENABLE before login'),
            ]
            for send, want, what in open_cases:
                raw = fresh(px)
                raw.send(send)
                got = [raw.line() for _ in want]
                raw.send(b'z NOOP\r\n')
                after = raw.line()
                report(got == want and after == b'z OK NOOP completed.\r\n', what + ' (connection stays)',
                       '%r then %r' % (got, after))
                raw.close()

            closing_cases = [
                (b'a LOGIN {100000}\r\n', b'* BYE Literal size too large\r\n', 'huge synchronizing literal'),
                (b'a LOGIN {100000+}\r\n' + b'y' * 1000, b'* BYE Literal size too large\r\n', 'huge non-synchronizing literal'),
                (b'a LOGIN ' + b'x' * 65536 + b'\r\n', b'* BYE Input buffer full, aborting\r\n', '64 KiB line'),
                (b'a FROB\r\nb FROB\r\nc FROB\r\n', b'* BYE Too many invalid IMAP commands.\r\n', 'third bad command'),
                (b''.join(b'a%d LOGIN user1@example.org wrong\r\n' % i for i in range(3)),
                 b'* BYE Too many failed logins.\r\n', 'third failed login'),
            ]
            for send, want, what in closing_cases:
                raw = fresh(px)
                raw.send(send)
                got = raw.until(b'* BYE')
                report(got[-1] == want and raw.closed(2), what + ': BYE and the connection is closed', got[-3:])
                raw.close()

            # POP3
            raw = fresh(px, px.pop3_port)
            for send, want, what in [
                (b'FROB\r\n', b'-ERR Unknown command.\r\n', 'POP3 unknown command'),
                (b'PASS x\r\n', b'-ERR No username given.\r\n', 'POP3 PASS before USER'),
                (b'AUTH X-UNKNOWN\r\n', b'-ERR [AUTH] Unsupported authentication mechanism.\r\n', 'POP3 unknown SASL mechanism'),
                (b'APOP user 0123456789abcdef\r\n', b'-ERR APOP not enabled.\r\n', 'POP3 APOP'),
                (b'USER pop@example.org\r\n', b'+OK\r\n', 'POP3 USER'),
                (b'PASS wrong\r\n', b'-ERR [AUTH] Authentication failed.\r\n', 'POP3 wrong password'),
            ]:
                raw.send(send)
                got = raw.line()
                report(got == want, what, got)
            raw.send(b'AUTH PLAIN\r\n')
            got = raw.line()
            raw.send(b'AHBvcEBleGFtcGxlLm9yZwBwYXNz\r\n')
            got2 = raw.line()
            report(got == b'+ \r\n' and got2.startswith(b'+OK'), 'POP3 AUTH PLAIN with a continuation', [got, got2])
            raw.close()
            raw = fresh(px, px.pop3_port)
            raw.send(b'USER ' + b'u' * 70000 + b'\r\n')
            got = raw.line()
            report(got == b'-ERR Input buffer full, aborting\r\n' and raw.closed(2),
                   'POP3 64 KiB line: error and close', got[:60])
            raw.close()
            raw = fresh(px, px.pop3_port)
            raw.send(b'FOO\r\nFOO\r\nCAPA\r\nFOO\r\nFOO\r\nFOO\r\n')
            got = raw.until(b'-ERR Too many')
            report(got[-1] == b'-ERR Too many invalid bad commands.\r\n' and raw.closed(2) and
                   got.count(b'-ERR Unknown command.\r\n') == 5,
                   'POP3: a good command resets the bad-command count; the third in a row closes', got)
            raw.close()

            typ, data = keep.noop()
            report(typ == 'OK', 'the logged-in session was not disturbed', data)
            typ, data = keep.select('INBOX')
            report(typ == 'OK', 'the logged-in session still talks to its backend', data)
            keep.logout()

        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))

        # cleartext on an insecure connection (not loopback-to-itself, not trusted)
        with Proxyd('strict', users={'user1@example.org': hp % be.imap_port},
                    settings={'disable_plaintext_auth': 'yes'}) as strict:
            raw = RawClient('127.0.0.1', strict.imap_port, source_ip='127.0.0.9')
            greeting = raw.line()
            report(b'LOGINDISABLED' in greeting and b'AUTH=PLAIN' not in greeting,
                   'LOGINDISABLED for an insecure client', greeting)
            raw.send(b'a LOGIN user1@example.org pass\r\n')
            got = [raw.line(), raw.line()]
            report(got == [b'* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your client '
                           b'did it anyway. If anyone was listening, the password was exposed.\r\n',
                           b'a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n'],
                   'LOGIN refused without TLS, with Dovecot\'s warning', got)
            raw.send(b'b AUTHENTICATE PLAIN\r\n')
            got = raw.line()
            report(got == b'b NO [PRIVACYREQUIRED] Plaintext authentication disabled.\r\n',
                   'AUTHENTICATE PLAIN refused without TLS', got)
            raw.close()
            raw = RawClient('127.0.0.1', strict.pop3_port, source_ip='127.0.0.9')
            raw.line()
            raw.send(b'CAPA\r\n')
            capa = raw.until(b'.')
            raw.send(b'USER user1@example.org\r\n')
            got = raw.line()
            report(b'USER\r\n' not in capa and b'SASL\r\n' in capa and
                   got == b'-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n',
                   'POP3 without TLS: no USER in CAPA, USER refused', [capa, got])
            raw.close()
            raw = RawClient('127.0.0.1', strict.imap_port)
            greeting = raw.line()
            report(b'LOGINDISABLED' not in greeting, 'a client on the proxy\'s own address counts as secure', greeting)
            raw.close()


main_guard(main)
