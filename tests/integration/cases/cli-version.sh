#!/usr/bin/env bash
# `scepgw --version` and `-V` (README "Commands"): exit 0 without reading a
# config (a missing one is named), first line `scepgw VERSION` with this
# tree's project version, then one line per library whose version equals
# what the installed library reports: pkg-config for each, and where the
# Debian tool linked to the same library is there, its own report
# (openssl's "Library:", curl's libcurl/, xmllint's libxml number,
# sqlite3). jansson has no runtime call: its line says "built with".
. "$GW_SRC/tests/integration/lib.sh"
gw_need pkg-config
gw_tmpdir

"$GW_BUILD/scepgw" -c "$T/no-such.conf" --version >"$T/long" 2>"$T/long.err" ||
    gw_fail "scepgw --version exited $?: $(cat "$T/long.err")"
"$GW_BUILD/scepgw" -V >"$T/short" 2>&1 || gw_fail "scepgw -V exited $?"
cmp -s "$T/long" "$T/short" || gw_fail "-V and --version differ"
[ ! -s "$T/long.err" ] || gw_fail "--version wrote to stderr: $(cat "$T/long.err")"

# line NAME: the version on the line starting with NAME (exactly one).
line() {
	local n
	n=$(grep -c "^$1 " "$T/long" || true)
	[ "$n" = 1 ] || gw_fail "$n lines for $1 in: $(cat "$T/long")"
	awk -v n="$1" '$1 == n { print $2 }' "$T/long"
}

proj=$(sed -n 's/^project(scepgw VERSION \([0-9.]*\).*/\1/p' "$GW_SRC/CMakeLists.txt")
first=$(head -1 "$T/long")
[[ $first =~ ^scepgw\ ${proj//./\\.}([+~][A-Za-z0-9.+~]*)?$ ]] ||
    gw_fail "first line '$first' is not 'scepgw $proj[+…]'"
gw_assert_eq 8 "$(wc -l <"$T/long")" "lines of --version"

gw_assert_eq "$(pkg-config --modversion openssl)" "$(line OpenSSL)" "OpenSSL"
gw_assert_eq "$(pkg-config --modversion libmicrohttpd)" "$(line libmicrohttpd)" "libmicrohttpd"
gw_assert_eq "$(pkg-config --modversion libcurl)" "$(line libcurl)" "libcurl"
gw_assert_eq "$(pkg-config --modversion libxml-2.0)" "$(line libxml2)" "libxml2"
gw_assert_eq "$(pkg-config --modversion sqlite3)" "$(line SQLite)" "SQLite"
gw_assert_eq "$(pkg-config --modversion libpq)" "$(line libpq)" "libpq"
gw_assert_eq "$(pkg-config --modversion jansson)" "$(line jansson)" "jansson"
gw_assert_contains "$T/long" "^jansson [^ ]+ \(built with\)$"

# The same libraries as other programs load them.
if command -v openssl >/dev/null; then
	v=$(openssl version -v | sed -n 's/.*(Library: OpenSSL \([^ ]*\).*/\1/p')
	gw_assert_eq "${v:-$(openssl version -v | awk '{print $2}')}" "$(line OpenSSL)" "OpenSSL as openssl(1) loads it"
fi
if command -v curl >/dev/null; then
	v=$(curl --version | head -1 | sed -n 's|.* libcurl/\([^ ]*\).*|\1|p')
	gw_assert_eq "$v" "$(line libcurl)" "libcurl as curl(1) loads it"
fi
if command -v xmllint >/dev/null; then
	n=$(xmllint --version 2>&1 | sed -n 's/.*using libxml version \([0-9]*\).*/\1/p')
	gw_assert_eq "$((n / 10000)).$((n / 100 % 100)).$((n % 100))" "$(line libxml2)" "libxml2 as xmllint loads it"
fi
if command -v sqlite3 >/dev/null; then
	gw_assert_eq "$(sqlite3 --version | awk '{print $1}')" "$(line SQLite)" "SQLite as sqlite3(1) loads it"
fi
