#!/usr/bin/env bash
# Wrap a built bundle into a .deb: packaging/linux/build-deb.sh BUNDLE_DIR OUT_DIR
#
# Installs to /opt/dispatchdesk, /usr/bin/dispatchdesk, a .desktop entry and the icon in the
# hicolor theme (dpkg's triggers refresh the menus and icon caches). Depends lists the Debian
# libraries Qt's xcb platform needs from the system; sound players are recommended.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUNDLE=${1:?bundle dir}
OUT=${2:?output dir}
VERSION=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
ARCH=$(dpkg --print-architecture)
STAGE="$OUT/deb/dispatchdesk"
DEB="$OUT/dispatchdesk_${VERSION}_${ARCH}.deb"

rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/doc/dispatchdesk"
cp -a "$BUNDLE" "$STAGE/opt/dispatchdesk"
rm -f "$STAGE/opt/dispatchdesk/.build-key"
ln -s /opt/dispatchdesk/dispatchdesk "$STAGE/usr/bin/dispatchdesk"
install -m 644 packaging/linux/dispatchdesk.desktop "$STAGE/usr/share/applications/"
install -m 644 resources/icons/dispatchdesk.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/"
install -m 644 packaging/linux/config.toml.example "$STAGE/usr/share/doc/dispatchdesk/"
{
  echo "Dispatch Desk. Icons: Lucide (lucide.dev), under the licence below."
  echo
  cat resources/icons/LICENSE
} > "$STAGE/usr/share/doc/dispatchdesk/copyright"

cat > "$STAGE/DEBIAN/control" <<CONTROL
Package: dispatchdesk
Version: $VERSION
Architecture: $ARCH
Maintainer: Dispatch Desk maintainers <dispatchdesk@example.invalid>
Installed-Size: $(du -sk "$STAGE" | cut -f1)
Section: misc
Priority: optional
Depends: libxcb-cursor0, libxkbcommon-x11-0, libxkbcommon0, libegl1, libgl1, libfontconfig1, libfreetype6, libdbus-1-3, libglib2.0-0, libx11-xcb1, libxcb1, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-render-util0, libxcb-shape0, libxcb-xkb1, libxcb-randr0
Recommends: fonts-dejavu-core, pipewire-bin | pulseaudio-utils | alsa-utils
Description: live incident queue for police contact centres
 Dispatch Desk shows the live incident queue with a countdown to each incident's
 attendance target, the delay indicators supervisors watch, and the forms to create,
 regrade and close incidents. It keeps a local cache in sync with the force's backend.
 .
 Central settings (server URL, CA bundle) go in /etc/dispatchdesk/config.toml; see
 /usr/share/doc/dispatchdesk/config.toml.example.
CONTROL

dpkg-deb --root-owner-group -Zzstd --build "$STAGE" "$DEB" >/dev/null
rm -rf "$STAGE"
echo "deb built: $DEB ($(du -h "$DEB" | cut -f1))"
