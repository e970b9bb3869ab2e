#!/usr/bin/env bash
# Replays the committed SCEP request corpus (tests/fixtures/scep, see its
# README.md and MANIFEST) against a fresh gateway and checks every reply
# with build/checkrep: signed by the fixed RA, transactionID and nonces
# echoed, the expected pkiStatus and failInfo, and on SUCCESS an envelope
# that opens with the fixture's signer key, in the request's cipher, key
# transport and digest. epki-sim runs on the corpus's fixed PKI (so
# renewal fixtures chain to the configured CA); the gateway's [ra] is the
# fixed RA the messages are encrypted to; each challenge's SHA-256 goes
# straight into the challenges table. Phase 1 runs with allow_des = no,
# phase 2 with allow_des = yes.
. "$GW_SRC/tests/integration/lib.sh"

FX=$GW_SRC/tests/fixtures/scep
CHECKREP=${GW_CHECKREP:-$GW_BUILD/checkrep}
gw_need openssl curl sqlite3 base64
[ -x "$CHECKREP" ] || gw_fail "no $CHECKREP (build the checkrep target)"
gw_tmpdir

# The fixed PKI: epki-sim reuses what it finds in its folder. git keeps
# no file modes, so every key gets 0600 here.
mkdir -p "$T/epki-sim" "$T/ra"
install -m 644 "$FX/sim/root.pem" "$FX/sim/issuing.pem" "$T/epki-sim/"
install -m 600 "$FX/sim/issuing.key" "$T/epki-sim/"
install -m 600 "$FX/ra.key" "$T/ra/ra.key"
gw_start_sim
gw_init
# GetCRL follows the CRL distribution point of the RA certificate, and
# epki-sim's port changes every run: the RA certificate is issued again
# with the same key, issuer and serial (what the messages' recipient info
# names) and this run's CDP.
printf 'crlDistributionPoints = URI:http://127.0.0.1:%s/crl/issuing.crl\n%s\n' \
    "$SIM_PORT" 'keyUsage = critical, digitalSignature, keyEncipherment' \
    >"$T/ra/ext.cnf"
openssl x509 -in "$FX/ra.pem" -x509toreq -signkey "$T/ra/ra.key" \
    -out "$T/ra/ra.csr" 2>"$T/ra/openssl.out" &&
    openssl x509 -req -in "$T/ra/ra.csr" -CA "$FX/sim/issuing.pem" \
	-CAkey "$T/epki-sim/issuing.key" -days 30 -sha256 \
	-set_serial "0x$(openssl x509 -in "$FX/ra.pem" -noout -serial | cut -d= -f2)" \
	-extfile "$T/ra/ext.cnf" -out "$T/ra/ra.pem" 2>>"$T/ra/openssl.out" ||
    gw_fail "cannot issue the RA certificate again: $(cat "$T/ra/openssl.out")"
