#!/bin/sh
# bench/scale.sh: issue 12's "Done when" in one run: the six scale figures of a BASELINE build
# and of this tree, side by side, each against its target (bench/README.md, section 12).
#
#   sh bench/scale.sh [REV]      (from the top of the tree; REV default b7e0d72)
#   SCALE_QUICK=1                one seed, one cap, 30 memo iterations (about 5 minutes)
#   SCALE_BASE_DIR=DIR           where the baseline is built (kept, so a rerun skips the build)
#
# The baseline is REV's tree exported with `git archive` into SCALE_BASE_DIR and built there
# (`make -j2 build/libadopt.a`); this tree is never touched.  Each figure comes from a program
# compiled against each build's own libadopt.a and headers: this tree's bench/NAME.c where it
# compiles against that build, else that build's own bench/NAME.c, else the figure is n/a.
#
#   requests per iteration  bench/scale_probe.c: m = 12, 300 validation examples, the test
#                           server, the build's default optimizer options; median over seeds
#   the cap's worst overrun scale_probe with cost_cap_usd at fractions of the seed's uncapped
#                           spend: (spent - cap) / cap, and / the mean cost of one evaluation
#   wall / no-barrier bound bench/engine_iter.c at 500 ms (concurrency 32, a 4-step chain),
#                           against engine_iter's bound without barriers (see nobarrier below)
#   longest loop stall      scale_probe's longest turn of the workbench's loop (llm_wait's CPU,
#                           app_pump with its autosaves and app_draw), 100,000 training
#                           examples inline (what makes a save slow)
#   memory after 100 iter.  bench/memo.c --iterations 100: peak RSS, growth per iteration
#   reopen                  bench/cache_open.c: opening 100,000 answers (97 MB), wall and peak
set -u
REV=${1:-b7e0d72}
QUICK=${SCALE_QUICK:-}
if [ -n "$QUICK" ]; then
	SEEDS="1" CAPS="0.9" ITER=30 TRAIN=20000
else
	SEEDS="1 2 3 4 5" CAPS="0.8 0.9 0.95" ITER=100 TRAIN=100000
fi
[ -f bench/scale_probe.c ] && [ -f Makefile ] || { echo "scale: run from the top of the tree"; exit 2; }
HERE=$(pwd)
SHORT=$(git rev-parse --short "$REV^{commit}" 2>/dev/null) || { echo "scale: no revision $REV"; exit 2; }
BASE=${SCALE_BASE_DIR:-${TMPDIR:-/tmp}/adopt-scale-base-$SHORT}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/adopt-scale-XXXXXX") || exit 1
trap 'rm -rf "$OUT"' EXIT
trap 'exit 130' INT TERM
LIBS=$(pkg-config --cflags --libs ncursesw libcurl libcjson libpcre2-8 libcrypto) || {
	echo "scale: pkg-config cannot find the libraries; run 'make deps'"; exit 1; }
CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes
        -Wno-format-nonliteral -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE"

echo "scale: baseline $REV ($SHORT) in $BASE, current $(git rev-parse --short HEAD)$(
	git diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes')"
if [ ! -f "$BASE/build/libadopt.a" ] || [ "$(cat "$BASE/.scale-rev" 2>/dev/null)" != "$SHORT" ]; then
	# only a directory this script made (its stamp) or an empty one is emptied
	if [ -d "$BASE" ] && [ ! -f "$BASE/.scale-rev" ] && [ -n "$(ls -A "$BASE")" ]; then
		echo "scale: $BASE is not empty and not a baseline this script built; give another" \
			"SCALE_BASE_DIR"; exit 2
	fi
	rm -rf "$BASE" && mkdir -p "$BASE" && git archive "$SHORT" | tar -x -C "$BASE" || exit 1
	(cd "$BASE" && make -j2 --no-print-directory build/libadopt.a >"$OUT/base-build.log" 2>&1) || {
		tail -20 "$OUT/base-build.log"; echo "scale: the baseline does not build"; exit 1; }
	echo "$SHORT" >"$BASE/.scale-rev" # what this directory holds, checked by the next run
fi
make -j2 --no-print-directory build/libadopt.a build/tests/llm-server >"$OUT/build.log" 2>&1 || {
	tail -20 "$OUT/build.log"; echo "scale: this tree does not build"; exit 1; }
export LLM_SERVER="$HERE/build/tests/llm-server" # one test server for both: it only answers

