#!/bin/sh
# Build "Connector Desk-<version>.dmg" from dist/Connector Desk.app (macOS only: hdiutil, codesign).
# Signing is optional: set CODESIGN_IDENTITY to a "Developer ID Application" identity to sign with the
# hardened runtime and packaging/macos/entitlements.plist. Notarisation is a separate, manual step.
set -eu
cd "$(dirname "$0")/../.."
APP="dist/Connector Desk.app"
VERSION=$(python3 -c 'import desktop; print(desktop.__version__)')
DMG="dist/Connector Desk-$VERSION.dmg"
[ -d "$APP" ] || { echo "no $APP: run pyinstaller packaging/connector-desk.spec first" >&2; exit 1; }
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --deep --force --options runtime --timestamp \
    --entitlements packaging/macos/entitlements.plist --sign "$CODESIGN_IDENTITY" "$APP"
fi
STAGE=$(mktemp -d)
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "Connector Desk" -srcfolder "$STAGE" -fs HFS+ -format UDZO "$DMG"
rm -rf "$STAGE"
echo "$DMG"
