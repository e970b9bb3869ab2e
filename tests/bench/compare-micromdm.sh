#!/usr/bin/env bash
# scepgw + epki-sim against micromdm's scepserver (Debian package `scep`)
# on the same machine, interleaved, two passes each, and prints the ratios.
#
#   tests/bench/compare-micromdm.sh
#   BENCH_N=1000 BENCH_C=16 GW_BUILD=build-bench tests/bench/compare-micromdm.sh
#
# Each pass: scepgw-bench enroll against scepgw (N fresh keys, one-time
# challenges, concurrency C), then against a fresh scepserver (2048-bit CA,
# static challenge) at concurrency C and at 1, then `wrk -t2 -c32 -d10s`
# on GetCACaps and GetCACert of both, BENCH_WRK_ROUNDS (3) times, the two
# servers taking turns; the medians make the ratios (single runs swing
# with the VM: scepgw's GetCACaps went from 88k to 157k/s in six runs in a
# row on 2026-11-27, tests/bench/README.md round 10). scepserver answers
# without a fresh senderNonce, so its replies are checked with
# --lax-sender-nonce (every other check, duplicate serials included, still
# applies); its rate counts good replies only.
#
# Knobs: BENCH_N (1000), BENCH_C (16), BENCH_PASSES (2), BENCH_WRK_S (10),
# BENCH_WRK_ROUNDS (3), BENCH_MICROMDM_PORT (a free port), BENCH_KEY_DIR
# (keys are kept there per pass, so a second run skips key generation;
# default a scratch folder), BENCH_SIM_DURABLE=1 (epki-sim syncs its
# files, in $T; by default it runs with --no-fsync and its folder on
# /dev/shm: its files stand in for GlobalSign's database, not ours;
# scepgw's database is on disk with synchronous=FULL either way).
#
# Exits non-zero when a scepgw reply is wrong or a server does not start;
# timings and micromdm's wrong replies are only reported.
GW_SRC=${GW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GW_CASE=${GW_CASE:-bench-compare}
. "$GW_SRC/tests/lib/harness.sh"
. "$GW_SRC/tests/bench/lib.sh"

N=${BENCH_N:-1000}
C=${BENCH_C:-16}
PASSES=${BENCH_PASSES:-2}
WRK_S=${BENCH_WRK_S:-10}
WRK_ROUNDS=${BENCH_WRK_ROUNDS:-3}
MM_PORT=${BENCH_MICROMDM_PORT:-$(gw_free_port)}
MM_URL=http://127.0.0.1:$MM_PORT/scep
MM_CHALLENGE=bench-static-challenge

gw_need curl wrk scepserver
gw_tmpdir
KEYS=${BENCH_KEY_DIR:-$T/keys}
bench_start_sim
gw_init
gw_start

# wrk_rate URL: requests/s of wrk -t2 -c32 for WRK_S seconds.
wrk_rate() {
	wrk -t2 -c32 -d"${WRK_S}s" "$1" 2>&1 |
	    awk '/^Requests\/sec:/ { print $2 }'
}

# median X...: the middle value (the lower middle of an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR) print v[int((NR + 1) / 2)] }'
}

# mm_start PASS: a fresh scepserver depot (2048-bit CA) and server.
mm_start() {
	local d=$T/micromdm-$1 i
	mkdir -p "$d"
	(cd "$d" && scepserver ca -init -keySize 2048 -depot depot) \
	    >"$d/ca.log" 2>&1 || gw_fail "scepserver ca -init failed"
	gw_spawn "$d/server.log" sh -c "cd '$d' && exec scepserver \
	    -depot depot -port $MM_PORT -challenge $MM_CHALLENGE"
	MM_PID=$GW_LAST_PID
	for i in $(seq 100); do
		curl -fs "$MM_URL?operation=GetCACaps" >/dev/null && return 0
		sleep 0.1
	done
	gw_fail "scepserver did not answer on port $MM_PORT"
}

# field LOG KEY: a key=value of a scepgw-bench report.
field() { bench_field "$1" "$2"; }

# ratio A B: A/B with two decimals, "-" when B is zero or missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}

