#!/usr/bin/env bash
# A request encrypted to someone else's certificate (a stranger's RSA
# certificate, an EC certificate, the issuing CA's) cannot be decrypted:
# FAILURE badMessageCheck (or a 400), never a crash or an order; the
# gateway keeps serving.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/stranger.key" \
    -subj /CN=stranger -days 2 -out "$T/stranger.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/ec.key" -subj /CN=ec-stranger -days 2 -out "$T/ec.pem" 2>/dev/null
gw_split_chain "$SIM_DIR/ca-chain.pem" "$T/chain"

for who in stranger ec chain/issuing; do
	n=${who##*/}
	rc=0
	enroll "to-$n" --challenge "$(gw_challenge)" --cn "to-$n" \
	    --encrypt-to "$T/$who.pem" || rc=$?
	case $rc in
	2) gw_assert_contains "$T/to-$n.out" "failinfo=badMessageCheck" "to $n" ;;
	1) gw_assert_contains "$T/to-$n.out" "HTTP 400|400" "to $n" ;;
	*) cat "$T/to-$n.out" >&2; gw_fail "encrypted to $n: scepreq exited $rc" ;;
	esac
	gw_caps_ok "$GW_URL" || gw_fail "the gateway stopped answering after $n"
done
gw_assert_eq 0 "$(sim_orders)" "orders"
# And a real request still enrolls.
enroll_expect real SUCCESS --challenge "$(gw_challenge)" --cn real
gw_stop
