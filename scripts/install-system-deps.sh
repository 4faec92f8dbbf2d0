#!/usr/bin/env bash
# Installs the system packages lahstats needs when they are missing: ffmpeg always, with
# --browser Debian's Chromium and ChromeDriver for the browser tests (tests/browser; Playwright drives
# the system browser and never downloads one), and with --speech the speech synthesisers and sox
# that make evaluation speech (lahstats/evaluation/synthesis.py and its tests). Needs root for apt-get; otherwise it says what to
# install and exits non-zero.
set -euo pipefail
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
# the README's API walk-through, and tests/test_readme.py that runs it, read ids with jq
command -v jq >/dev/null 2>&1 || missing+=(jq)
for flag in "$@"; do
  case "$flag" in
    --browser)
      command -v chromium >/dev/null 2>&1 || missing+=(chromium)
      command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
      ;;
    --speech)
      command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
      command -v flite >/dev/null 2>&1 || missing+=(flite)
      command -v sox >/dev/null 2>&1 || missing+=(sox)
      command -v text2wave >/dev/null 2>&1 || missing+=(festival)
      [ -d /usr/share/festival/voices/english/kal_diphone ] || missing+=(festvox-kallpc16k)
      ;;
    *) echo "unknown flag $flag (--browser, --speech)" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (a machine's own start-up updates) may hold the lock for a while: wait for it.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "installed: ${missing[*]}"
else
  echo "missing system packages: ${missing[*]} (install them with your package manager)" >&2
  exit 1
fi
