# shellcheck shell=bash
# Helpers of the intune-*.sh cases (README "Microsoft Intune"): a gateway
# whose profile "mdm" has challenge = intune, with epki-sim and intune-sim
# (tests/lib/intune-sim.sh), devices whose CSR carries an intune-sim
# challenge, and the assertions every case makes: the order of events
# across the three processes, the ledger, no secret in the gateway's log.
#
#	igw_up [epki-sim options]     both sims and the gateway; IGW_URL
#	  (igw_setup, then igw_start: set more keys in between)
#	igw_device NAME CN [SANS-JSON] [SAN-LINES]   key, challenge, CSR
#	igw_enroll NAME STATUS [scepreq options]     enroll on /scep/mdm
#	igw_poll NAME                  one CertPoll; returns scepreq's status
#	igw_hops TXID                  the sim's hops for TXID, in order
#	igw_order_ok NAME TXID         validate < order < success < delivery
#	igw_ledger N                   N orders == N certificates == N notified
#	igw_no_secrets                 no secret, no challenge in the log
. "$GW_SRC/tests/integration/lib.sh"
. "$GW_SRC/tests/lib/intune-sim.sh"
IGW_INIT_ARGS=()

# igw_up [epki-sim options]: intune-sim, epki-sim, `scepgw init`, the
# [intune] section pointed at the sim, [profile mdm] challenge = intune,
# the gateway. IGW_URL is the profile's SCEP URL.
igw_up() {
	igw_setup "$@"
	igw_start
}

# igw_setup [epki-sim options]: igw_up up to the gateway's start;
# IGW_INIT_ARGS (an array) go to `scepgw init`.
igw_setup() {
	gw_need openssl curl jq
	gw_tmpdir
	isim_up
	gw_start_sim "$@"
	gw_init "${IGW_INIT_ARGS[@]}"
	(umask 077 && printf '%s\n' "$ISIM_SECRET" >"$T/intune.secret")
	gw_conf_set intune tenant "$ISIM_TENANT"
	gw_conf_set intune client_id "$ISIM_CLIENT"
	gw_conf_set intune client_secret_file "$T/intune.secret"
	gw_conf_set intune authority "$ISIM_URL/"
	gw_conf_set intune graph_url "$ISIM_URL/"
	gw_conf_set intune ca_file "$ISIM_DIR/ca.pem"
	gw_conf_set intune timeout_seconds "${IGW_TIMEOUT:-10}"
	gw_conf_set "profile mdm" challenge intune
	SIM_ORDERS0=$(sim_orders)
	: >"$T/challenges"
}

# igw_start: (again) the gateway; IGW_URL. The log of an earlier run is
# kept as scepgw-N.log (the assertions read every one).
igw_start() {
	local n=1
	if [ -s "$T/scepgw.log" ]; then
		while [ -e "$T/scepgw-$n.log" ]; do n=$((n + 1)); done
		cp "$T/scepgw.log" "$T/scepgw-$n.log"
	fi
	gw_start
	IGW_URL=${GW_URL%/scep}/scep/mdm
}

# igw_device NAME CN [SANS-JSON] [SAN-LINES]: key $T/NAME.key, a challenge
# from intune-sim for subject CN=CN (and the SANs of SANS-JSON, e.g.
# '[{"type":"rfc822Name","value":"a@b"}]'), and $T/NAME.csr (PEM) with
# that challenge and the SANs (openssl lines, e.g. "email.1 = a@b").
igw_device() {
	local name=$1 cn=$2 sans=${3:-[]} san=${4:-} ch
	ch=$(isim_challenge "{\"subject\":\"CN=$cn\",\"sans\":$sans}") ||
	    gw_fail "no challenge from intune-sim"
	[ "${#ch}" -gt 1000 ] || gw_fail "challenge of ${#ch} characters"
	printf '%s\n' "$ch" >>"$T/challenges"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$T/$name.key" 2>/dev/null || gw_fail "no key for $name"
	{
		printf '[req]\nprompt = no\ndistinguished_name = dn\n'
		printf 'attributes = attrs\n'
		[ -n "$san" ] && printf 'req_extensions = ext\n'
		printf '[dn]\nCN = %s\n' "$cn"
		printf '[attrs]\nchallengePassword = %s\n' "$ch"
		[ -n "$san" ] &&
		    printf '[ext]\nsubjectAltName = @alt\n[alt]\n%s\n' "$san"
	} >"$T/$name.cnf"
	openssl req -new -key "$T/$name.key" -config "$T/$name.cnf" \
	    -out "$T/$name.csr" 2>"$T/$name.err" ||
	    gw_fail "openssl req for $name: $(cat "$T/$name.err")"
}

# igw_enroll NAME STATUS [scepreq options]: enrolls NAME's CSR on the
# Intune profile with transactionID tx-NAME; notes when it returned
# ($T/NAME.done, milliseconds).
igw_enroll() {
	local name=$1 want=$2
	shift 2
	GW_URL=$IGW_URL enroll_expect "$name" "$want" --csr "$T/$name.csr" \
	    --txid "tx-$name" "$@"
	date +%s%3N >"$T/$name.done"
}

# igw_poll NAME: one CertPoll for tx-NAME; scepreq's status (0 SUCCESS,
# 2 FAILURE, 3 PENDING), the certificate in $T/NAME.pem.
igw_poll() {
	local rc=0
	"$GW_BUILD/scepreq" poll --url "$IGW_URL" --key "$T/$1.key" \
	    --csr "$T/$1.csr" --txid "tx-$1" --cert-out "$T/$1.pem" \
	    >"$T/$1.poll" 2>&1 || rc=$?
	date +%s%3N >"$T/$1.done"
	return "$rc"
}