gw_conf_set ra cert "$T/ra/ra.pem"
gw_conf_set ra key "$T/ra/ra.key"
db=$(gw_conf_get db path)
case $db in /*) ;; *) db=$GW_DIR/$db ;; esac
[ -f "$db" ] || gw_fail "no database at $db"

# Every registered challenge, valid for an hour.
now=$(date +%s)
while read -r file key type transport path status fail cipher digest kt \
    challenge reg phase; do
	case $file in '#'* | '') continue ;; esac
	[ "$reg" = yes ] || continue
	h=$(printf '%s' "$challenge" | openssl dgst -sha256 -r | cut -d' ' -f1)
	sqlite3 "$db" "INSERT INTO challenges (hash, created, expires)
	    VALUES (X'$h', $now, $((now + 3600)));" ||
	    gw_fail "cannot register the challenge of $file"
done <"$FX/MANIFEST"

# get_value MODE FILE: the message= value for FILE, encoded as MODE.
get_value() {
	local b64
	b64=$(base64 -w0 "$2")
	case $1 in
	escaped) b64=${b64//+/%2B}; b64=${b64//\//%2F}; printf '%s' "${b64//=/%3D}" ;;
	raw) printf '%s' "$b64" ;;
	half) printf '%s' "${b64//=/%3D}" ;;
	urlsafe) b64=${b64//+/-}; b64=${b64//\//_}; printf '%s' "${b64//=/}" ;;
	space) b64=${b64//+/%20}; printf '%s' "${b64//=/%3D}" ;;
	wrapped)
		b64=$(printf '%s' "$b64" | fold -w 64 | sed 's/+/%2B/g; s|/|%2F|g; s/=/%3D/g' |
		    sed ':a;N;$!ba;s/\n/%0A/g')
		printf '%s' "$b64" ;;
	*) gw_fail "unknown GET encoding $1" ;;
	esac
}

# send FILE TRANSPORT PATH OUT: one request exactly as the manifest says.
# get-query sends the query string of a captured GET byte for byte, from
# the side file NAME.query next to NAME.der.
send() {
	local file=$1 transport=$2 path=$3 out=$4 base
	base=http://127.0.0.1:$GW_PORT$path
	local -a c=(curl -sS -m 60 -o "$out" -w '%{http_code} %{content_type}')
	case $transport in
	post) "${c[@]}" -H 'Content-Type: application/x-pki-message' \
	    --data-binary @"$file" "$base?operation=PKIOperation" ;;
	post-noctype) "${c[@]}" -H 'Content-Type:' \
	    --data-binary @"$file" "$base?operation=PKIOperation" ;;
	post-octet) "${c[@]}" -H 'Content-Type: application/octet-stream' \
	    --data-binary @"$file" "$base?operation=PKIOperation" ;;
	post-http1.0) "${c[@]}" --http1.0 \
	    -H 'Content-Type: application/x-pki-message' \
	    --data-binary @"$file" "$base?operation=PKIOperation" ;;
	get-query) "${c[@]}" --globoff \
	    "$base?$(cat "${file%.der}.query")" ;;
	get-*) "${c[@]}" \
	    "$base?operation=PKIOperation&message=$(get_value "${transport#get-}" "$file")" ;;
	*) gw_fail "unknown transport $transport" ;;
	esac
}

# replay PHASE: every manifest line of that phase.
replay() {
	local want=$1 n=0 file key type transport path status fail cipher \
	    digest kt challenge reg phase got exp http
	while read -r file key type transport path status fail cipher digest \
	    kt challenge reg phase; do
		case $file in '#'* | '') continue ;; esac
		[ "$phase" = "$want" ] || continue
		n=$((n + 1))
		http=$(send "$FX/$file" "$transport" "$path" "$T/$file.rep") ||
		    gw_fail "$file: curl failed"
		[ "$http" = "200 application/x-pki-message" ] ||
		    gw_fail "$file: HTTP reply '$http', want 200 application/x-pki-message"
		"$CHECKREP" "$T/$file.rep" "$FX/$file" "$FX/$key.key" \
		    "$FX/$key.signer.pem" "$T/ra/ra.pem" "$T/$file.pem" \
		    >"$T/$file.check" 2>&1 ||
		    gw_fail "$file: $(cat "$T/$file.check")"
		got=$(head -n 1 "$T/$file.check")
		got=${got% certs=*}
		exp="status=$status failinfo=$fail cipher=$cipher digest=$digest kt=$kt"
		[ "$got" = "$exp" ] ||
		    gw_fail "$file ($type, $transport $path): got '$got', want '$exp'"
		if [ "$status" = SUCCESS ] && [ "$type" != GetCRL ]; then
			gw_assert_cert_chains "$T/$file.pem" "$SIM_DIR/ca-chain.pem"
		fi
		gw_log "$file: $got"
	done <"$FX/MANIFEST"
	[ "$n" -gt 0 ] || gw_fail "no fixture in phase $want"
}

gw_conf_set scep allow_des no
SIM_ORDERS0=$(sim_orders)
gw_start
replay 1
gw_stop

gw_conf_set scep allow_des yes
gw_start
replay 2
# A renewal carries the identity of the certificate it renews.
subj=$(openssl x509 -in "$T/renewalreq-issued.der.pem" -noout -subject \
    -nameopt RFC2253)
case $subj in
*CN=fixture-renewalreq-issued*) ;;
*) gw_fail "renewed subject '$subj' lacks CN=fixture-renewalreq-issued" ;;
esac
gw_assert_contains "$T/scepgw.log" 'renewal of serial=.* authenticated'
gw_stop