# compile SIDE TREE NAME: $OUT/SIDE/NAME from this tree's bench/NAME.c, else TREE's own
compile() {
	mkdir -p "$OUT/$1"
	for src in "bench/$3.c" "$2/bench/$3.c"; do
		[ -f "$src" ] || continue
		# shellcheck disable=SC2086
		cc $CFLAGS -I"$2/src" -Ibench -o "$OUT/$1/$3" "$src" bench/bench.c \
			"$2/build/libadopt.a" $LIBS -lm 2>>"$OUT/$1/$3.cc.log" && return 0
	done
	return 1
}

field() { # field NAME LINE: the value of NAME=value in LINE
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The wall time over the bound without barriers, as bench/engine_iter defines it (its part 2,
# bench/README.md section 3a): A + B latency waves, where
#   A = max(m + 5, ceil(forward requests / 32), ceil(role requests / 32)): the longest chain is
#       the forward pass (m steps of one example in a row), then E3, E4, E5, E6 and the
#       candidates; E1 and E2 run beside them;
#   B = the sum over the search's rounds (the evaluations launched together, delimited by a
#       burst of finished evaluations) of max(chain, ceil(requests / 32)), chain m for
#       selection's first round, else min(m, ceil(requests / (16 x evaluations in the round))).
# An engine_iter that prints its part 2 gives the figure itself (m = 4, overlap on: "wall
# bound" from that row); an older one prints its phase table and selection's rounds (one
# evaluation a round after the first), from which the same bound is computed here.
nobarrier() { # ENGINE_ITER_OUTPUT -> "WALL BOUND SOURCE"
	awk -v m=4 -v conc=32 -v nval=16 -v lat=0.5 '
	function waves(n, chain) { if (n <= 0) return 0; w = int((n + conc - 1) / conc);
		return w > chain ? w : chain }
	function round_chain(k, first) { if (first) return m; c = int((k + nval - 1) / nval);
		return c < m ? c : m }
	/part 2/ { part2 = 1 }
	part2 && $1 == 4 && $2 == "on" { print $3, $10, "part2"; found = 1; exit }
	part2 { next }
	/iteration: wall/ { for (i = 1; i <= NF; i++) if ($i == "wall") wall = $(i + 1) }
	/^    rounds \(requests, s\):/ && last != "" { nr[last] = 0
		for (i = 4; i <= NF; i++) { split($i, a, "/"); rq[last, ++nr[last]] = a[1] } next }
	NF >= 6 && $(NF) ~ /x$|^-$/ && $(NF - 3) ~ /^[0-9]+$/ {
		name = $1; for (i = 2; i <= NF - 5; i++) name = name " " $i
		req[name] = $(NF - 3); last = name }
	END { if (found) exit
		if (wall == "") exit 1
		roles = req["analysis"] + req["loss+gradient"] + req["local gradients"] + \
			req["pseudo-labels"] + req["candidates"]
		A = waves(req["forward"], m + 5); r = waves(roles, 1); if (r > A) A = r
		B = 0
		for (p = 1; p <= 2; p++) {
			ph = p == 1 ? "selection" : "shapley"
			if (!(ph in req)) continue
			left = req[ph]
			for (j = 1; j <= nr[ph]; j++) {
				B += waves(rq[ph, j], round_chain(rq[ph, j], p == 1 && j == 1)); left -= rq[ph, j] }
			B += waves(left, round_chain(left, p == 1 && nr[ph] == 0))
		}
		print wall, (A + B) * lat, "table" }' "$1"
}

cannot() { # NAME: why its figure is n/a for this side (the compiler's first complaint)
	echo "   n/a: bench/$1.c compiles against neither build's interface:" \
		"$(grep -m1 'error' "$OUT/$side/$1.cc.log")"
}

measure() { # SIDE TREE: writes $OUT/SIDE.fig (NAME=value lines)
	side=$1 tree=$2 fig="$OUT/$1.fig"
	: >"$fig"
	echo "-- $side: $tree"
	if compile "$side" "$tree" scale_probe; then
		p="$OUT/$side/scale_probe"
		for s in $SEEDS; do
			line=$("$p" --seed "$s" 2>>"$OUT/$side/probe.err" | tail -1)
			echo "   seed $s: $line"
			field requests "$line" >>"$OUT/$side.req"
			field stall_ms "$line" >>"$OUT/$side.stall"
			[ "$s" = 1 ] && line1=$line
		done
		echo "requests=$(median <"$OUT/$side.req")" >>"$fig"
		echo "requests_range=$(sort -n "$OUT/$side.req" | sed -n '1p;$p' | paste -sd- -)" >>"$fig"
		spent=$(field spent "$line1") evals=$(field evals "$line1")
		eval_usd=$(awk -v u="$(field sel_usd "$line1")" -v n="$evals" \
			'BEGIN { if (n > 0) printf "%.6f", u / n; else print 0 }')
		worst_f=-1 worst_e=0
		for f in $CAPS; do
			cap=$(awk -v s="$spent" -v f="$f" 'BEGIN { printf "%.6f", s * f }')
			line=$("$p" --seed 1 --cap "$cap" 2>"$OUT/$side/cap.err" | tail -1)
			over=$(field spent "$line")
			echo "   cap $cap ($f of $spent): $line"
			grep -E '^(paused|engine_run): ' "$OUT/$side/cap.err" | tail -1 | sed 's/^/     /'
			if [ -z "$over" ]; then # refused at the start: the forward pass's projection
				echo "   (the cap refused the iteration at its start)"
				continue
			fi
			# shellcheck disable=SC2046
			set -- $(awk -v s="$over" -v c="$cap" -v e="$eval_usd" 'BEGIN {
				o = s - c; printf "%.4f %.2f\n", o / c, (e > 0) ? o / e : 0 }')
			if awk -v a="$1" -v b="$worst_f" 'BEGIN { exit !(a > b) }'; then
				worst_f=$1 worst_e=$2
			fi
		done
		if [ "$worst_f" != -1 ]; then # n/a when every cap refused the iteration at its start
			echo "cap_frac=$worst_f" >>"$fig"
			echo "cap_evals=$worst_e" >>"$fig"
		fi
		echo "eval_usd=$eval_usd" >>"$fig"
		line=$("$p" --seed 1 --train "$TRAIN" 2>>"$OUT/$side/probe.err" | tail -1)
		echo "   seed 1, $TRAIN training examples inline: $line"
		echo "stall=$(field stall_ms "$line")" >>"$fig"
		echo "stall_cpu=$(field stall_cpu_ms "$line")" >>"$fig"
		echo "stall_where=$(field stall_phase "$line"): app_pump $(field stall_pump_ms "$line") ms, app_draw $(field stall_draw_ms "$line") ms" >>"$fig"
		echo "stall_others=$(sort -n "$OUT/$side.stall" | tail -1)" >>"$fig"
	else
		cannot scale_probe
	fi
	if compile "$side" "$tree" engine_iter; then
		"$OUT/$side/engine_iter" --latency-ms 500 >"$OUT/$side/engine_iter.out" 2>&1
		# shellcheck disable=SC2046
		set -- $(nobarrier "$OUT/$side/engine_iter.out")
		if [ $# -eq 3 ]; then
			how="computed from its phase table and rounds, overlap off"
			[ "$3" = part2 ] && how="its part 2, m = 4, overlap on"
			echo "   engine_iter at 500 ms: wall $1 s, no-barrier bound $2 s ($how)"
			echo "wall=$(awk -v w="$1" -v b="$2" 'BEGIN { printf "%.2f", w / b }')" >>"$fig"
			echo "wall_detail=$1 s / $2 s" >>"$fig"
		else
			echo "   engine_iter did not finish:"; tail -3 "$OUT/$side/engine_iter.out"
		fi
	else
		cannot engine_iter
	fi
	if compile "$side" "$tree" memo; then
		/usr/bin/time -f 'maxrss_kb=%M' -o "$OUT/$side/memo.time" \
			"$OUT/$side/memo" --iterations "$ITER" >"$OUT/$side/memo.out" 2>&1
		rss=$(sed -n 's/^maxrss_kb=//p' "$OUT/$side/memo.time")
		growth=$(sed -n 's/.*: \(-*[0-9.]*\) MB per iteration/\1/p' "$OUT/$side/memo.out")
		echo "   memo, $ITER iterations: peak RSS $rss kB, growth $growth MB per iteration"
		[ -n "$rss" ] && echo "rss=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')" >>"$fig"
		[ -n "$growth" ] && echo "growth=$growth" >>"$fig"
	else
		cannot memo
	fi
	if compile "$side" "$tree" cache_open; then
		"$OUT/$side/cache_open" >"$OUT/$side/cache_open.out" 2>&1
		o=$(grep 'open: wall' "$OUT/$side/cache_open.out")
		echo "   cache_open:$o"
		echo "reopen=$(printf '%s' "$o" | sed -n 's/.*open: wall \([0-9.]*\) s.*/\1/p')" >>"$fig"
		echo "reopen_cpu=$(printf '%s' "$o" | sed -n 's/.*CPU \([0-9.]*\) s.*/\1/p')" >>"$fig"
		echo "reopen_mb=$(printf '%s' "$o" | sed -n 's/.*peak +\([0-9.]*\) MB.*/\1/p')" >>"$fig"
	else
		cannot cache_open
	fi
}

measure baseline "$BASE"
measure current "$HERE"

get() { v=$(sed -n "s/^$2=//p" "$OUT/$1.fig" | head -1); printf '%s' "${v:-n/a}"; }
# verdict VALUE TARGET: met when VALUE <= TARGET
verdict() {
	case $1 in n/a | "" | -1) echo "n/a" ;; *) awk -v v="$1" -v t="$2" \
		'BEGIN { print (v <= t) ? "met" : "not met" }' ;; esac
}
both() { printf '%s' "$(verdict "$(get baseline "$1")" "$2") / $(verdict "$(get current "$1")" "$2")"; }
overrun() { # +11.1% = 1.95 evals; none when the spend stayed under every cap
	f=$(get "$1" cap_frac)
	case $f in n/a | -1) echo "n/a" ;; *) awk -v f="$f" -v e="$(get "$1" cap_evals)" 'BEGIN {
		if (f > 0) printf "+%.1f%% = %.2f evals\n", f * 100, e
		else printf "none (spent <= %.0f%% of it)\n", (1 + f) * 100 }' ;; esac
}
reopen_verdict() { # both the time (CPU: the wall is mostly the machine's queue) and the memory
	t=$(verdict "$(get "$1" reopen_cpu)" 0.499) m=$(verdict "$(get "$1" reopen_mb)" 249.9)
	case "$t$m" in *n/a*) echo "n/a" ;; metmet) echo "met" ;; *) echo "not met" ;; esac
}
row() { printf '| %-38s | %-26s | %-26s | %-22s | %-17s |\n' "$1" "$2" "$3" "$4" "$5"; }

