#!/usr/bin/env bash
# Installs the Debian packages sergeant needs, only when something is missing.
set -euo pipefail
need=()
[ -f /usr/include/hiredis/hiredis.h ] || need+=(libhiredis-dev)
command -v redis-server >/dev/null || need+=(redis-server)
# TLS to Redis (rediss://); the tests make their certificates with the openssl command.
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
command -v openssl >/dev/null || need+=(openssl)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
[ -f /usr/include/bzlib.h ] || need+=(libbz2-dev)
[ -f /usr/include/lzma.h ] || need+=(liblzma-dev)
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
command -v cc >/dev/null || need+=(gcc)
# libfaketime: the clock-step test (wall clock jumps, deadlines on the monotonic clock hold).
[ -f /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || [ "$(uname -m)" != x86_64 ] || need+=(faketime)
command -v python3 >/dev/null || need+=(python3)
# The ABI tests run plugins under memcheck (Tests/IntegrationTests/ABIMemcheckTests.swift).
command -v valgrind >/dev/null || need+=(valgrind)
# The local connector's durability test counts fsyncs (LocalConnectorProcessTests).
command -v strace >/dev/null || need+=(strace)
# promtool checks the /metrics output (FleetMetricsTests); the package is ~96 MB, 83 s to install.
command -v promtool >/dev/null || need+=(prometheus)
# The dashboard's tests: a real headless Chromium (Tests/Browser/drive.py) and curl.
command -v chromium >/dev/null || need+=(chromium)
command -v curl >/dev/null || need+=(curl)
# Debian's python3 creates virtual environments (scripts/python-venv.sh) only with ensurepip.
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}" >/dev/null
