# SPDX-License-Identifier: MIT
"""Scraping mtool's /metrics endpoint in integration tests, as Prometheus does (HTTP/1.1
GET with its Accept header), checked with the real parsers: python3-prometheus-client's
text and OpenMetrics parsers and `promtool check metrics` (Debian's prometheus package).

    from metricsfix import stats_conf, Scrape
    px = Proxyd(..., extra_conf=stats_conf(port))
    s = Scrape(port)                    # parsed
    s.value('mtool_proxyd_logins_total', protocol='imap', result='success')"""

import os
import shutil
import socket
import subprocess
import sys

try:
    import prometheus_client  # noqa: F401
except ImportError:
    # Debian's python3-prometheus-client, when python3 is not Debian's own interpreter
    sys.path.append('/usr/lib/python3/dist-packages')
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families

PROM_ACCEPT = ('application/openmetrics-text;version=1.0.0,application/openmetrics-text;'
               'version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')


def stats_conf(port, address='127.0.0.1'):
    return 'service stats {\n  inet_listener http {\n    address = %s\n    port = %d\n  }\n}\n' % (
        address, port)


def http_raw(port, request, ip='127.0.0.1', timeout=5.0):
    """Sends request bytes, returns everything the server answers until it closes."""
    s = socket.create_connection((ip, port), timeout=timeout)
    try:
        s.sendall(request)
        out = b''
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b
    finally:
        s.close()


def http_get(port, path='/metrics', accept=None, method='GET'):
    """(status, headers dict with lower-case names, body)"""
    req = '%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: Prometheus/2.42.0\r\n' % (method, path, port)
    if accept:
        req += 'Accept: %s\r\n' % accept
    raw = http_raw(port, (req + '\r\n').encode())
    head, _, body = raw.partition(b'\r\n\r\n')
    lines = head.decode().split('\r\n')
    status = int(lines[0].split(' ')[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(':')
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def promtool_check(text):
    """(ok, output) of `promtool check metrics` on text (the text format)."""
    if shutil.which('promtool') is None:
        return False, 'promtool is not installed (Debian package prometheus)'
    r = subprocess.run(['promtool', 'check', 'metrics'], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return r.returncode == 0, r.stdout.decode(errors='replace')


class Scrape:
    """One scrape, parsed: samples as {(name, frozenset(labels.items())): value}."""

    def __init__(self, port, openmetrics=False):
        status, headers, body = http_get(port, accept=PROM_ACCEPT if openmetrics else None)
        if status != 200:
            raise RuntimeError('scrape: HTTP %d' % status)
        self.content_type = headers.get('content-type', '')
        self.text = body.decode()
        parse = om_families if openmetrics else text_string_to_metric_families
        self.families = list(parse(self.text))
        self.samples = {}
        for fam in self.families:
            for s in fam.samples:
                self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    def value(self, name, **labels):
        """The sample's value, 0 if absent."""
        return self.samples.get((name, frozenset(labels.items())), 0)

    def sum(self, name, **labels):
        """Sum over the samples of name whose labels include labels."""
        want = set(labels.items())
        return sum(v for (n, l), v in self.samples.items() if n == name and want <= l)


DOC = os.path.join(os.environ.get('TOP') or os.path.join(os.path.dirname(__file__), '..', '..'),
                   'docs', 'metrics.md')


def undocumented(scrape):
    """Metric families of a scrape that docs/metrics.md does not list in a table row."""
    with open(DOC) as f:
        doc = f.read()
    out = []
    for fam in scrape.families:
        names = {fam.name, fam.name + '_total', fam.name + '_info'}
        if not any('| `%s` |' % n in doc for n in names):
            out.append(fam.name)
    return out


def doc_block(title):
    """The indented block of docs/metrics.md that starts with the line '# title'."""
    with open(DOC) as f:
        lines = f.read().split('\n')
    i = [k for k, l in enumerate(lines) if l.strip() == '# ' + title][0]
    out = []
    for l in lines[i:]:
        if not (l.startswith('    ') or l == ''):
            break
        out.append(l[4:])
    return '\n'.join(out) + '\n'
