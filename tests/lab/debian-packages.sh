#!/usr/bin/env bash
# Installs the Debian packages a purpose needs, idempotently: nothing is fetched when
# everything is already there. Purposes:
#   build  - what the workspace needs to compile (a C toolchain, pkg-config, libdbus
#            headers for the Secret Service keyring client, SQLite, ALSA headers for cpal,
#            GTK 4 and WebKitGTK 6.0 for the screen pop window)
#   app    - what the window needs at run time (X11/Wayland client libs, GL, libdbus,
#            xdg-utils for "Set default program associations")
#   test   - build + app + an X server without a screen (Xvfb) for the GUI smoke test,
#            a session bus with GNOME Keyring (plus secret-tool to read it back)
#            for the keyring test, and the SIP lab: Kamailio (with TLS), baresip bots,
#            SIPp, linphonec (a second SIP and media stack), dnsmasq, openssl for the
#            lab certificate, iproute2's `ss` for readiness checks, PulseAudio null
#            sinks as a paced sound card, lame to make an MP3 ringtone, the XMPP lab: Prosody, ejabberd (a second server,
#            and its cluster), and slixmpp for the chat bot,
#            QEMU to boot a real kernel for the uhid headset test, and xdg-utils
#            (xdg-open: the call popup opens the default browser through it), and
#            xclip to read back what the screen pop window copied, desktop-file-utils
#            to validate the desktop entries ucdesk writes, Chromium for the browser
#            add-on's test, and the phone book servers: OpenLDAP's slapd (with
#            ldap-utils, the manager's tools the tests use) and Radicale (CardDAV)
#   demo   - the first run's lab: Kamailio, baresip, Prosody, the chat bot, the phone
#            book servers (slapd, Radicale)
#   screenshot - Xvfb, xwininfo and ImageMagick for tests/lab/screenshot.sh
set -euo pipefail

build=(build-essential pkg-config libdbus-1-dev libsqlite3-dev libasound2-dev libwebkitgtk-6.0-dev)
app=(libgl1 libegl1 libgl1-mesa-dri libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 libx11-xcb1 libdbus-1-3
  libasound2 libasound2-plugins xdg-utils)
test=(xvfb x11-utils dbus-daemon gnome-keyring libsecret-tools
  kamailio kamailio-tls-modules kamailio-extra-modules baresip-core sip-tester linphone-cli dnsmasq-base openssl iproute2
  pulseaudio pulseaudio-utils lame prosody lua-unbound ejabberd python3-slixmpp
  qemu-system-x86 xdg-utils xclip desktop-file-utils chromium slapd ldap-utils radicale)
# The first run's demo lab (tests/lab/demo.sh): the servers and bots of the test lab.
# tests/lab/screenshot.sh: the window under Xvfb, saved as PNG.
screenshot=(xvfb x11-utils imagemagick libgl1-mesa-dri)
demo=(kamailio kamailio-tls-modules kamailio-extra-modules baresip-core prosody lua-unbound python3-slixmpp
  openssl iproute2 slapd radicale)

want=()
for purpose in "${@:-build}"; do
  case "$purpose" in
    build) want+=("${build[@]}") ;;
    app) want+=("${build[@]}" "${app[@]}") ;;
    test) want+=("${build[@]}" "${app[@]}" "${test[@]}") ;;
    demo) want+=("${demo[@]}") ;;
    screenshot) want+=("${app[@]}" "${screenshot[@]}") ;;
    *) echo "unknown purpose: $purpose (build, app, test, demo, screenshot)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
