#!/bin/sh
# Runs every unit test binary, and every fuzz target over its corpus, under valgrind's memcheck
# (make valgrind): an invalid read or write, a use of uninitialised memory or a definite or
# indirect leak fails the test.  tests/valgrind.supp holds the few suppressions needed (PCRE2's
# JIT code).  BUILD names the build directory; it must be a build without sanitizers.  Each
# test's valgrind report is kept in $BUILD/valgrind/NAME.log.
BUILD=${BUILD:-build}
VALGRIND=${VALGRIND:-valgrind}
export ADOPT_BIN="$PWD/$BUILD/adopt-tui"
export LLM_SERVER="$PWD/$BUILD/tests/llm-server"
mkdir -p "$BUILD/valgrind"
pass=0 fail=0 failed=""

# vg NAME COMMAND...
vg() {
	name=$1
	shift
	log="$BUILD/valgrind/$name.log"
	t0=$(date +%s)
	"$VALGRIND" --quiet --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	    --suppressions=tests/valgrind.supp --log-file="$log" "$@" >"$log.out" 2>&1 </dev/null
	rc=$?
	dt=$(($(date +%s) - t0))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf '  ok     %-34s %3ds\n' "$name" "$dt"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		printf '  FAIL   %-34s %3ds (exit %d)\n' "$name" "$dt" "$rc"
		tail -40 "$log"
		[ $rc -eq 99 ] || tail -20 "$log.out"
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	vg "$(basename "$t")" "$t"
done
for t in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	vg "$n" "$t" "fuzz/corpus/$n" $(ls -d "fuzz/regress/$n" 2>/dev/null)
done
echo "valgrind: $pass passed, $fail failed"
[ $fail -eq 0 ] || { echo "failed:$failed"; exit 1; }
