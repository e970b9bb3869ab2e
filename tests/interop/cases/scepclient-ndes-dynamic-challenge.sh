#!/usr/bin/env bash
# Interop, the way an MDM with an NDES "dynamic challenge" connector works:
# it scrapes a one-time challenge from /certsrv/mscep_admin/ with HTTP
# Basic auth and the scrapers' regex, and a real client (micromdm's
# scepclient) enrolls with it; the challenge then works no more.
. "$GW_SRC/tests/lib/harness.sh"
gw_need scepclient openssl curl iconv perl
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set scep allow_des yes
printf 'mdm-secret\n' | "$GW_BUILD/scepgw" user add mdm -c "$GW_CONF" >/dev/null ||
    gw_fail "user add"
gw_start

curl -fsS -m 30 -u mdm:mdm-secret -o "$T/page.raw" \
    "http://127.0.0.1:$GW_PORT/certsrv/mscep_admin/" || gw_fail "NDES page"
iconv -f UTF-16 -t UTF-8 "$T/page.raw" >"$T/page.txt" || gw_fail "page is not UTF-16"
c=$(perl -ne 'print "$1\n" if /The enrollment challenge password is: <B> (\S+)/i' "$T/page.txt")
[ -n "$c" ] || gw_fail "no challenge scraped from: $(cat "$T/page.txt")"

# scepclient ARGS in $T/NAME; returns its status.
run_scepclient() {
	local name=$1 rc=0
	mkdir -p "$T/$name"
	(cd "$T/$name" && gw_run "$T/scepclient-$name.log" 120 \
	    scepclient -server-url "$GW_URL" -challenge "$c" -cn "ndes-$name" \
	    -private-key "$T/$name/key.pem" -certificate "$T/$name/cert.pem") || rc=$?
	return "$rc"
}
run_scepclient first || { cat "$T/scepclient-first.log" >&2; gw_fail "scepclient did not enroll"; }
gw_assert_cert_key "$T/first/cert.pem" "$T/first/key.pem"
gw_assert_cert_chains "$T/first/cert.pem" "$SIM_DIR/ca-chain.pem"
rc=0
run_scepclient second || rc=$?
[ "$rc" -ne 0 ] || gw_fail "the scraped challenge worked twice"
[ ! -s "$T/second/cert.pem" ] || gw_fail "a certificate for a used challenge"
gw_assert_contains "$T/scepclient-second.log" "badRequest"
gw_assert_not_contains "$T/scepgw.log" "$c"
gw_stop
