#!/bin/sh
# netjsonconfig-vpn-sync: keeps the files of an OpenVPN or WireGuard server
# managed by django-netjsonconfig up to date. Run it from cron or a systemd
# timer on the VPN host (print it with "manage.py netjsonconfig_vpn_sync_script").
#
# Each run asks the controller for the checksum of the server's archive; when
# it differs from the one last installed, it downloads the archive, checks its
# MD5, installs every file that changed (each one renamed into place, so it is
# never seen half-written, with the mode the archive gives it and the time of
# installation as its mtime), removes files
# the archive no longer has, and reloads the server. When nothing changed, it
# downloads nothing and reloads nothing (unless a WireGuard or VXLAN interface
# it made is gone, e.g. after a reboot: then it applies everything again).
#
# Options (or environment variables):
#   -u URL      NETJSONCONFIG_URL          base URL of the controller, e.g. https://netjson.example.com
#   -i UUID     NETJSONCONFIG_VPN_UUID     id of the VPN server (admin page of the server)
#   -k KEY      NETJSONCONFIG_VPN_KEY      key of the VPN server
#   -K FILE     NETJSONCONFIG_VPN_KEY_FILE file holding the key (instead of -k)
#   -d DIR      NETJSONCONFIG_VPN_DIR      where the files go (default /etc/openvpn/server;
#                                          /etc/wireguard for WireGuard);
#                                          run OpenVPN there: openvpn --cd DIR --config NAME.conf
#   -r COMMAND  NETJSONCONFIG_VPN_RELOAD   run (with sh -c) after a change instead of the default:
#                                          for each OpenVPN NAME.conf,
#                                          systemctl restart openvpn-server@NAME; for each
#                                          WireGuard NAME.conf (one with an [Interface]),
#                                          wg-quick up when the interface NAME is down, else
#                                          wg syncconf (the sessions of unchanged peers go on),
#                                          then one VXLAN interface per tunnel of vxlan.json
#   -a COMMAND  NETJSONCONFIG_VPN_AFTER_RELOAD run (with sh -c) after the reload, e.g. to
#                                          add the VXLAN interfaces to a bridge
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
after_reload=${NETJSONCONFIG_VPN_AFTER_RELOAD:-}
client=${NETJSONCONFIG_HTTP_CLIENT:-}
curl_options=${NETJSONCONFIG_CURL_OPTIONS:-}
state=.netjsonconfig-checksum
manifest=.netjsonconfig-files
# a copy of each WireGuard configuration as last brought up or synced
applied=.netjsonconfig-wireguard
# the VXLAN interfaces created from vxlan.json: "name vni remote" a line
vxlan_state=.netjsonconfig-vxlan

log() { printf 'netjsonconfig-vpn-sync: %s\n' "$*"; }
fail() { printf 'netjsonconfig-vpn-sync: error: %s\n' "$*" >&2; exit 1; }
usage() {
    printf 'usage: %s -u URL -i UUID (-k KEY | -K FILE) [-d DIR] [-r COMMAND] [-a COMMAND] [-c curl|wget]\n' "$0" >&2
    exit 2
}

while getopts u:i:k:K:d:r:a:c:h option; do
    case $option in
        u) url=$OPTARG ;;
        i) uuid=$OPTARG ;;
        k) key=$OPTARG ;;
        K) key_file=$OPTARG ;;
        d) dir=$OPTARG ;;
        r) reload=$OPTARG ;;
        a) after_reload=$OPTARG ;;
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

# is_wireguard FILE: whether FILE is a WireGuard configuration (it has an [Interface] section)
is_wireguard() {
    grep -qi '^[[:space:]]*\[interface\]' "$1"
}

# wg_quick_settings FILE: the [Interface] settings that wg-quick applies itself and
# wg syncconf ignores (addresses, MTU, DNS, routing table, hooks), one a line
wg_quick_settings() {
    awk '{ line = $0; sub(/#.*/, "", line); key = line; sub(/=.*/, "", key); gsub(/[ \t]/, "", key)
           key = tolower(key); sub(/^[ \t]+/, "", line); sub(/[ \t]+$/, "", line) }
         key ~ /^\[/ { section = key; next }
         section == "[interface]" && key ~ /^(address|mtu|dns|table|preup|postup|predown|postdown|saveconfig)$/ { print line }' "$1"
}

