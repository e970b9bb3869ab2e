#!/usr/bin/env bash
# The NDES page's logins are checked (scrypt, 32 MiB) on login threads of
# their own, never on the HTTP workers ([ndes] login_threads, with at most
# [ndes] max_waiting_logins waiting; more get 503): GetCACaps is answered
# while logins queue, and concurrent logins all get their own challenge.
# HEAD issues no challenge. SIGTERM with logins queued exits 0. With
# [ndes] enabled = no the page's paths are 404.
. "$GW_SRC/tests/integration/lib.sh"
gw_need python3 ss
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set server threads 1
gw_conf_set ndes login_threads 1
gw_conf_set enroll max_failures_per_minute 0
PW='mdm password'
printf '%s\n' "$PW" | "$GW_BUILD/scepgw" user add mdm -c "$GW_CONF" \
    >"$T/user.out" 2>&1 || gw_fail "user add: $(cat "$T/user.out")"
gw_start
BASE=http://127.0.0.1:$GW_PORT

# unused: the number of unused challenges.
unused() {
	"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" | awk '$2 == "unused"' |
	    wc -l
}
# logins N NAME: N logins at once, statuses in $T/NAME.codes, pages in
# $T/NAME-I.raw; returns when all have ended.
logins() {
	local i pids=()
	for ((i = 1; i <= $1; i++)); do
		curl -sS -m 60 -u "mdm:$PW" -o "$T/$2-$i.raw" -w '%{http_code}\n' \
		    "$BASE/certsrv/mscep_admin/" >"$T/$2-$i.code" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
	cat "$T/$2"-*.code >"$T/$2.codes"
}

# HEAD answers like GET (200 with the right login, 401 without) and
# leaves the number of outstanding challenges as it was.
before=$(unused)
code=$(curl -sS -I -u "mdm:$PW" -o "$T/head.hdr" -w '%{http_code}' \
    "$BASE/certsrv/mscep_admin/")
gw_assert_eq 200 "$code" "HEAD with the right login"
gw_assert_eq 401 "$(curl -sS -I -o /dev/null -w '%{http_code}' \
    "$BASE/certsrv/mscep_admin/")" "HEAD without a login"
gw_assert_eq "$before" "$(unused)" "unused challenges after HEAD"
gw_assert_contains "$T/scepgw.log" "ndes: user=mdm: HEAD, no challenge issued"

# 16 logins at once on one HTTP thread and one login thread: GetCACaps,
# asked meanwhile, is answered before the 16 scrypt computations are done
# (on the HTTP thread it would come after them).
logins 16 many &
many=$!
sleep 0.3
curl -fsS -m 30 -o /dev/null "$GW_URL?operation=GetCACaps" ||
    gw_fail "GetCACaps failed while logins were checked"
answered=$(find "$T" -name 'many-*.code' -size +0 | wc -l)
wait "$many"
[ "$answered" -lt 16 ] ||
    gw_fail "GetCACaps was answered only after all 16 logins"
gw_assert_eq 16 "$(grep -c '^200$' "$T/many.codes")" "logins answered 200"
for f in "$T"/many-*.raw; do
	python3 -c 'import re, sys
t = open(sys.argv[1], "rb").read().decode("utf-16")
print(re.search(r"The enrollment challenge password is: <B> (\S+)", t).group(1))' "$f"
done >"$T/many.challenges" || gw_fail "a page without a challenge"
gw_assert_eq 16 "$(sort -u "$T/many.challenges" | wc -l)" "distinct challenges"
gw_assert_eq $((before + 16)) "$(unused)" "unused challenges after 16 logins"

# SIGTERM while logins are queued: they are answered, and serve exits 0.
# SIGTERM goes only once each of the six has connected: it is either
# connected now (the kernel's established connections to the listener) or
# already answered (its code written). A client that had not connected yet
# when serve exited would prove nothing about the drain. The answered ones
# are counted first, so a login that ends between the two counts is missed,
# never counted twice.
logins 6 drain &
drain=$!
for ((i = 0; i < 300; i++)); do
	answered=$(find "$T" -name 'drain-*.code' -size +0 | wc -l)
	up=$(ss -Htn state established "dport = :$GW_PORT" | wc -l)
	[ $((answered + up)) -ge 6 ] && break
	sleep 0.1
done
[ "$i" -lt 300 ] || gw_fail "the six logins did not connect within 30 s"
gw_stop
wait "$drain"
if grep -qv '^\(200\|503\)$' "$T/drain.codes"; then
	gw_fail "logins during the drain: $(tr '\n' ' ' <"$T/drain.codes")"
fi

# A full queue: one login thread, one waiting; the others get 503.
gw_conf_set ndes max_waiting_logins 1
gw_start
BASE=http://127.0.0.1:$GW_PORT
logins 8 full
grep -q '^503$' "$T/full.codes" ||
    gw_fail "no 503 with a full queue: $(tr '\n' ' ' <"$T/full.codes")"
grep -q '^200$' "$T/full.codes" || gw_fail "no login got through"
gw_assert_contains "$T/scepgw.log" "too many logins waiting"
gw_stop

# [ndes] enabled = no: the page is 404 on every one of its paths.
gw_conf_set ndes enabled no
gw_start
BASE=http://127.0.0.1:$GW_PORT
for p in /certsrv/mscep_admin /certsrv/mscep_admin/ \
    /certsrv/mscep_admin/default.aspx; do
	gw_assert_eq 404 "$(curl -sS -u "mdm:$PW" -o /dev/null \
	    -w '%{http_code}' "$BASE$p")" "GET $p with the page off"
done
gw_stop
