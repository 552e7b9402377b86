#!/bin/sh
# Docker HEALTHCHECK of the test bot (only in images built with dockerHealthcheck: true):
# healthy exactly when GET /health answers 2xx; busybox wget exits non-zero on 500.
# No `wget -T`: Debian's static busybox 1.35 segfaults with it; HEALTHCHECK --timeout bounds it.
wget -q -O /dev/null "http://127.0.0.1:${PORT:-8080}/health"