# wireguard_apply NAME: makes the interface NAME match DIR/NAME.conf
wireguard_apply() {
    conf="$dir/$1.conf"
    record="$dir/$applied/$1.conf"
    if ! wg show "$1" >/dev/null 2>&1; then
        wg-quick up "$conf" || fail "cannot bring $1 up with wg-quick"
    elif [ -f "$record" ] && [ "$(wg_quick_settings "$record")" = "$(wg_quick_settings "$conf")" ]; then
        # peers, key and port only: the sessions of the peers that did not change go on
        wg-quick strip "$conf" >"$work/$1.stripped" && wg syncconf "$1" "$work/$1.stripped" ||
            fail "cannot apply the peers of $1 (wg syncconf)"
    else
        # wg-quick's own settings changed, or the interface was not brought up by this
        # script: only a restart applies them (every session of the interface ends)
        [ -f "$record" ] || record=$conf
        wg-quick down "$record" && wg-quick up "$conf" || fail "cannot restart $1 with wg-quick"
    fi
    mkdir -p "$dir/$applied" && cp "$conf" "$work/applied" && mv -f "$work/applied" "$dir/$applied/$1.conf" ||
        fail "cannot record $dir/$applied/$1.conf"
}

# wireguard_remove NAME: the archive no longer has NAME.conf: brings the interface down
wireguard_remove() {
    record="$dir/$applied/$1.conf"
    if wg show "$1" >/dev/null 2>&1; then
        wg-quick down "$record" || fail "cannot bring $1 down with wg-quick"
    fi
    rm -f "$record"
}

# vxlan_tunnels FILE: "name vni remote" for each tunnel of a vxlan.json (a list of flat objects)
vxlan_tunnels() {
    awk 'function value(key,   found) {
             if (!match($0, "\"" key "\"[ \t\r\n]*:[ \t\r\n]*(\"[^\"]*\"|[0-9]+)")) return ""
             found = substr($0, RSTART, RLENGTH); sub(/^[^:]*:[ \t\r\n]*/, "", found); gsub(/"/, "", found)
             return found
         }
         BEGIN { RS = "}" }
         /"name"/ { print value("name"), value("vni"), value("remote") }' "$1"
}

# vxlan_apply WIREGUARD: one VXLAN interface over the interface WIREGUARD per tunnel of
# DIR/vxlan.json (none without the file); removes those of tunnels that are gone
vxlan_apply() {
    : >"$work/vxlan"
    if [ -f "$dir/vxlan.json" ]; then
        vxlan_tunnels "$dir/vxlan.json" >"$work/vxlan" || fail "cannot read $dir/vxlan.json"
    fi
    while read -r name vni remote; do
        expr "x$name" : 'x[A-Za-z0-9_.-]\{1,15\}$' >/dev/null && expr "x$vni" : 'x[0-9]\{1,8\}$' >/dev/null &&
            expr "x$remote" : 'x[0-9.]\{7,15\}$' >/dev/null || fail "unexpected tunnel in vxlan.json: $name $vni $remote"
    done <"$work/vxlan"
    touch "$dir/$vxlan_state" || fail "cannot write $dir/$vxlan_state"
    while read -r name vni remote; do
        if ! grep -qxF -e "$name $vni $remote" "$work/vxlan" && ip link show dev "$name" >/dev/null 2>&1; then
            ip link delete "$name" || fail "cannot delete the VXLAN interface $name"
        fi
    done <"$dir/$vxlan_state"
    while read -r name vni remote; do
        if ip link show dev "$name" >/dev/null 2>&1; then
            grep -qxF -e "$name $vni $remote" "$dir/$vxlan_state" && continue  # unchanged: its traffic goes on
            ip link delete "$name" || fail "cannot delete the VXLAN interface $name"  # left by a failed run
        fi
        ip link add "$name" type vxlan id "$vni" remote "$remote" dstport 4789 dev "$1" &&
            ip link set "$name" up || fail "cannot create the VXLAN interface $name"
    done <"$work/vxlan"
    cp "$work/vxlan" "$work/vxlan-state" && mv -f "$work/vxlan-state" "$dir/$vxlan_state" ||
        fail "cannot write $dir/$vxlan_state"
}

