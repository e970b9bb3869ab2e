#!/usr/bin/env bash
# [server] max_request_bytes bounds the POST body, the decoded GET
# message= and (through MHD's per-connection memory, 4 x the limit +
# 16 KiB, at most 32 KiB) the request line and headers: one past each
# gets a clean 4xx, at the limit the request is read and judged on its
# content.
. "$GW_SRC/tests/integration/lib.sh"
gw_need python3
gw_up

# code FILE-OR-EMPTY [curl args]: print the HTTP status.
code() {
	curl -s -o "$T/body" -w '%{http_code}' -m 20 "$@" || true
}
b64() { base64 -w0 "$1" | sed 's/+/%2B/g; s,/,%2F,g; s/=/%3D/g'; }

# Defaults (64 KiB messages, 32 KiB of connection memory): a GET
# message= of 20 KiB, percent-escaped, is read and judged (400: not
# CMS); one of 28 KiB does not fit the request line (414) and must come
# by POST, which takes it.
head -c 20480 /dev/urandom >"$T/get20k.bin"
head -c 28672 /dev/urandom >"$T/get28k.bin"
gw_assert_eq 400 "$(code "$GW_URL?operation=PKIOperation&message=$(b64 "$T/get20k.bin")")" \
    "GET of a 20 KiB message"
gw_assert_eq 414 "$(code "$GW_URL?operation=PKIOperation&message=$(b64 "$T/get28k.bin")")" \
    "GET of a 28 KiB message"
gw_assert_contains "$T/scepgw.log" "warning: http: .*response code is 414"
gw_assert_eq 400 "$(code --data-binary @"$T/get28k.bin" \
    -H 'Content-Type: application/x-pki-message' \
    "$GW_URL?operation=PKIOperation")" "POST of the 28 KiB message"

gw_conf_set server max_request_bytes 4096
gw_stop
gw_start
head -c 4096 /dev/urandom >"$T/at.bin"
head -c 4097 /dev/urandom >"$T/past.bin"

# POST body.
gw_assert_eq 400 "$(code --data-binary @"$T/at.bin" \
    -H 'Content-Type: application/x-pki-message' \
    "$GW_URL?operation=PKIOperation")" "POST of exactly 4096 bytes"
gw_assert_eq 413 "$(code --data-binary @"$T/past.bin" \
    -H 'Content-Type: application/x-pki-message' \
    "$GW_URL?operation=PKIOperation")" "POST of 4097 bytes"

# GET message=: base64 of 4096 bytes is parsed (and refused as not CMS),
# of 4097 bytes refused for its length.
gw_assert_eq 400 "$(code "$GW_URL?operation=PKIOperation&message=$(b64 "$T/at.bin")")" \
    "GET of 4096 bytes"
gw_assert_not_contains "$T/scepgw.log" "message longer than 4096 bytes"
gw_assert_eq 400 "$(code "$GW_URL?operation=PKIOperation&message=$(b64 "$T/past.bin")")" \
    "GET of 4097 bytes"
gw_assert_contains "$T/scepgw.log" "message longer than 4096 bytes"

# Headers: 4 * 4096 + 16384 = 32768 bytes of connection memory. One
# 8 KiB header passes; 40 KiB of headers (one, or 2000 small ones) get
# 431 Request Header Fields Too Large.
big=$(head -c 8000 /dev/zero | tr '\0' a)
gw_assert_eq 200 "$(code -H "X-Big: $big" "$GW_URL?operation=GetCACaps")" \
    "an 8000-byte header"
big=$(head -c 40000 /dev/zero | tr '\0' a)
c=$(code -H "X-Big: $big" "$GW_URL?operation=GetCACaps")
[ "$c" = 431 ] || [ "$c" = 413 ] || [ "$c" = 414 ] ||
    gw_fail "a 40000-byte header: HTTP $c, want 431"
python3 - "$GW_PORT" >"$T/many.out" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
req = "GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n"
req += "".join("X-H%d: %s\r\n" % (i, "v" * 12) for i in range(2000))
s.sendall((req + "\r\n").encode())
print(s.recv(200).decode(errors="replace").split("\r\n")[0])
PY
gw_assert_contains "$T/many.out" "^HTTP/1\.1 4(31|13)"

# A real enrollment fits under the limit.
enroll_expect fits SUCCESS --challenge "$(gw_challenge)" --cn fits
gw_stop
