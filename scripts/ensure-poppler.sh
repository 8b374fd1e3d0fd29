#!/usr/bin/env bash
# Install poppler-utils (pdftotext, pdftoppm) for the PDF tests of quality accounts,
# contract statements and evaluation reports, if missing.
set -euo pipefail
if command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then
    exit 0
fi
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null
command -v pdftoppm >/dev/null
