#!/bin/sh
# bench/run.sh: builds and runs every benchmark under bench/ (make bench).  Each prints its own
# numbers; a benchmark that cannot run says why and is skipped.  BENCH=name runs only that one.
set -u
BUILD=${BUILD:-build}
LIBS=$(pkg-config --cflags --libs ncursesw libcurl libcjson libpcre2-8 libcrypto) || {
	echo "bench: pkg-config cannot find the libraries; run 'make deps'"; exit 1; }
CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes
        -Wno-format-nonliteral -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -Ibench"
[ -f "$BUILD/libadopt.a" ] || make --no-print-directory "$BUILD/libadopt.a" || exit 1
mkdir -p "$BUILD/bench"
status=0
for name in session_load llm_sched engine_iter tui bo memo screening cache_open save shapley projection; do
	[ -n "${BENCH:-}" ] && [ "$BENCH" != "$name" ] && continue
	[ -f "bench/$name.c" ] || { echo "$name: skipped (bench/$name.c missing)"; continue; }
	bin="$BUILD/bench/$name"
	# shellcheck disable=SC2086
	if ! cc $CFLAGS -o "$bin" "bench/$name.c" bench/bench.c "$BUILD/libadopt.a" $LIBS -lm; then
		echo "$name: skipped (does not compile)"; status=1; continue
	fi
	case $name in
	session_load | tui | bo | memo | screening | cache_open | save | shapley) needs_server= ;;
	*) needs_server=1 ;;
	esac
	if [ -n "$needs_server" ] && [ ! -x "$BUILD/tests/llm-server" ]; then
		make --no-print-directory "$BUILD/tests/llm-server" >/dev/null 2>&1 || {
			echo "$name: skipped (the test LLM server does not build: needs cmocka and" \
			     "libmicrohttpd, 'make deps')"; continue; }
	fi
	echo "== $name  ($(date -u +%Y-%m-%dT%H:%MZ))"
	LLM_SERVER="$BUILD/tests/llm-server" "$bin" || { echo "$name: FAILED"; status=1; }
done
# issue 12's side-by-side table (bench/scale.sh builds a baseline revision beside this tree);
# in the run of every benchmark it runs quick (SCALE_QUICK=1) unless SCALE_QUICK is set
if [ -z "${BENCH:-}" ] || [ "$BENCH" = scale ]; then
	echo "== scale  ($(date -u +%Y-%m-%dT%H:%MZ))"
	[ -z "${BENCH:-}" ] && [ -z "${SCALE_QUICK+set}" ] && SCALE_QUICK=1 && export SCALE_QUICK
	sh bench/scale.sh ${SCALE_REV:+"$SCALE_REV"} || { echo "scale: FAILED"; status=1; }
fi
exit $status
