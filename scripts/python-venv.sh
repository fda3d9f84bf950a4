#!/usr/bin/env bash
# Creates .venv-sergeant/ at the repository root with Python sergeant 0.27.0 from PyPI, for
# the interoperability tests (Tests/InteropTests). Does nothing, quietly, when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-sergeant
version=0.27.0
python="$venv/bin/python"

if [ -x "$python" ] && "$python" -c "import importlib.metadata as m, sys; sys.exit(m.version('sergeant') != '$version')" 2>/dev/null; then
    exit 0
fi

python3 -c 'import venv, ensurepip' 2>/dev/null || {
    echo "python3 cannot create virtual environments: install python3-venv (make deps does)" >&2
    exit 1
}
echo "creating $venv with sergeant==$version"
rm -rf "$venv"
python3 -m venv "$venv"
"$python" -m pip install --quiet --disable-pip-version-check "sergeant==$version"
"$python" -c "import sergeant.worker, sergeant.config" || { echo "sergeant did not install in $venv" >&2; exit 1; }
