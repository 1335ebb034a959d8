#!/usr/bin/env bash
# Draws the app icon and one tray icon per status family with ImageMagick. The PNGs are committed;
# run this only to change them. Each family has a glyph as well as a colour, so the tray never
# relies on colour alone: a check (available), a bar (busy), a clock (away), a line across a ring
# (do not disturb) and a cross in a hollow ring (offline).
set -euo pipefail
cd "$(dirname "$0")/../icons"
S=64
circle() { echo "circle 32,32 32,3"; }
convert -size ${S}x${S} xc:none -fill '#2e9e4f' -draw "$(circle)" \
  -stroke white -strokewidth 7 -fill none -draw "polyline 18,33 28,43 46,22" -depth 8 PNG32:tray-available.png
convert -size ${S}x${S} xc:none -fill '#d13438' -draw "$(circle)" \
  -fill white -draw "circle 32,32 32,22" -depth 8 PNG32:tray-busy.png
convert -size ${S}x${S} xc:none -fill '#e8a300' -draw "$(circle)" \
  -stroke white -strokewidth 6 -fill none -draw "polyline 32,15 32,33 44,40" -depth 8 PNG32:tray-away.png
convert -size ${S}x${S} xc:none -fill '#d13438' -draw "$(circle)" \
  -fill white -draw "roundrectangle 14,27 50,37 3,3" -depth 8 PNG32:tray-dnd.png
convert -size ${S}x${S} xc:none -fill none -stroke '#8a8886' -strokewidth 7 -draw "circle 32,32 32,7" \
  -strokewidth 6 -draw "line 22,22 42,42" -draw "line 42,22 22,42" -depth 8 PNG32:tray-offline.png
# macOS's menu bar wants template images (black and clear, tinted by the system for a light or
# dark bar): the same shapes, the glyph cut out of the disc, so the status still reads by shape.
template() { # name, glyph drawing arguments…
  local name="$1"; shift
  convert -size ${S}x${S} xc:none -fill black -draw "$(circle)" \
    \( -size ${S}x${S} xc:none "$@" \) -compose DstOut -composite -depth 8 "PNG32:tray-$name-template.png"
}
template available -stroke black -strokewidth 7 -fill none -draw "polyline 18,33 28,43 46,22"
template busy -fill black -draw "circle 32,32 32,22"
template away -stroke black -strokewidth 6 -fill none -draw "polyline 32,15 32,33 44,40"
template dnd -fill black -draw "roundrectangle 14,27 50,37 3,3"
convert -size ${S}x${S} xc:none -fill none -stroke black -strokewidth 7 -draw "circle 32,32 32,7" \
  -strokewidth 6 -draw "line 22,22 42,42" -draw "line 42,22 22,42" -depth 8 PNG32:tray-offline-template.png
# App icon: a speech-bubble-like ring with a green presence dot, drawn at 512 px and scaled down
# to every size a desktop asks for (the .deb and .rpm install each under /usr/share/icons/hicolor).
convert -size 512x512 xc:none -fill '#3b4cc0' -draw "roundrectangle 16,16 496,496 112,112" \
  -fill white -draw "circle 224,240 224,104" \
  -fill '#3b4cc0' -draw "circle 224,240 224,164" \
  -fill '#2e9e4f' -stroke white -strokewidth 24 -draw "circle 368,376 368,296" -depth 8 PNG32:icon-512.png
for s in 16 24 32 48 64 128 256; do
  convert icon-512.png -resize ${s}x${s} -depth 8 "PNG32:${s}x${s}.png"
done
mv icon-512.png 512x512.png
cp 256x256.png icon.png
# The same icon for Windows (a multi-size .ico, needed to build there) and macOS (.icns, for the
# bundle; png2icns is in Debian's icnsutils).
convert 512x512.png -define icon:auto-resize=256,128,64,48,32,16 icon.ico
png2icns icon.icns 16x16.png 32x32.png 48x48.png 128x128.png 256x256.png 512x512.png >/dev/null
