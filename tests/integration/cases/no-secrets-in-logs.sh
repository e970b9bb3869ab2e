#!/usr/bin/env bash
# No secret leaks: at [log] level = debug, a full enrollment, a CertPoll,
# a wrong challenge and the admin API leave no trace of the challenges,
# the EPKI password, the admin token or the RA private key in any log line
# of ours, in the database (sqlite3 .dump and the raw file, with its WAL)
# or in the output of `challenge list` and `cert list`.
. "$GW_SRC/tests/integration/lib.sh"
gw_need sqlite3 strings
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
gw_conf_set log level debug
SIM_ORDERS0=$(sim_orders)
gw_start

good=$(gw_challenge)
enroll_expect ok SUCCESS --challenge "$good" --cn nosecret --txid nosecret-1
"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/ok.key" --txid nosecret-1 \
    --cn nosecret >"$T/poll.out" 2>&1 || gw_fail "CertPoll: $(cat "$T/poll.out")"
wrong=WRONG$(openssl rand -hex 12)
enroll_expect bad FAILURE --challenge "$wrong" --cn nosecret-bad
unused=$(gw_challenge)
curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data-binary '{"count":1}' "$GW_ADMIN_URL/api/v1/challenges" >"$T/api-new.json" ||
    gw_fail "admin API challenge creation failed"
api=$(sed -n 's/.*"challenge" *: *"\([^"]*\)".*/\1/p' "$T/api-new.json")
[ -n "$api" ] || gw_fail "no challenge in $(cat "$T/api-new.json")"
"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" >"$T/challenge-list.out" 2>&1 ||
    gw_fail "challenge list failed"
"$GW_BUILD/scepgw" cert list -c "$GW_CONF" >"$T/cert-list.out" 2>&1 ||
    gw_fail "cert list failed"
gw_stop
# Debug logging really was on.
gw_assert_contains "$T/scepgw.log" " debug: "

# The secrets: four challenges, the password, the token, and every line
# of the RA key's base64 body.
printf '%s\n' "$good" "$wrong" "$unused" "$api" "$GW_SIM_PASSWORD" "$TOKEN" \
    >"$T/secrets.txt"
grep -v -- '-----' "$GW_DIR/ra.key" >>"$T/secrets.txt"
[ "$(wc -l <"$T/secrets.txt")" -gt 10 ] || gw_fail "too few secrets to look for"

sqlite3 "$GW_DIR/scepgw.db" .dump >"$T/db-dump.txt"
: >"$T/db-raw.txt"
for f in "$GW_DIR"/scepgw.db*; do
	strings -n 6 "$f" >>"$T/db-raw.txt"
done
# What we wrote: daemon and CLI logs, scepreq/list outputs, the database.
found=0
for f in "$T"/scepgw.log "$T"/cli.log "$T"/init.log "$T"/*-list.out \
    "$T"/db-dump.txt "$T"/db-raw.txt; do
	[ -f "$f" ] || continue
	while IFS= read -r s; do
		[ -n "$s" ] || continue
		if grep -qF -- "$s" "$f"; then
			printf 'secret %.12s... found in %s\n' "$s" "${f##*/}" >&2
			found=1
		fi
	done <"$T/secrets.txt"
done
[ "$found" = 0 ] || gw_fail "a secret leaked (see above)"
# The lists did list something.
gw_assert_contains "$T/cert-list.out" "nosecret"
