#!/usr/bin/env bash
# ctest-labels: long
# Intune answering slowly for many devices at once (README "Microsoft
# Intune"): 50 devices enroll while every validateRequest takes 2 s. The
# requests wait off the HTTP threads (a GetCACaps sent after them is
# answered while more of them wait than there are HTTP threads), the
# gateway keeps to a bounded set
# of threads, each device gets its certificate (no FAILURE from our own
# queue) and the ledger holds. Then SIGTERM while devices wait on Intune:
# each of them gets an answer before the gateway exits 0, and no order
# is left without its notification.
. "$GW_SRC/tests/integration/intune.bash"
N=50
MAX_THREADS=32
igw_setup
gw_conf_set log level debug
igw_start

for ((i = 1; i <= N; i++)); do
	igw_device "m$i" "dev-m$i"
done
isim_admin fault '{"hop":"validate","mode":"delay","ms":2000}' >/dev/null

# threads_peak FILE: samples the gateway's thread count into FILE until
# $T/stop-sampling exists.
threads_peak() {
	local n peak=0
	while [ ! -e "$T/stop-sampling" ]; do
		n=$(awk '/^Threads:/ { print $2 }' "/proc/$GW_PID/status" 2>/dev/null || echo 0)
		[ "${n:-0}" -le "$peak" ] || peak=$n
		echo "$peak" >"$1"
		sleep 0.05
	done
}
rm -f "$T/stop-sampling"
threads_peak "$T/threads" &
sampler=$!

pids=()
for ((i = 1; i <= N; i++)); do
	igw_enroll "m$i" SUCCESS &
	pids+=($!)
done
# Every request has reached the gateway and waits on Intune...
for ((i = 1; i <= N; i++)); do
	gw_wait_log "$T/scepgw.log" "txid=tx-m$i: PKCSReq" "$GW_PID" 60 >/dev/null ||
	    gw_fail "tx-m$i never reached the gateway"
done
# ... and the HTTP threads still answer.
curl -fsS -m 30 -o /dev/null "$GW_URL?operation=GetCACaps" || gw_fail "GetCACaps not answered while devices wait on Intune"
date +%s%3N >"$T/caps.done"
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
touch "$T/stop-sampling"
wait "$sampler" || true
[ "$failed" -eq 0 ] || gw_fail "$failed of $N devices did not enroll"
# Held HTTP threads ([server] threads = 4) would answer GetCACaps only
# once fewer than four devices were left waiting.
caps=$(cat "$T/caps.done")
later=$(cat "$T"/m*.done | awk -v c="$caps" '$1 > c' | wc -l)
gw_log "devices answered after GetCACaps: $later"
[ "$later" -gt 4 ] ||
    gw_fail "GetCACaps was answered only when $later devices still waited on Intune"
peak=$(cat "$T/threads")
gw_log "gateway threads peak=$peak"
[ "$peak" -gt 0 ] || gw_fail "never sampled the gateway's threads"
[ "$peak" -le "$MAX_THREADS" ] ||
    gw_fail "scepgw had $peak threads, more than $MAX_THREADS"
for ((i = 1; i <= N; i++)); do
	igw_order_ok "m$i"
done
igw_ledger "$N"

# SIGTERM while six devices wait on Intune: each is answered (SUCCESS, or
# FAILURE "try again later"; never a dropped connection), the gateway
# exits 0, and every order it made was notified.
isim_admin fault '{"mode":"clear"}' >/dev/null
isim_admin fault '{"hop":"validate","mode":"delay","ms":3000}' >/dev/null
pids=()
for i in 1 2 3 4 5 6; do
	igw_device "s$i" "dev-s$i"
	igw_enroll "s$i" SUCCESS &
	pids+=($!)
done
for i in 1 2 3 4 5 6; do
	gw_wait_log "$T/scepgw.log" "txid=tx-s$i: PKCSReq" "$GW_PID" 60 >/dev/null ||
	    gw_fail "tx-s$i never reached the gateway"
done
gw_stop
for i in 1 2 3 4 5 6; do
	wait "${pids[$((i - 1))]}" || true
	grep -q 'status=SUCCESS\|status=FAILURE' "$T/s$i.out" || {
		cat "$T/s$i.out" >&2
		gw_fail "s$i got no SCEP answer during the drain"
	}
done
isim_admin fault '{"mode":"clear"}' >/dev/null
n=$(grep -l 'status=SUCCESS' "$T"/s?.out | wc -l)
gw_log "drain: $n of 6 issued"
igw_ledger $((N + n))
igw_no_secrets
