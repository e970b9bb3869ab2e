#!/usr/bin/env bash
# [scep] max_recipient_infos and max_certificates bound what a request's
# CMS may carry: at the limit a PKCSReq enrolls, one past it gets FAILURE
# badRequest before anything is decrypted or ordered.
. "$GW_SRC/tests/integration/lib.sh"
gw_up
gw_conf_set scep max_recipient_infos 3
gw_conf_set scep max_certificates 4
gw_stop
gw_start

# Extra recipients: certificates of one throwaway RSA key.
openssl genrsa -out "$T/other.key" 2048 2>/dev/null
bundle() { # bundle FILE N
	local i
	: >"$1"
	for ((i = 1; i <= $2; i++)); do
		openssl req -x509 -new -key "$T/other.key" -subj "/CN=extra-$i" \
		    -days 1 -set_serial "$i" 2>/dev/null >>"$1"
	done
}
bundle "$T/r2.pem" 2
bundle "$T/r3.pem" 3
bundle "$T/c3.pem" 3
bundle "$T/c4.pem" 4

# The RA plus 2 more recipients = 3: at the limit.
enroll_expect rcpt-at SUCCESS --challenge "$(gw_challenge)" --cn rcpt-at \
    --add-recipients "$T/r2.pem"
# The RA plus 3 = 4: one past.
c=$(gw_challenge)
enroll_expect rcpt-past FAILURE --challenge "$c" --cn rcpt-past \
    --add-recipients "$T/r3.pem"
gw_assert_contains "$T/rcpt-past.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "RecipientInfos; 1 to 3 accepted"

# The signer plus 3 more certificates = 4: at the limit.
enroll_expect certs-at SUCCESS --challenge "$(gw_challenge)" --cn certs-at \
    --add-certs "$T/c3.pem"
enroll_expect certs-past FAILURE --challenge "$(gw_challenge)" \
    --cn certs-past --add-certs "$T/c4.pem"
gw_assert_contains "$T/certs-past.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "carries 5 certificates"

# The refused challenge was not spent: it still enrolls.
enroll_expect rcpt-retry SUCCESS --challenge "$c" --cn rcpt-past
gw_assert_eq 3 "$(sim_orders)" "orders"
gw_stop
