#!/usr/bin/env bash
# Enrollment against an epki-sim that behaves as the public evidence says
# GlobalSign does: the profile's own OU ("For Test Use Only") appended after
# the request's OU, a Timestamp 12 hours off, a colon-separated
# SerialNumber. The gateway accepts such certificates, and a renewal
# does not order the profile's OU a second time. GlobalSign Japan's
# EPKI limits (CN and each OU at most 64 characters, Email at most 128) are
# checked by the gateway before anything is consumed or ordered: an OU of
# 65 from a profile template and an Email of 129 from the CSR get FAILURE
# badRequest with a log line, the challenge stays unused and nothing is
# ordered; values at the limits enroll. epki-sim itself answers a 65-
# character CN with -103 and ErrorField DnAttributes.CommonName.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
mkdir -p "$T/epki-sim"
printf '%s\n' 'profile_ous = For Test Use Only' 'timestamp_skew = 12' \
    'serial_format = colon' >"$T/epki-sim/sim.conf"
gw_start_sim
gw_init
gw_conf_set "profile longou" ou 'unit-${csr.cn}'
SIM_ORDERS0=$(sim_orders)
gw_start
base=${GW_URL%/scep}

# state ID: the state `challenge list` shows for challenge ID.
state() {
	"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" | awk -v id="$1" '$1 == id { print $2 }'
}
last_id() {
	"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" | awk 'END { print $1 }'
}
x() { printf "${2:-x}%.0s" $(seq 1 "$1"); }

# The profile OU comes after the one the challenge gave; Timestamp ignored.
c=$(gw_challenge --cn tester --ou Sales)
enroll_expect ous SUCCESS --challenge "$c"
assert_issued ous
openssl x509 -in "$T/ous.pem" -noout -subject -nameopt compat >"$T/ous.subj"
gw_assert_contains "$T/ous.subj" "/OU=Sales/OU=For Test Use Only/CN=tester"
sim_call GetOrders QueryRequestHeader \
    "<OrderQueryParam><CommonName>tester</CommonName></OrderQueryParam><OrdersQueryOption><ReturnCertificateInfo>true</ReturnCertificateInfo></OrdersQueryOption>" \
    "$T/orders.xml"
gw_assert_contains "$T/orders.xml" "<SerialNumber>[0-9a-f]{2}(:[0-9a-f]{2})+</SerialNumber>"
gw_assert_contains "$T/orders.xml" "<LicenseNo>LP000000000001</LicenseNo>"
sim_call GetProfiles QueryRequestHeader "<ProfileQueryParam/>" "$T/profiles.xml"
gw_assert_contains "$T/profiles.xml" "<OrganizationUnits><OrganizationUnit>For Test Use Only</OrganizationUnit></OrganizationUnits>"
now_h=$(date +%H)
ts_h=$(sed -n 's:.*<Timestamp>[0-9-]*T\([0-9][0-9]\).*:\1:p' "$T/profiles.xml")
gw_assert_eq $(((10#$now_h + 12) % 24)) "$((10#$ts_h))" "Timestamp hour 12 hours off"

# A renewal orders the OU the first order did, not the certificate's
# first OU: the profile's OU is not ordered again.
c=$(gw_challenge --cn plain)
enroll_expect plain SUCCESS --challenge "$c"
enroll_expect plain2 SUCCESS --renew-cert "$T/plain.pem" --renew-key "$T/plain.key"
enroll_expect ous2 SUCCESS --renew-cert "$T/ous.pem" --renew-key "$T/ous.key"
for n in plain plain2 ous2; do
	openssl x509 -in "$T/$n.pem" -noout -subject -nameopt compat >"$T/$n.subj"
done
gw_assert_contains "$T/plain2.subj" "/O=scepgw Test Org/OU=For Test Use Only/CN=plain$"
gw_assert_contains "$T/ous2.subj" "/O=scepgw Test Org/OU=Sales/OU=For Test Use Only/CN=tester$"
SIM_ORDERS0=$((SIM_ORDERS0 + 3))

# An OU of 65 characters from the profile's template: refused up front.
c=$(gw_challenge)
cid=$(last_id)
GW_URL=$base/scep/longou enroll_expect longou FAILURE --challenge "$c" --cn "$(x 60)"
gw_assert_contains "$T/longou.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "profile longou: ou refused: 65 characters; at most 64"
# An Email of 129 characters from the CSR.
mail="$(x 60)@$(x 60 d).example"
enroll_expect longmail FAILURE --challenge "$c" --cn mail --email "$mail"
gw_assert_contains "$T/longmail.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "email refused: 129 characters; at most 128"
gw_assert_eq unused "$(state "$cid")" "challenge after the refusals"
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim after the refusals"

# At the limits: CN 64, OU 64 (unit- + 59), Email 128: GlobalSign takes them.
GW_URL=$base/scep/longou enroll_expect limits SUCCESS --challenge "$c" --cn "$(x 59)" \
    --email "$(x 60)@$(x 59 d).example"
assert_issued limits
c=$(gw_challenge)
enroll_expect cn64 SUCCESS --challenge "$c" --cn "$(x 64)"
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim"

# epki-sim enforces the same limits, with GlobalSign's dotted ErrorField.
csr=$(openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout /dev/null -subj /CN=x 2>/dev/null)
req="<ProfileID>$GW_SIM_PROFILE</ProfileID><ProductCode>EPKIPSPersonal</ProductCode><Year>1</Year><CSR>$csr</CSR>"
sim_call OrderAndIssueCertificate OrderRequestHeader \
    "$req<DnAttributes><CommonName>$(x 65)</CommonName></DnAttributes>" "$T/cn65.xml"
gw_assert_contains "$T/cn65.xml" "<ErrorCode>-103</ErrorCode><ErrorField>DnAttributes.CommonName</ErrorField>"
sim_call OrderAndIssueCertificate OrderRequestHeader \
    "$req<DnAttributes><CommonName>ok</CommonName><OrganizationUnit>$(x 65)</OrganizationUnit></DnAttributes>" "$T/ou65.xml"
gw_assert_contains "$T/ou65.xml" "<ErrorCode>-103</ErrorCode><ErrorField>DnAttributes.OrganizationUnit</ErrorField>"
sim_call OrderAndIssueCertificate OrderRequestHeader \
    "$req<DnAttributes><CommonName>ok</CommonName><Email>$mail</Email></DnAttributes>" "$T/mail129.xml"
gw_assert_contains "$T/mail129.xml" "<ErrorCode>-103</ErrorCode><ErrorField>DnAttributes.Email</ErrorField>"
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim after the refused direct calls"
gw_stop