# missing_interfaces: the WireGuard and VXLAN interfaces the default reload made that are gone
missing_interfaces() {
    for record in "$dir/$applied"/*.conf; do
        [ -f "$record" ] || continue
        name=$(basename "$record" .conf)
        wg show "$name" >/dev/null 2>&1 || echo "$name"
    done
    if [ -f "$dir/$vxlan_state" ]; then
        while read -r name _vni _remote; do
            ip link show dev "$name" >/dev/null 2>&1 </dev/null || echo "$name"
        done <"$dir/$vxlan_state"
    fi
}

# default_reload: restarts each OpenVPN server, brings each WireGuard interface up to date
default_reload() {
    while IFS= read -r name; do
        systemctl restart "openvpn-server@$name" </dev/null || fail "cannot restart openvpn-server@$name"
    done <"$work/openvpn"
    [ -s "$work/wireguard" ] || [ -d "$dir/$applied" ] || return 0
    for tool in wg wg-quick; do
        command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (package wireguard-tools)"
    done
    # first the interfaces whose configuration is gone, which frees their ports
    for record in "$dir/$applied"/*.conf; do
        [ -f "$record" ] || continue
        name=$(basename "$record" .conf)
        grep -qxF -e "$name" "$work/wireguard" || wireguard_remove "$name" </dev/null
    done
    while IFS= read -r name; do
        wireguard_apply "$name" </dev/null
    done <"$work/wireguard"
    if [ -f "$dir/vxlan.json" ] || [ -s "$dir/$vxlan_state" ]; then
        vxlan_apply "$(head -n 1 "$work/wireguard")" </dev/null
    fi
}

fetch "controller/vpn/checksum/$uuid/" "$work/checksum"
checksum=$(cat "$work/checksum")
case $checksum in
    *[!0-9a-f]* | "") fail "unexpected checksum answer" ;;
esac
[ ${#checksum} -eq 32 ] || fail "unexpected checksum answer"
pending="$dir/.netjsonconfig-reload-pending"
if [ -f "$dir/$state" ] && [ "$(cat "$dir/$state")" = "$checksum" ]; then
    gone=$(if [ -z "$reload" ]; then missing_interfaces; fi)
    if [ -z "$gone" ]; then
        log "up to date ($checksum)"
        exit 0
    fi
    # after a reboot, or brought down by hand: applied again as after a failed reload
    log "up to date ($checksum), but $(echo $gone) no longer there"
    : >"$pending"
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
# the server configurations: NAME.conf at the top of the archive, OpenVPN or WireGuard
: >"$work/openvpn"
: >"$work/wireguard"
grep -x '[^/ ]*\.conf' "$work/files" | while IFS= read -r conf; do
    if is_wireguard "$work/new/$conf"; then echo "${conf%.conf}" >>"$work/wireguard"; else echo "${conf%.conf}" >>"$work/openvpn"; fi
done
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
if [ -s "$work/changed" ] || [ -f "$pending" ]; then
    [ -s "$work/changed" ] && log "installed $(tr '\n' ' ' <"$work/changed")"
    : >"$pending"
    if [ -n "$reload" ]; then
        NETJSONCONFIG_VPN_DIR=$dir sh -c "$reload" || fail "the reload command failed: $reload"
    else
        default_reload
    fi
    if [ -n "$after_reload" ]; then
        NETJSONCONFIG_VPN_DIR=$dir sh -c "$after_reload" || fail "the after-reload command failed: $after_reload"
    fi
    rm -f "$pending"
fi
printf '%s\n' "$checksum" >"$work/state" && mv -f "$work/state" "$dir/$state"
log "updated to $checksum"
