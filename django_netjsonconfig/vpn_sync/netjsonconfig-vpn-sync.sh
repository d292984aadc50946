#!/bin/sh
# netjsonconfig-vpn-sync: keeps the files of an OpenVPN server managed by
# django-netjsonconfig up to date. Run it from cron or a systemd timer on the
# VPN host (print it with "manage.py netjsonconfig_vpn_sync_script").
#
# Each run asks the controller for the checksum of the server's archive; when
# it differs from the one last installed, it downloads the archive, checks its
# MD5, installs every file that changed (each one renamed into place, so it is
# never seen half-written, with the mode the archive gives it and the time of
# installation as its mtime), removes files
# the archive no longer has, and reloads OpenVPN. When nothing changed, it
# downloads nothing and reloads nothing.
#
# Options (or environment variables):
#   -u URL      NETJSONCONFIG_URL          base URL of the controller, e.g. https://netjson.example.com
#   -i UUID     NETJSONCONFIG_VPN_UUID     id of the VPN server (admin page of the server)
#   -k KEY      NETJSONCONFIG_VPN_KEY      key of the VPN server
#   -K FILE     NETJSONCONFIG_VPN_KEY_FILE file holding the key (instead of -k)
#   -d DIR      NETJSONCONFIG_VPN_DIR      where the files go (default /etc/openvpn/server);
#                                          run OpenVPN there: openvpn --cd DIR --config NAME.conf
#   -r COMMAND  NETJSONCONFIG_VPN_RELOAD   run (with sh -c) after a change; default:
#                                          systemctl restart openvpn-server@NAME for each NAME.conf
#   -c CLIENT   NETJSONCONFIG_HTTP_CLIENT  curl or wget (default: curl when installed)
#               NETJSONCONFIG_CURL_OPTIONS extra curl options, e.g. "--cacert /etc/ssl/controller.pem"
# The key never appears on a command line: the URL reaches curl/wget on stdin.
# Exit status: 0 up to date or updated, 1 error (nothing half-installed), 2 bad usage.

set -u
umask 077

url=${NETJSONCONFIG_URL:-}
uuid=${NETJSONCONFIG_VPN_UUID:-}
key=${NETJSONCONFIG_VPN_KEY:-}
key_file=${NETJSONCONFIG_VPN_KEY_FILE:-}
dir=${NETJSONCONFIG_VPN_DIR:-/etc/openvpn/server}
reload=${NETJSONCONFIG_VPN_RELOAD:-}
client=${NETJSONCONFIG_HTTP_CLIENT:-}
curl_options=${NETJSONCONFIG_CURL_OPTIONS:-}
state=.netjsonconfig-checksum
manifest=.netjsonconfig-files

log() { printf 'netjsonconfig-vpn-sync: %s\n' "$*"; }
fail() { printf 'netjsonconfig-vpn-sync: error: %s\n' "$*" >&2; exit 1; }
usage() {
    printf 'usage: %s -u URL -i UUID (-k KEY | -K FILE) [-d DIR] [-r COMMAND] [-c curl|wget]\n' "$0" >&2
    exit 2
}

while getopts u:i:k:K:d:r:c:h option; do
    case $option in
        u) url=$OPTARG ;;
        i) uuid=$OPTARG ;;
        k) key=$OPTARG ;;
        K) key_file=$OPTARG ;;
        d) dir=$OPTARG ;;
        r) reload=$OPTARG ;;
        c) client=$OPTARG ;;
        *) usage ;;
    esac
done
if [ -n "$key_file" ]; then
    key=$(cat "$key_file") || fail "cannot read the key file $key_file"
fi
[ -n "$url" ] && [ -n "$uuid" ] && [ -n "$key" ] || usage
url=${url%/}
if [ -z "$client" ]; then
    if command -v curl >/dev/null 2>&1; then client=curl; else client=wget; fi
fi
case $client in
    curl | wget) command -v "$client" >/dev/null 2>&1 || fail "$client is not installed" ;;
    *) usage ;;
esac

mkdir -p "$dir" || fail "cannot create $dir"
work=$(mktemp -d "$dir/.sync.XXXXXX") || fail "cannot create a temporary directory in $dir"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

