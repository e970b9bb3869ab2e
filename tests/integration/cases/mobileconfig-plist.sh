#!/usr/bin/env bash
# `scepgw mobileconfig` (README "Apple configuration profiles"): the
# .mobileconfig parses with Python's plistlib and holds, key by key, the
# SCEP payload (URL, Name, Challenge or the --dynamic placeholder, RSA 2048,
# Key Usage 5, the literal Subject, CAFingerprint = SHA-1 of the issuing CA)
# and one certificate payload per CA of the chain; UUIDs are fresh each
# time.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl python3
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set "profile kiosk" ou "Kiosks & Co"
gw_conf_set "profile kiosk" subject_cn 'kiosk-${csr.cn}'

mc() { "$GW_BUILD/scepgw" mobileconfig -c "$GW_CONF" "$@"; }
mc --profile kiosk --challenge 'pa<ss>&"w' --name Acme \
    --url https://gw.example/scep/kiosk --cn device-7 >"$T/a.mobileconfig" 2>"$T/a.err" ||
    gw_fail "mobileconfig failed: $(cat "$T/a.err")"
mc --profile kiosk --dynamic --url https://gw.example/scep/kiosk \
    >"$T/b.mobileconfig" 2>"$T/b.err" || gw_fail "mobileconfig --dynamic failed"
gw_assert_contains "$T/b.err" "placeholder"
openssl x509 -in "$SIM_DIR/ca-chain.pem" -noout -fingerprint -sha1 |
    sed 's/.*=//; s/://g' >"$T/fp"
nca=$(grep -c 'BEGIN CERTIFICATE' "$SIM_DIR/ca-chain.pem")

python3 - "$T/a.mobileconfig" "$T/b.mobileconfig" "$(cat "$T/fp")" "$nca" <<'PY' ||
import plistlib, sys, re
a = plistlib.load(open(sys.argv[1], "rb"))
b = plistlib.load(open(sys.argv[2], "rb"))
fp, nca = sys.argv[3].lower(), int(sys.argv[4])
uuid = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")
def check(cond, what):
    if not cond:
        sys.exit("mobileconfig: " + what)
check(a["PayloadType"] == "Configuration", "top PayloadType")
check(a["PayloadVersion"] == 1, "top PayloadVersion")
check(a["PayloadIdentifier"] == "scepgw.kiosk", "top PayloadIdentifier")
check(uuid.match(a["PayloadUUID"]), "top PayloadUUID")
pcs = a["PayloadContent"]
check(len(pcs) == 1 + nca, "payload count %d" % len(pcs))
scep = pcs[0]
check(scep["PayloadType"] == "com.apple.security.scep", "scep PayloadType")
check(scep["PayloadIdentifier"] == "scepgw.kiosk.scep", "scep PayloadIdentifier")
check(uuid.match(scep["PayloadUUID"]), "scep PayloadUUID")
c = scep["PayloadContent"]
check(c["URL"] == "https://gw.example/scep/kiosk", "URL")
check(c["Name"] == "Acme", "Name")
check(c["Challenge"] == 'pa<ss>&"w', "Challenge")
check(c["Keysize"] == 2048, "Keysize")
check(c["Key Type"] == "RSA", "Key Type")
check(c["Key Usage"] == 5, "Key Usage")
check(c["CAFingerprint"].hex() == fp, "CAFingerprint %s != %s" % (c["CAFingerprint"].hex(), fp))
check(c["Subject"] == [[["OU", "Kiosks & Co"]], [["CN", "device-7"]]], "Subject %r" % c["Subject"])
types = [p["PayloadType"] for p in pcs[1:]]
check(types[-1] == "com.apple.security.root", "last CA is a root: %r" % types)
check(all(t in ("com.apple.security.root", "com.apple.security.pkcs1") for t in types), "CA types")
for i, p in enumerate(pcs[1:]):
    check(p["PayloadIdentifier"] == "scepgw.kiosk.ca%d" % i, "CA PayloadIdentifier")
    check(p["PayloadContent"][:1] == b"\x30", "CA PayloadContent is DER")
bc = b["PayloadContent"][0]["PayloadContent"]
check(bc["Challenge"] == "$SCEP_CHALLENGE", "dynamic placeholder")
check(bc["Subject"] == [[["OU", "Kiosks & Co"]]], "Subject without --cn")
check(b["PayloadIdentifier"] == a["PayloadIdentifier"], "stable identifier")
check(b["PayloadUUID"] != a["PayloadUUID"], "fresh UUID")
PY
    gw_fail "the .mobileconfig is not what it should be"

# Usage errors: neither or both of --challenge / --dynamic, unknown profile.
rc=0; mc >/dev/null 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "exit status without a challenge"
rc=0; mc --challenge x --dynamic >/dev/null 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "exit status with both"
rc=0; mc --profile nosuch --challenge x >/dev/null 2>"$T/c.err" || rc=$?
gw_assert_eq 1 "$rc" "exit status for an unknown profile"
gw_assert_contains "$T/c.err" "no .profile nosuch. in"
