#!/usr/bin/env bash
# System packages for the tests that need them (Debian, as root). Idempotent and quiet.
set -euo pipefail
pkgs="chromium slurm-wlm munge dataset-fashion-mnist poppler-utils"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    echo "installing system packages:$missing"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
