#!/usr/bin/env bash
# Installs the system packages lahstats needs (ffmpeg) when they are missing. Needs root for apt-get;
# otherwise it says what to install and exits non-zero.
set -euo pipefail
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "installed: ${missing[*]}"
else
  echo "missing system packages: ${missing[*]} (install them with your package manager)" >&2
  exit 1
fi