# igw_wait_notified TXID: until intune-sim accepted a successNotification
# for TXID (30 s at most).
igw_wait_notified() {
	local i
	for ((i = 0; i < 60; i++)); do
		igw_log
		[ -n "$(igw_wall "$1" success Success)" ] && return 0
		sleep 0.5
	done
	gw_fail "$1: no successNotification accepted within 30 s"
}

# igw_poll_until NAME: CertPoll until SUCCESS (30 s at most).
igw_poll_until() {
	local i rc=3
	for ((i = 0; i < 60; i++)); do
		rc=0
		igw_poll "$1" || rc=$?
		[ "$rc" -eq 3 ] || break
		sleep 0.5
	done
	[ "$rc" -eq 0 ] || { cat "$T/$1.poll" >&2; gw_fail "$1: CertPoll ended $rc"; }
}

# The sim's log, once per call, in $T/isim-log.json.
igw_log() {
	isim_admin log >"$T/isim-log.json"
}

# igw_hops TXID: the ScepActions hops of TXID, in sequence order, one
# line ("validate success").
igw_hops() {
	igw_log
	jq -r --arg t "$1" '[.entries | sort_by(.seq)[] |
	    select(.body.transactionId == $t) | .hop] | join(" ")' \
	    "$T/isim-log.json"
}

# igw_wall TXID HOP [RESULT]: wall_ms of TXID's first HOP (with RESULT).
igw_wall() {
	jq -r --arg t "$1" --arg h "$2" --arg r "${3:-}" '[.entries[] |
	    select(.body.transactionId == $t and .hop == $h and
	    ($r == "" or .result == $r)) | .wall_ms] | first // empty' \
	    "$T/isim-log.json"
}

# Every run's gateway log, oldest first.
igw_all_logs() {
	local f
	for f in "$T"/scepgw-[0-9]*.log; do
		[ -f "$f" ] && cat "$f"
	done
	cat "$T/scepgw.log"
}

# A gateway log line's time in milliseconds: the first line matching RE.
igw_gw_ms() {
	local ts
	ts=$(gw_log_ts "$(igw_all_logs | grep -E -m1 -- "$1" || true)")
	[ -n "$ts" ] || gw_fail "no gateway log line matching $1"
	# 2026-12-06T17:20:43.123Z
	echo $(($(date -u -d "${ts%.*}" +%s) * 1000 + 10#$(echo "$ts" |
	    sed 's/.*\.\([0-9]*\)Z$/\1/')))
}

# igw_order_ok NAME: for tx-NAME, Intune's validate came before the
# gateway ordered, the certificate was issued before the success
# notification, and that before the device had it; the thumbprint,
# serial and issuer notified are the certificate's.
igw_order_ok() {
	local name=$1 tx=tx-$1 v s o i d thumb serial
	igw_log
	v=$(igw_wall "$tx" validate Success)
	s=$(igw_wall "$tx" success Success)
	[ -n "$v" ] || gw_fail "$tx: no successful validate at intune-sim"
	[ -n "$s" ] || gw_fail "$tx: no successful successNotification"
	o=$(igw_gw_ms "txid=$tx: ordering")
	i=$(igw_gw_ms "txid=$tx: issued serial=")
	d=$(cat "$T/$name.done")
	[ "$v" -le "$o" ] || gw_fail "$tx: ordered ($o) before Intune validated ($v)"
	[ "$i" -le "$s" ] || gw_fail "$tx: notified ($s) before the certificate was issued ($i)"
	[ "$s" -le "$d" ] || gw_fail "$tx: delivered ($d) before Intune was notified ($s)"
	thumb=$(openssl x509 -in "$T/$name.pem" -noout -fingerprint -sha1 |
	    sed 's/.*=//; s/://g')
	serial=$(openssl x509 -in "$T/$name.pem" -noout -serial | sed 's/.*=//')
	jq -e --arg t "$tx" --arg th "$thumb" --arg sn "$serial" '[.entries[] |
	    select(.body.transactionId == $t and .hop == "success")] | first |
	    (.body.certificateThumbprint | ascii_upcase) == $th and
	    ((.body.certificateSerialNumber | ascii_upcase | ltrimstr("0")) ==
	    ($sn | ltrimstr("0")))' "$T/isim-log.json" >/dev/null ||
	    gw_fail "$tx: the notification does not name the certificate delivered"
}

# igw_ledger N: epki-sim issued N orders, the sim saw N accepted success
# notifications, and no rule of intune-sim was broken.
igw_ledger() {
	local n
	gw_assert_eq "$1" "$(sim_orders)" "orders at epki-sim"
	igw_log
	n=$(jq '[.entries[] | select(.hop == "success" and .result == "Success")] |
	    length' "$T/isim-log.json")
	gw_assert_eq "$1" "$n" "accepted success notifications"
	n=$(isim_admin violations | jq '.violations | length')
	if [ "$n" != 0 ]; then
		isim_admin violations >&2
		gw_fail "intune-sim recorded $n violations"
	fi
}

# No client secret and no challenge (nor a 40-character piece of one; a
# shorter challenge, e.g. one of ours, whole) in the gateway's log.
igw_no_secrets() {
	local ch head tail
	igw_all_logs >"$T/all.txt"
	! grep -qF -- "$ISIM_SECRET" "$T/all.txt" ||
	    gw_fail "the client secret is in the gateway's log"
	while read -r ch; do
		[ -n "$ch" ] || continue
		head=${ch:0:40} tail=$ch
		# ${ch: -40} is empty for a shorter string, and matches all.
		[ "${#ch}" -le 40 ] || tail=${ch: -40}
		! grep -qF -e "$head" -e "$tail" "$T/all.txt" ||
		    gw_fail "a challenge is in the gateway's log"
	done <"$T/challenges"
}
