#!/usr/bin/env bash
# The man pages deploy/man/*.[1-8] (scepgw(8), scepgw.conf(5), epki-sim(1))
# are clean mdoc: `mandoc -T lint -W warning` prints nothing and exits 0
# for each, and each renders to text naming its own page.
# ctest-labels: long
. "$GW_SRC/tests/integration/lib.sh"
gw_need mandoc
gw_tmpdir

n=0
for page in "$GW_SRC"/deploy/man/*.[1-8]; do
	[ -e "$page" ] || continue
	n=$((n + 1))
	rc=0
	mandoc -T lint -W warning "$page" >"$T/lint" 2>&1 || rc=$?
	[ "$rc" = 0 ] && [ ! -s "$T/lint" ] ||
	    gw_fail "mandoc -T lint -W warning ${page##*/} (exit $rc): $(cat "$T/lint")"
	name=${page##*/}
	mandoc -T ascii "$page" >"$T/out" 2>&1 ||
	    gw_fail "mandoc -T ascii ${page##*/} failed"
	title=$(printf '%s' "${name%.*}" | tr '[:lower:]' '[:upper:]')
	gw_assert_contains "$T/out" "^${title//./\\.}\(${name##*.}\)" "$name's title"
done
[ "$n" -ge 3 ] || gw_fail "expected at least 3 man pages in deploy/man, found $n"
