#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's run command (until proxyd lands): show the applets of the fresh build.
set -eu
cd "$(dirname "$0")/.."
file mtool
./mtool --list
