#!/usr/bin/env bash
# Install benign with every extra and run the default test suite (the README's test command).
# As root on Debian it first installs the system pieces some tests need (Chromium for the
# report screenshot, Slurm + munge for the cluster test, Fashion-MNIST); elsewhere those tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    bash tests/system_deps.sh
fi
python3 -m pip install -q -e '.[empirical,cluster,dev]'
python3 -m pytest "$@"
