#!/usr/bin/env bash
# Install what is missing, build, and run every test (unit, integration,
# interop, fuzz-corpus) twice: a release build with -Werror, then a Debug
# build under ASan + UBSan. Between the two, the unit tests of the release
# build run again under Valgrind memcheck (any leak or memory error fails).
# After the release build, clang-tidy's analyzer checks run over the
# sources (any finding fails). Last, a ThreadSanitizer build runs the
# integration tests (a race report in a daemon's log fails the case). The
# cases labelled long (a line "# ctest-labels: long": the cluster chaos
# cases, minutes of lease waits each) run in the release pass only, unless
# --long (or GW_TEST_LONG=1) runs them in the sanitizer passes too; every
# case thus runs at least once. CI runs exactly this (.ci/run).
#
#   deploy/test.sh                 every pass, clang-tidy and memcheck
#   deploy/test.sh --long          the same, long cases in every pass
#   deploy/test.sh --quick         the release pass and clang-tidy only
#   deploy/test.sh --install-only  install deploy/packages.txt and stop
#
# Ends with one line "N passed, N failed, N skipped" over every pass and
# exits non-zero when a build or a test failed.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$ROOT"

usage() {
	sed -n '2,20s/^# \{0,1\}//p' "$0"
}

# Install the packages of deploy/packages.txt that dpkg does not have.
# As root it runs apt-get; otherwise it prints the command to run.
install_packages() {
	local list=$ROOT/deploy/packages.txt p missing=()
	while read -r p; do
		p=${p%%#*}
		p=${p//[[:space:]]/}
		[ -n "$p" ] || continue
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null |
		    grep -qx installed || missing+=("$p")
	done <"$list"
	if [ "${#missing[@]}" -eq 0 ]; then
		echo "deploy: every package of deploy/packages.txt is installed"
		return 0
	fi
	echo "deploy: missing packages: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "deploy: not root; run this, then start again:" >&2
		echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive" \
		    "apt-get install -y --no-install-recommends ${missing[*]}" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

quick=0
install_only=0
long=${GW_TEST_LONG:-0}
for arg in "$@"; do
	case $arg in
	--quick) quick=1 ;;
	--long) long=1 ;;
	--install-only) install_only=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "deploy/test.sh: unknown option $arg" >&2; usage >&2; exit 2 ;;
	esac
done

install_packages
[ "$install_only" -eq 0 ] || exit 0

JOBS=$(nproc 2>/dev/null || echo 2)
PASSED=0
FAILED=0
SKIPPED=0
SKIPPED_NAMES=()
FAILED_NAMES=()

# Count the results of one ctest run from its JUnit file.
count_junit() {
	local pass=$1 junit=$2 line name status
	[ -f "$junit" ] || return 0
	while read -r line; do
		name=$(sed -n 's/.* name="\([^"]*\)".*/\1/p' <<<"$line")
		status=$(sed -n 's/.* status="\([^"]*\)".*/\1/p' <<<"$line")
		case $status in
		run) PASSED=$((PASSED + 1)) ;;
		fail) FAILED=$((FAILED + 1)); FAILED_NAMES+=("$pass: $name") ;;
		*) SKIPPED=$((SKIPPED + 1)); SKIPPED_NAMES+=("$pass: $name") ;;
		esac
	done < <(grep -o '<testcase [^>]*>' "$junit")
}

# run_pass [-L LABEL] [-LE LABEL] NAME BUILD_DIR cmake-arguments...:
# configure, build and run the whole ctest suite in BUILD_DIR, or with -L
# only the tests labelled LABEL, with -LE without those labelled LABEL. A
# failed configure or build counts as one failure.
run_pass() {
	local label=() pass dir t0=$SECONDS
	while [ "$1" = -L ] || [ "$1" = -LE ]; do
		label+=("$1" "^$2\$")
		shift 2
	done
	pass=$1
	dir=$2
	shift 2
	echo "=== $pass: configure $dir"
	rm -f "$dir/junit.xml"
	if ! cmake -S "$ROOT" -B "$dir" -DGW_WERROR=ON "$@" ||
	    ! { echo "=== $pass: build (-j$JOBS)" &&
		cmake --build "$dir" -j "$JOBS"; }; then
		echo "=== $pass: BUILD FAILED"
		FAILED=$((FAILED + 1))
		FAILED_NAMES+=("$pass: build")
		return 0
	fi
	echo "=== $pass: ctest"
	ctest --test-dir "$dir" --output-on-failure --no-tests=error \
	    -j "$JOBS" --output-junit junit.xml "${label[@]}" || true
	count_junit "$pass" "$dir/junit.xml"
	if [ ! -f "$dir/junit.xml" ]; then
		FAILED=$((FAILED + 1))
		FAILED_NAMES+=("$pass: ctest ran no test")
	fi
	echo "=== $pass: done in $((SECONDS - t0))s"
}

