#!/usr/bin/env bash
# PDFs embed Debian's fonts: Noto Sans (Latin, Hebrew), Noto Naskh Arabic, DejaVu Sans as the fallback that covers
# all three, and Symbola for emoji. Without them the PDFs still render, with fewer scripts drawn.
set -eu
FONTS="fonts-noto-core fonts-dejavu-core fonts-symbola"
missing=""
[ -f /usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf ] || missing="yes"
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="yes"
[ -f /usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf ] || missing="yes"
[ -z "$missing" ] && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "PDF fonts are missing. Install them with: sudo apt-get install $FONTS" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null; then
  echo "PDF fonts are missing and this is not a Debian system: install Noto Sans, DejaVu Sans and Symbola." >&2
  exit 1
fi
echo "Installing the fonts PDFs embed (Debian packages $FONTS)..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $FONTS >/dev/null
