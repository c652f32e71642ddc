#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's run command: mtool proxyd in front of a real Dovecot backend (scripts/demo.py).
set -eu
cd "$(dirname "$0")/.."
file mtool
exec python3 scripts/demo.py