# memcheck_pass BUILD_DIR: runs every unit test of BUILD_DIR under Valgrind
# memcheck, JOBS at a time; a definite or indirect leak or any memory error
# fails the test. Logs go to BUILD_DIR/memcheck/NAME.log.
memcheck_pass() {
	local dir=$1 t0=$SECONDS name rc
	echo "=== memcheck: unit tests of $dir under valgrind"
	if ! command -v valgrind >/dev/null; then
		SKIPPED=$((SKIPPED + 1))
		SKIPPED_NAMES+=("memcheck: valgrind is not installed")
		return 0
	fi
	if [ ! -f "$dir/CTestTestfile.cmake" ]; then
		return 0 # the build failed; already counted
	fi
	rm -rf "$dir/memcheck"
	mkdir -p "$dir/memcheck"
	# One line per test: name, working folder, command.
	ctest --test-dir "$dir" -L '^unit$' --show-only=json-v1 |
	    python3 -c '
import json, shlex, sys
for t in json.load(sys.stdin)["tests"]:
    wd = [p["value"] for p in t.get("properties", [])
          if p["name"] == "WORKING_DIRECTORY"]
    print(t["name"].split("/")[-1], shlex.quote(wd[0] if wd else "."),
          " ".join(shlex.quote(c) for c in t["command"]))
' >"$dir/memcheck/tests.txt" || {
		FAILED=$((FAILED + 1))
		FAILED_NAMES+=("memcheck: cannot list the unit tests")
		return 0
	}
	# shellcheck disable=SC2016
	xargs -P "$JOBS" -L 1 bash -c '
		log=$0/memcheck/$1.log
		cd "$2" || exit 1
		shift 2
		if valgrind -q --leak-check=full \
		    --show-leak-kinds=definite,indirect \
		    --errors-for-leak-kinds=definite,indirect \
		    --error-exitcode=99 "$@" >"$log" 2>&1; then
			echo pass >"$log.rc"
		else
			echo fail >"$log.rc"
		fi' "$dir" <"$dir/memcheck/tests.txt" || true
	while read -r name _; do
		rc=$(cat "$dir/memcheck/$name.log.rc" 2>/dev/null || echo fail)
		if [ "$rc" = pass ]; then
			PASSED=$((PASSED + 1))
		else
			echo "--- memcheck: $name failed:"
			tail -n 40 "$dir/memcheck/$name.log"
			FAILED=$((FAILED + 1))
			FAILED_NAMES+=("memcheck: $name")
		fi
	done <"$dir/memcheck/tests.txt"
	echo "=== memcheck: done in $((SECONDS - t0))s"
}

# The clang static analyzer through clang-tidy: every clang-analyzer-*
# check but two that only report noise here (bounds-checked buffer calls
# and struct padding).
TIDY_CHECKS='-*,clang-analyzer-*'
TIDY_CHECKS+=',-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling'
TIDY_CHECKS+=',-clang-analyzer-optin.performance.Padding'

# tidy_pass BUILD_DIR: runs clang-tidy with TIDY_CHECKS over every .c of
# common/ scep/ epki/ db/ server/, one file per process (clang-tidy 14
# reports false "uninitialized va_list" findings when one process analyses
# several files), JOBS processes at a time, with the compile_commands.json
# of BUILD_DIR. Any finding fails the pass (counted once); the log is
# BUILD_DIR/clang-tidy.log.
tidy_pass() {
	local dir=$1 t0=$SECONDS log=$1/clang-tidy.log n
	echo "=== clang-tidy: analyzer checks"
	if ! command -v clang-tidy >/dev/null; then
		SKIPPED=$((SKIPPED + 1))
		SKIPPED_NAMES+=("clang-tidy: clang-tidy is not installed")
		return 0
	fi
	if [ ! -f "$dir/compile_commands.json" ]; then
		return 0 # the configure failed; already counted
	fi
	if find common scep epki db server -name '*.c' -print0 | sort -z |
	    xargs -0 -P "$JOBS" -n 1 clang-tidy -p "$dir" --quiet \
		--checks="$TIDY_CHECKS" --warnings-as-errors='*' >"$log" 2>&1; then
		PASSED=$((PASSED + 1))
	else
		n=$(grep -c ': \(warning\|error\):' "$log" || true)
		echo "--- clang-tidy: $n finding(s):"
		grep -A 3 ': \(warning\|error\):' "$log" | head -n 80 || true
		FAILED=$((FAILED + 1))
		FAILED_NAMES+=("clang-tidy: $n finding(s), see $log")
	fi
	echo "=== clang-tidy: done in $((SECONDS - t0))s"
}

run_pass release "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
tidy_pass "$ROOT/build"

if [ "$quick" -eq 0 ]; then
	memcheck_pass "$ROOT/build"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	# The long cases ran in the release pass; here only with --long.
	short=()
	[ "$long" -eq 1 ] || short=(-LE long)
	run_pass "${short[@]}" sanitize "$ROOT/build-asan" -DCMAKE_BUILD_TYPE=Debug \
	    -DGW_SANITIZE='address;undefined'
	# Data races, lock-order inversions: the integration cases are the
	# ones that run scepgw and epki-sim with many threads at once. A
	# report stops the process (exit 66) and tests/lib/harness.sh fails
	# the case on the report in its log. About 3 minutes on 2 cores.
	export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:exitcode=66
	run_pass -L integration "${short[@]}" tsan "$ROOT/build-tsan" \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGW_SANITIZE=thread
fi

echo
for n in "${SKIPPED_NAMES[@]}"; do echo "skipped: $n"; done
for n in "${FAILED_NAMES[@]}"; do echo "failed: $n"; done
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
