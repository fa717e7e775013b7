#!/usr/bin/env bash
# Installs Debian packages the suite needs beyond pip, as root or through password-less sudo; otherwise
# stops with the command to run. Usage: apt-install.sh "what they are for" PACKAGE...
set -eu
what="$1"; shift
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "$what: missing. Install them with: sudo apt-get install $*" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null; then
  echo "$what: missing, and this is not a Debian system: install the equivalents of $*." >&2
  exit 1
fi
echo "Installing $what (Debian packages $*)..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
