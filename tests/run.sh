#!/bin/sh
# Runs every test binary and test script; prints one line per test and a summary.
# BUILD names the build directory (build or build-asan).
BUILD=${BUILD:-build}
export BUILD
export ADOPT_BIN="$PWD/$BUILD/adopt-tui"
export LLM_SERVER="$PWD/$BUILD/tests/llm-server"
pass=0 fail=0 failed=""
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if out=$("$t" 2>&1); then
		pass=$((pass + 1)); printf '  ok     %s\n' "$name"
	else
		fail=$((fail + 1)); failed="$failed $name"; printf '  FAIL   %s\n%s\n' "$name" "$out" | tail -40
	fi
done
for t in tests/cli/*.sh tests/screen/*.sh; do
	[ -f "$t" ] || continue
	name=$t
	if out=$(sh "$t" 2>&1); then
		pass=$((pass + 1)); printf '  ok     %s\n' "$name"
	else
		fail=$((fail + 1)); failed="$failed $name"; printf '  FAIL   %s\n%s\n' "$name" "$out" | tail -40
	fi
done
echo "$BUILD: $pass passed, $fail failed"
[ $fail -eq 0 ] || { echo "failed:$failed"; exit 1; }
