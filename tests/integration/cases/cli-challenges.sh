#!/usr/bin/env bash
# `scepgw challenge new --count N` prints N distinct high-entropy one-time
# challenges; the database stores only hashes; `challenge list` never
# shows a secret.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl sqlite3
gw_tmpdir
gw_start_sim
gw_init

"$GW_BUILD/scepgw" challenge new -c "$GW_CONF" --count 5 --cn alice \
    --email alice@example.com --ttl 600 >"$T/ch" || gw_fail "challenge new"
gw_assert_eq 5 "$(sort -u "$T/ch" | wc -l)" "distinct challenges"
while read -r c; do
	[[ $c =~ ^[0-9A-F]{32}$ ]] || gw_fail "challenge '$c' is not 128 bits of hex"
	! grep -q "$c" "$GW_DIR/scepgw.db" || gw_fail "challenge stored in clear"
done <"$T/ch"
"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" >"$T/list"
gw_assert_eq 5 "$(grep -c 'unused .*cn=alice email=alice@example.com' "$T/list")" "listed challenges"
while read -r c; do
	! grep -q "$c" "$T/list" || gw_fail "challenge list shows a secret"
done <"$T/ch"
rc=0
"$GW_BUILD/scepgw" challenge new -c "$GW_CONF" --count 0 2>/dev/null || rc=$?
gw_assert_eq 2 "$rc" "exit status for --count 0"

# A UPN binding is listed; a binding GlobalSign could not take is refused.
"$GW_BUILD/scepgw" challenge new -c "$GW_CONF" --cn bob --upn bob@corp.example \
    >/dev/null || gw_fail "challenge new --upn"
"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" >"$T/list"
gw_assert_contains "$T/list" "unused .*cn=bob email=- ou=- upn=bob@corp.example txid=-"
for bad in "--upn bob" "--email bob@" "--cn $(printf 'x%.0s' {1..65})"; do
	rc=0
	# shellcheck disable=SC2086
	"$GW_BUILD/scepgw" challenge new -c "$GW_CONF" $bad 2>"$T/bad.err" >/dev/null || rc=$?
	gw_assert_eq 2 "$rc" "exit status for $bad"
	gw_assert_contains "$T/bad.err" "${bad%% *}: "
done
