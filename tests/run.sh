#!/bin/sh
# Runs every test binary and test script; prints one line per test (with its time) and a
# summary.  BUILD names the build directory (build or build-asan).  Each test runs under a time
# limit (TEST_TIMEOUT seconds, default 600) with its output in a file, so a test that hangs, or
# dies leaving a child behind, fails with its output shown instead of stalling the run.
BUILD=${BUILD:-build}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
export BUILD
export ADOPT_BIN="$PWD/$BUILD/adopt-tui"
export LLM_SERVER="$PWD/$BUILD/tests/llm-server"
log=$(mktemp "${TMPDIR:-/tmp}/adopt-test-log.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT
pass=0 fail=0 failed=""

# run NAME COMMAND...: runs one test and reports it
run() {
	name=$1
	shift
	t0=$(date +%s)
	timeout -k 10 "$TEST_TIMEOUT" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	dt=$(($(date +%s) - t0))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf '  ok     %-34s %3ds\n' "$name" "$dt"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		[ $rc -eq 124 ] && echo "(stopped: still running after ${TEST_TIMEOUT}s)" >>"$log"
		printf '  FAIL   %-34s %3ds (exit %d)\n' "$name" "$dt" "$rc"
		# cmocka's verdicts first: a sanitizer's report after them can be longer than the tail
		grep -E '^\[ +(ERROR|FAILED|LINE) +\]' "$log" | head -20
		tail -40 "$log"
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
done
# fuzz targets (fuzz/): each replays its seed corpus and every past crash input
for t in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	run "fuzz/$n" "$t" "fuzz/corpus/$n" $(ls -d "fuzz/regress/$n" 2>/dev/null)
done
for t in tests/cli/*.sh tests/screen/*.sh; do
	[ -f "$t" ] || continue
	run "$t" sh "$t"
done
echo "$BUILD: $pass passed, $fail failed"
[ $fail -eq 0 ] || { echo "failed:$failed"; exit 1; }
