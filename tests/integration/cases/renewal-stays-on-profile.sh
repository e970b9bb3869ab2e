#!/usr/bin/env bash
# A renewal stays on the profile of the certificate it renews (README
# "Renewal"): sent to another profile's URL it gets FAILURE badRequest, a
# log line saying why, and no order; on its own profile it is ordered with
# that profile's EPKI settings (here [profile other] years = 2, against
# [epki] years = 1), also when the reconciler places the order again after
# GlobalSign lost it.
. "$GW_SRC/tests/integration/lib.sh"
gw_tmpdir
mkdir -p "$T/epki-sim"
# A 2-year licence pack besides the 1-year one.
printf 'pack = 2,1000,2099-12-31\n' >"$T/epki-sim/sim.conf"
gw_up
gw_stop
gw_conf_set "profile other" years 2
gw_conf_set epki reconcile_seconds 1
gw_conf_set epki timeout_seconds 2
gw_conf_set scep pending_after_seconds 1
gw_start
BASE=$GW_URL

serial_of() { openssl x509 -in "$T/$1.pem" -noout -serial | cut -d= -f2; }
# days_of NAME: the validity of NAME.pem in days.
days_of() {
	local from to
	from=$(date -d "$(openssl x509 -in "$T/$1.pem" -noout -startdate | cut -d= -f2)" +%s)
	to=$(date -d "$(openssl x509 -in "$T/$1.pem" -noout -enddate | cut -d= -f2)" +%s)
	echo $(((to - from) / 86400))
}
# years_of NAME: 1 or 2, from the validity.
years_of() { [ "$(days_of "$1")" -gt 400 ] && echo 2 || echo 1; }
db() { sqlite3 -cmd '.timeout 10000' "$GW_DIR/scepgw.db" "$1"; }

# Issued on the default profile: renews there, not on /scep/other.
c=$(gw_challenge --cn dflt)
enroll_expect d SUCCESS --challenge "$c"
gw_assert_eq 1 "$(years_of d)" "years of the default profile"
GW_URL=$BASE/other enroll_expect d-other FAILURE --renew-cert "$T/d.pem" \
    --renew-key "$T/d.key"
gw_assert_contains "$T/d-other.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" \
    "RenewalReq refused: signer serial=$(serial_of d): it was issued on profile default, the request came on profile other"
gw_assert_eq 1 "$(sim_orders)" "orders after the renewal on another profile"
enroll_expect d2 SUCCESS --renew-cert "$T/d.pem" --renew-key "$T/d.key"
gw_assert_eq 1 "$(years_of d2)" "years of the renewal on the default profile"

# Issued on /scep/other: renews there, with its 2 years, not on /scep.
c=$(gw_challenge --cn oth)
GW_URL=$BASE/other enroll_expect o SUCCESS --challenge "$c"
gw_assert_eq 2 "$(years_of o)" "years of profile other"
enroll_expect o-dflt FAILURE --renew-cert "$T/o.pem" --renew-key "$T/o.key"
gw_assert_contains "$T/o-dflt.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" \
    "signer serial=$(serial_of o): it was issued on profile other, the request came on profile default"
gw_assert_eq 3 "$(sim_orders)" "orders after the renewal on the default profile"

# GlobalSign loses the renewal's order: the reconciler orders it again,
# on the renewed certificate's profile.
curl -fsS -m 10 -d 'http500 op=OrderAndIssueCertificate count=1' \
    "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null || gw_fail "sim fault"
rc=0
GW_URL=$BASE/other enroll o2 --txid o2-txid --renew-cert "$T/o.pem" \
    --renew-key "$T/o.key" || rc=$?
gw_assert_eq 3 "$rc" "first answer to the interrupted renewal (3: PENDING)"
gw_assert_eq "other|$(serial_of o)" \
    "$(db "SELECT profile || '|' || renews FROM transactions WHERE txid = 'o2-txid'")" \
    "profile and renewed serial of the renewal's transaction"
for ((k = 0; k < 80 && rc == 3; k++)); do
	sleep 0.5
	rc=0
	"$GW_BUILD/scepreq" poll --url "$BASE/other" --key "$T/o2.key" \
	    --txid o2-txid --cert-out "$T/o2.pem" >"$T/o2.poll.out" 2>&1 || rc=$?
done
gw_assert_eq 0 "$rc" "CertPoll of the reconciled renewal"
gw_assert_contains "$T/scepgw.log" "txid=o2-txid: GlobalSign has no order for this request; ordering it now"
assert_issued o2
gw_assert_eq 2 "$(years_of o2)" "years of the reconciled renewal"
gw_assert_eq 4 "$(sim_orders)" "orders at epki-sim"
gw_stop
