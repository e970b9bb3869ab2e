# shellcheck shell=bash
# Shared by the certmonger interop cases (sourced after harness.sh):
# cm_start runs a certmonger daemon in the foreground on a private socket
# (-L -P) with its state in $T/cm, so it needs no D-Bus and leaves the
# system alone (getcert finds it through CERTMONGER_PVT_ADDRESS), and
# registers the running gateway ($GW_URL) as CA $CA_NAME. ctest runs these
# cases one at a time (RESOURCE_LOCK certmonger).

# getcert_run NAME args...: getcert with a time limit, output in
# $T/getcert-NAME.log; returns getcert's status.
getcert_run() {
	local name=$1 rc=0 t0=$SECONDS
	shift
	gw_run "$T/getcert-$name.log" 180 getcert "$@" || rc=$?
	gw_log "getcert $1 ($name) exited $rc after $((SECONDS - t0))s"
	return "$rc"
}

# status_of ID: the request's status as `getcert list` shows it.
status_of() {
	getcert list -i "$1" 2>/dev/null |
	    sed -n 's/^[[:space:]]*status: //p' | head -n 1
}

# True once the daemon has fetched the CA's caps and certificates.
ca_known() {
	local f
	for f in "$cm"/cas/*; do
		grep -qx "id=$CA_NAME" "$f" 2>/dev/null &&
		    grep -q '^ca_encryption_cert=' "$f" && return 0
	done
	return 1
}

# Starts the daemon and adds the gateway as CA $CA_NAME; sets cm, cm_pid.
cm_start() {
	local i
	cm=$T/cm
	mkdir -p "$cm/requests" "$cm/cas" "$cm/local" "$cm/tmp"
	export CERTMONGER_CONFIG_DIR=$cm CERTMONGER_REQUESTS_DIR=$cm/requests \
	    CERTMONGER_CAS_DIR=$cm/cas CERTMONGER_LOCAL_CA_DIR=$cm/local \
	    CERTMONGER_TMPDIR=$cm/tmp
	export CERTMONGER_PVT_ADDRESS=unix:path=$cm/sock
	gw_spawn "$T/certmonger.log" certmonger -n -L -P "$cm/sock" -d 3
	cm_pid=$GW_LAST_PID
	for ((i = 0; i < 100; i++)); do
		[ -S "$cm/sock" ] && break
		kill -0 "$cm_pid" 2>/dev/null || gw_fail "certmonger exited at start"
		sleep 0.1
	done
	[ -S "$cm/sock" ] || gw_fail "certmonger opened no socket at $cm/sock"
	# GW_CERTMONGER_CA_ARGS is empty against scepgw: certmonger must
	# discover the RA and CA certificates itself. A stand-in server whose
	# GetCACert returns its CA alone needs "-N ca.pem" here (see
	# tests/interop/README.md).
	# shellcheck disable=SC2086
	getcert_run add-ca add-scep-ca -c "$CA_NAME" -u "$GW_URL" \
	    ${GW_CERTMONGER_CA_ARGS:-} ||
	    gw_fail "getcert add-scep-ca failed"
	# The daemon fetches caps and certificates in the background.
	for ((i = 0; i < 300; i++)); do
		ca_known && break
		sleep 0.1
	done
	getcert list-cas -c "$CA_NAME" >"$T/getcert-list-cas.log" 2>&1 || true
	gw_assert_contains "$T/getcert-list-cas.log" \
	    'SCEP CA certificate thumbprint' \
	    "certmonger's view of the CA after add-scep-ca"
}
