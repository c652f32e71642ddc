#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A fake IMAP backend for bench/metrics.py (not a test peer): one asyncio process that
greets, says OK to any login (LOGIN, AUTHENTICATE with or without an initial response, ID)
and keeps the session open doing nothing, so that proxyd can hold 10,000 sessions without
10,000 Dovecot processes. Prints "ready" once listening.

    python3 bench/fakeimap.py PORT"""

import asyncio
import sys

CAPS = b'IMAP4rev1 SASL-IR ID LITERAL+ AUTH=PLAIN'


async def session(reader, writer):
    writer.write(b'* OK [CAPABILITY ' + CAPS + b'] fake ready\r\n')
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            words = line.split()
            if len(words) < 2:
                continue
            tag, cmd = words[0], words[1].upper()
            if cmd == b'AUTHENTICATE' and len(words) == 3:
                writer.write(b'+ \r\n')
                await reader.readline()
            if cmd == b'LOGOUT':
                writer.write(b'* BYE fake\r\n' + tag + b' OK logged out\r\n')
                await writer.drain()
                break
            if cmd == b'CAPABILITY':
                writer.write(b'* CAPABILITY ' + CAPS + b'\r\n')
            writer.write(tag + b' OK [CAPABILITY ' + CAPS + b'] done\r\n')
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def main(port):
    server = await asyncio.start_server(session, '127.0.0.1', port, backlog=1024)
    print('ready', flush=True)
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    asyncio.run(main(int(sys.argv[1])))
