#!/usr/bin/env bash
# Every request encoding seen in the wild reaches the same result: GET
# message= percent-escaped, raw ('+' arrives as a space), half-escaped
# (Apple), base64url, '+' as %20, line-wrapped (sscep, Cisco); POST with no
# Content-Type or an odd one; every SCEP path with a suffix; HTTP/1.0
# without Host. Replies carry RFC 8894's content types.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

i=0
for mode in escaped raw half urlsafe space wrapped; do
	i=$((i + 1))
	c=$(gw_challenge)
	enroll_expect "get-$mode" SUCCESS --challenge "$c" --cn "get-$mode" \
	    --get-encoding "$mode"
	assert_issued "get-$mode"
done
c=$(gw_challenge)
enroll_expect post-noct SUCCESS --challenge "$c" --cn post-noct --content-type ""
c=$(gw_challenge)
enroll_expect post-form SUCCESS --challenge "$c" --cn post-form \
    --content-type application/x-www-form-urlencoded

base=http://127.0.0.1:$GW_PORT
for path in /scep/pkiclient.exe /cgi-bin/pkiclient.exe /certsrv/mscep/mscep.dll \
    /certsrv/mscep/mscep.dll/pkiclient.exe /scep/; do
	c=$(gw_challenge)
	name=path$(echo "$path" | tr -c 'a-z0-9\n' '_')
	"$GW_BUILD/scepreq" enroll --url "$base$path" --challenge "$c" \
	    --cn "$name" --key "$T/$name.key" --cert-out "$T/$name.pem" \
	    >"$T/$name.out" 2>&1 || { cat "$T/$name.out" >&2; gw_fail "enroll at $path"; }
done
gw_assert_eq $((i + 7)) "$(sim_orders)" "orders at epki-sim"

# HTTP/1.0 without a Host header.
printf 'GET /scep?operation=GetCACaps HTTP/1.0\r\n\r\n' >"$T/req10"
curl -sS --http1.0 -H 'Host:' -D "$T/h10" -o "$T/caps10" "$base/scep?operation=GetCACaps"
gw_assert_contains "$T/h10" '^HTTP/1\.[01] 200'
gw_assert_contains "$T/caps10" 'POSTPKIOperation'

# Content types of the replies.
curl -sS -D "$T/hp" -o /dev/null --data-binary @/dev/null "$GW_URL?operation=PKIOperation"
c=$(gw_challenge)
"$GW_BUILD/scepreq" enroll --url "$GW_URL" --challenge "$c" --cn ct \
    --key "$T/ct.key" >/dev/null 2>&1 || gw_fail "enroll ct"
curl -sS -D "$T/hc" -o /dev/null "$GW_URL?operation=GetCACert"
gw_assert_contains "$T/hc" $'^[Cc]ontent-[Tt]ype: application/x-x509-ca-ra-cert\r$'
gw_stop
