#!/usr/bin/env bash
# Signer certificates of a PKCSReq (RFC 8894 2.3, 2.4).
#
# Decision: the signer of a PKCSReq is an ephemeral self-signed
# certificate that authenticates nothing (the challenge does), so its
# validity dates are not checked: an expired or not-yet-valid one is
# accepted, as many devices with wrong clocks send them. What it must do
# is carry the key of the request: a PKCSReq signed by a foreign key
# (not an authenticated renewal by a certificate of our CA) is refused
# with badMessageCheck, before the challenge is looked at.
. "$GW_SRC/tests/integration/lib.sh"
gw_need python3
python3 -c 'import cryptography' 2>/dev/null ||
    gw_skip "python3-cryptography is not installed"
gw_up
gw_conf_set enroll max_failures_per_minute 0
gw_stop
gw_start

# selfsigned KEY OUT DAYS_FROM DAYS_TO: a self-signed certificate of KEY
# valid from now+DAYS_FROM to now+DAYS_TO.
selfsigned() {
	python3 - "$@" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
now = datetime.datetime.now(datetime.timezone.utc)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer")])
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=int(sys.argv[3])))
        .not_valid_after(now + datetime.timedelta(days=int(sys.argv[4])))
        .sign(key, hashes.SHA256()))
open(sys.argv[2], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
PY
}
for n in expired future foreign; do
	openssl genrsa -out "$T/$n.key" 2048 2>/dev/null
done
openssl genrsa -out "$T/other.key" 2048 2>/dev/null
selfsigned "$T/expired.key" "$T/expired-signer.pem" -730 -365
selfsigned "$T/future.key" "$T/future-signer.pem" 365 730
selfsigned "$T/other.key" "$T/other-signer.pem" -1 365

# Expired and not-yet-valid self-signed signers with the CSR's key.
enroll_expect expired SUCCESS --challenge "$(gw_challenge)" --cn expired \
    --renew-cert "$T/expired-signer.pem" --renew-key "$T/expired.key" --pkcsreq
enroll_expect future SUCCESS --challenge "$(gw_challenge)" --cn future \
    --renew-cert "$T/future-signer.pem" --renew-key "$T/future.key" --pkcsreq
gw_assert_eq 2 "$(sim_orders)" "orders"

# A valid self-signed signer whose key is not the CSR's.
c=$(gw_challenge)
rc=0
enroll foreign --challenge "$c" --cn foreign \
    --renew-cert "$T/other-signer.pem" --renew-key "$T/other.key" --pkcsreq || rc=$?
[ "$rc" = 2 ] || gw_fail "foreign signer: scepreq exited $rc, want FAILURE"
gw_assert_contains "$T/foreign.out" "failinfo=badMessageCheck"
gw_assert_eq 2 "$(sim_orders)" "orders after a foreign signer"
# The challenge was not spent on it.
enroll_expect foreign2 SUCCESS --challenge "$c" --cn foreign2
gw_stop