rows=()
for p in $(seq "$PASSES"); do
	mkdir -p "$KEYS/p$p"
	# scepgw: fresh one-time challenges, keys of this pass.
	bench_challenges "$T/ch-$p.txt" "$N"
	log=$T/gw-$p.log
	bench_run "$log" "$GW_PID" enroll --url "$GW_URL" \
	    --challenges "$T/ch-$p.txt" -n "$N" -c "$C" --key-dir "$KEYS/p$p"
	[ "$BENCH_GW_DIED" -eq 0 ] || gw_fail "scepgw died in pass $p"
	[ "$BENCH_RC" -eq 0 ] ||
	    gw_fail "pass $p: scepgw-bench exited $BENCH_RC: $(grep '^scepgw-bench: ' "$log" | head -n 5)"
	gw_rate=$(field "$log" rate_per_s) gw_p99=$(field "$log" p99)

	# micromdm: fresh depot, the same keys, a static challenge.
	mm_start "$p"
	awk -v n="$N" -v c="$MM_CHALLENGE" \
	    'BEGIN { for (i = 0; i < n; i++) print c }' >"$T/mm-ch.txt"
	mlog=$T/mm-$p.log
	"$GW_BUILD/scepgw-bench" enroll --url "$MM_URL" \
	    --challenges "$T/mm-ch.txt" -n "$N" -c "$C" \
	    --key-dir "$KEYS/p$p" --lax-sender-nonce >"$mlog" 2>&1 || true
	mm_rate=$(field "$mlog" rate_per_s) mm_p99=$(field "$mlog" p99)
	mm_dup=$(sed -n 's/.*dupserial=\([0-9]*\).*/\1/p' "$mlog")
	mm_bad=$(field "$mlog" failures)
	gw__kill "$MM_PID" || true # its status after SIGTERM
	mm_start "$p-c1"
	mlog1=$T/mm-$p-c1.log
	"$GW_BUILD/scepgw-bench" enroll --url "$MM_URL" \
	    --challenges "$T/mm-ch.txt" -n "$N" -c 1 \
	    --key-dir "$KEYS/p$p" --lax-sender-nonce >"$mlog1" 2>&1 || true
	mm1_rate=$(field "$mlog1" rate_per_s) mm1_bad=$(field "$mlog1" failures)
	# GET: both servers up and idle, taking turns, so a drift of the
	# VM's speed reaches both alike.
	gcaps=() gcert=() mcaps=() mcert=()
	for r in $(seq "$WRK_ROUNDS"); do
		gcaps+=("$(wrk_rate "$GW_URL?operation=GetCACaps")")
		mcaps+=("$(wrk_rate "$MM_URL?operation=GetCACaps")")
		gcert+=("$(wrk_rate "$GW_URL?operation=GetCACert")")
		mcert+=("$(wrk_rate "$MM_URL?operation=GetCACert")")
	done
	gw__kill "$MM_PID" || true # its status after SIGTERM
	gw_caps=$(median "${gcaps[@]}") mm_caps=$(median "${mcaps[@]}")
	gw_cert=$(median "${gcert[@]}") mm_cert=$(median "${mcert[@]}")

	printf '== pass %s ==\nscepgw:   enroll c=%s %s/s p99 %s ms; GetCACaps %s/s; GetCACert %s/s\n' \
	    "$p" "$C" "$gw_rate" "$gw_p99" "$gw_caps" "$gw_cert"
	printf 'micromdm: enroll c=%s %s/s p99 %s ms (%s wrong, %s duplicate serials); c=1 %s/s (%s wrong); GetCACaps %s/s; GetCACert %s/s\n' \
	    "$C" "$mm_rate" "$mm_p99" "$mm_bad" "$mm_dup" "$mm1_rate" \
	    "$mm1_bad" "$mm_caps" "$mm_cert"
	printf 'GET rounds (requests/s, medians above): scepgw GetCACaps %s, GetCACert %s; micromdm GetCACaps %s, GetCACert %s\n' \
	    "${gcaps[*]}" "${gcert[*]}" "${mcaps[*]}" "${mcert[*]}"
	rows+=("$(printf '%4s %10s %10s %10s %10s %10s' "$p" \
	    "$(ratio "$gw_rate" "$mm_rate")" "$(ratio "$gw_rate" "$mm1_rate")" \
	    "$(ratio "$gw_caps" "$mm_caps")" "$(ratio "$gw_cert" "$mm_cert")" \
	    "$N")")
done
printf '\n%s; scepgw ratios to micromdm scepserver (higher is better)\n' \
    "$BENCH_SIM_MODE"
printf '%4s %10s %10s %10s %10s %10s\n' pass "enroll" "enroll/c1" \
    GetCACaps GetCACert n
printf '%s\n' "${rows[@]}"
gw_stop
