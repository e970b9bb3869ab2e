#!/usr/bin/env bash
# Input that cannot carry a CertRep gets a clean 4xx with a reason in the
# log, never a crash or a hang, and the gateway keeps serving.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

code() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }
gw_assert_eq 400 "$(code --data-binary 'not a pkcs7' "$GW_URL?operation=PKIOperation")" "POST garbage"
gw_assert_eq 400 "$(code --data-binary '' "$GW_URL?operation=PKIOperation")" "POST empty"
gw_assert_eq 400 "$(code "$GW_URL?operation=PKIOperation&message=%%%%")" "GET bad base64"
gw_assert_eq 400 "$(code "$GW_URL?operation=PKIOperation&message=aGVsbG8=")" "GET not CMS"
gw_assert_eq 400 "$(code "$GW_URL?operation=PKIOperation")" "GET without message"
gw_assert_eq 400 "$(code "$GW_URL?operation=Nonsense")" "unknown operation"
gw_assert_eq 400 "$(code "$GW_URL")" "no operation"
gw_assert_eq 404 "$(code "http://127.0.0.1:$GW_PORT/other?operation=GetCACaps")" "unknown path"
head -c 70000 /dev/urandom >"$T/big"
gw_assert_eq 413 "$(code --data-binary @"$T/big" "$GW_URL?operation=PKIOperation")" "oversized POST"
# A truncated real request: take a GetCACert bag as a non-pkiMessage CMS.
curl -fsS -o "$T/ca.p7" "$GW_URL?operation=GetCACert"
gw_assert_eq 400 "$(code --data-binary @"$T/ca.p7" "$GW_URL?operation=PKIOperation")" "certs-only CMS"
head -c 300 "$T/ca.p7" >"$T/trunc"
gw_assert_eq 400 "$(code --data-binary @"$T/trunc" "$GW_URL?operation=PKIOperation")" "truncated CMS"
gw_assert_contains "$T/scepgw.log" "not a SCEP message"
gw_assert_caps "$GW_URL" POSTPKIOperation
c=$(gw_challenge)
enroll_expect after SUCCESS --challenge "$c" --cn after
gw_stop