# fetch PATH OUTPUT: GET PATH?key=KEY into OUTPUT; fails unless the controller answered 200
fetch() {
    rm -f "$2" "$work/headers"
    address="$url/$1?key=$key"
    if [ "$client" = curl ]; then
        # shellcheck disable=SC2086 (the options are words)
        printf 'url = "%s"\n' "$address" | curl -sS -K - -o "$2" -D "$work/headers" $curl_options ||
            fail "cannot reach $url"
    else
        printf '%s\n' "$address" | wget -q -S --content-on-error -O "$2" -i - 2>"$work/headers"
    fi
    tr -d '\r' <"$work/headers" >"$work/headers.txt"
    status=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9]*\).*/\1/p' "$work/headers.txt" | tail -n 1)
    grep -qi '^ *x-openwisp-controller: *true' "$work/headers.txt" ||
        fail "$url/$1 is not a django-netjsonconfig controller (HTTP ${status:-no answer})"
    [ "$status" = 200 ] || fail "$1: HTTP $status: $(head -n 1 "$2" 2>/dev/null)"
}

md5() {
    if command -v md5sum >/dev/null 2>&1; then
        md5sum <"$1" | cut -c 1-32
    else
        openssl md5 -r <"$1" | cut -c 1-32
    fi
}

fetch "controller/vpn/checksum/$uuid/" "$work/checksum"
checksum=$(cat "$work/checksum")
case $checksum in
    *[!0-9a-f]* | "") fail "unexpected checksum answer" ;;
esac
[ ${#checksum} -eq 32 ] || fail "unexpected checksum answer"
if [ -f "$dir/$state" ] && [ "$(cat "$dir/$state")" = "$checksum" ]; then
    log "up to date ($checksum)"
    exit 0
fi

fetch "controller/vpn/download-config/$uuid/" "$work/archive.tar.gz"
[ "$(md5 "$work/archive.tar.gz")" = "$checksum" ] ||
    fail "the archive does not match the checksum (changed meanwhile?); nothing installed, try again"
tar -tzf "$work/archive.tar.gz" >"$work/list" || fail "the archive cannot be read"
# only relative paths below $dir
if grep -q -e '^/' -e '^\.\./' -e '/\.\./' -e '/\.\.$' -e '^\.\.$' -e '^\.netjsonconfig-' -e '^\.sync\.' "$work/list"; then
    fail "the archive contains a path outside $dir"
fi
# -p: the archive's modes even when not run as root (tar versions without -p keep them anyway)
mkdir "$work/new" || fail "cannot create $work/new"
tar -xpzf "$work/archive.tar.gz" -C "$work/new" 2>/dev/null || tar -xzf "$work/archive.tar.gz" -C "$work/new" ||
    fail "the archive cannot be extracted"

# install the files that differ (contents or mode), each with one rename
: >"$work/changed"
(cd "$work/new" && find . -type f | sed 's|^\./||') >"$work/files"
while IFS= read -r file; do
    target="$dir/$file"
    if [ -f "$target" ] && cmp -s "$work/new/$file" "$target" &&
        [ "$(ls -ln "$work/new/$file" | cut -c 1-10)" = "$(ls -ln "$target" | cut -c 1-10)" ]; then
        continue
    fi
    # the archive's members carry mtime 0; OpenVPN re-reads a crl-verify file only
    # when its size or mtime changes, so each installed file gets the current time
    touch "$work/new/$file" && mkdir -p "$(dirname "$target")" && mv -f "$work/new/$file" "$target" ||
        fail "cannot install $target"
    echo "$file" >>"$work/changed"
done <"$work/files"
# remove the files a previous archive installed and this one does not have
if [ -f "$dir/$manifest" ]; then
    while IFS= read -r file; do
        if ! grep -qxF -e "$file" "$work/files" && [ -f "$dir/$file" ]; then
            rm -f "$dir/$file" && echo "$file" >>"$work/changed"
        fi
    done <"$dir/$manifest"
fi
cp "$work/files" "$work/manifest" && mv -f "$work/manifest" "$dir/$manifest"

# a reload that failed is retried by the next run, even if no file changes then
pending="$dir/.netjsonconfig-reload-pending"
if [ -s "$work/changed" ] || [ -f "$pending" ]; then
    [ -s "$work/changed" ] && log "installed $(tr '\n' ' ' <"$work/changed")"
    : >"$pending"
    if [ -n "$reload" ]; then
        NETJSONCONFIG_VPN_DIR=$dir sh -c "$reload" || fail "the reload command failed: $reload"
    else
        for conf in $(grep -x '[^/ ]*\.conf' "$work/files"); do
            systemctl restart "openvpn-server@${conf%.conf}" || fail "cannot restart openvpn-server@${conf%.conf}"
        done
    fi
    rm -f "$pending"
fi
printf '%s\n' "$checksum" >"$work/state" && mv -f "$work/state" "$dir/$state"
log "updated to $checksum"
