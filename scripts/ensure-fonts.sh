#!/usr/bin/env bash
# PDFs embed Debian's fonts: Noto Sans (Latin, Hebrew), Noto Naskh Arabic, DejaVu Sans as the fallback that covers
# all three, and Symbola for emoji. Without them the PDFs still render, with fewer scripts drawn.
set -eu
[ -f /usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf ] \
  && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] \
  && [ -f /usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf ] && exit 0
bash "$(dirname "$0")/apt-install.sh" "The fonts PDFs embed" fonts-noto-core fonts-dejavu-core fonts-symbola