echo
echo "issue 12, side by side (baseline $SHORT, current $(git rev-parse --short HEAD)$([ -n "$QUICK" ] &&
	echo ', SCALE_QUICK: 1 seed, 1 cap, '"$ITER"' iterations'))"
row figure "baseline $SHORT" current target "met (base / cur)"
row "---" "---" "---" "---" "---"
row "requests per iteration (m 12, val 300)" \
	"$(get baseline requests) ($(get baseline requests_range))" \
	"$(get current requests) ($(get current requests_range))" "<= 6,000" "$(both requests 6000)"
row "cap's worst overrun (of cap; evals)" "$(overrun baseline)" "$(overrun current)" \
	"<= 1 evaluation" "$(both cap_evals 1)"
row "wall / no-barrier bound (c 32, 500 ms)" \
	"$(get baseline wall)x ($(get baseline wall_detail))" \
	"$(get current wall)x ($(get current wall_detail))" "<= 1.15x" "$(both wall 1.15)"
row "longest loop stall (ms; CPU ms)" \
	"$(get baseline stall); $(get baseline stall_cpu)" \
	"$(get current stall); $(get current stall_cpu)" "<= 50 ms" "$(both stall 50)"
row "memory after $ITER iterations (peak RSS)" \
	"$(get baseline rss) MB, $(get baseline growth) MB/it" \
	"$(get current rss) MB, $(get current growth) MB/it" "<= 0.5 MB/iteration" \
	"$(both growth 0.5)"
row "reopen: 100k answers (wall; CPU s; MB)" \
	"$(get baseline reopen); $(get baseline reopen_cpu); +$(get baseline reopen_mb)" \
	"$(get current reopen); $(get current reopen_cpu); +$(get current reopen_mb)" \
	"< 0.5 s CPU, < 250 MB" "$(reopen_verdict baseline) / $(reopen_verdict current)"
echo
for side in baseline current; do
	echo "$side: longest stall in $(get $side stall_where) (seed 1, $TRAIN examples inline);" \
		"the other runs' longest $(get $side stall_others) ms"
done
exit 0
