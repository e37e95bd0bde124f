# Reopening shows exactly what was there: every pane dumped before the save and after the
# reopen, byte for byte (the message line aside: it says what was done last; the selection is
# put on the first step first, as a reopened workbench has it), twice over; the file written
# back without a change keeps its bytes.  hotpot-mini and chain5 (both joint:
# proposals with demonstrations), decisions kept.
. tests/screen/lib.inc
dump() {
	echo ":view graph"
	echo "key g"
	for v in graph traces gradients shapley proposals history; do
		echo ":view $v"
		echo ":save-display $1-$v.txt"
	done
	# d on an example of the batch jumps to its gradient
	echo ":view traces"; echo "key j"; echo "key d"; echo ":save-display $1-d.txt"
}
# check EXAMPLE ACCEPTED [REJECTED]
check() {
	example "$1"
	{ echo "key r"; echo "wait-idle"; echo ":accept $2"; [ -z "${3:-}" ] || echo ":reject $3"
	  dump before
	  echo "key w"; echo "key q"; } > "$TMP/run"
	screen 160x48 < "$TMP/run"
	cp "$SESSION" "$TMP/saved.json"
	for round in 1 2; do
		{ dump after$round; echo "key w"; echo "key q"; } > "$TMP/look"
		screen 160x48 < "$TMP/look"
		for v in graph traces gradients shapley proposals history d; do
			head -n -1 "$OUT/before-$v.txt" > "$TMP/a"
			head -n -1 "$OUT/after$round-$v.txt" > "$TMP/b"
			diff -u "$TMP/a" "$TMP/b" >&2 || fail "$1, reopen $round: the $v pane differs"
		done
		cmp -s "$TMP/saved.json" "$SESSION" || fail "$1, reopen $round: the file changed"
	done
	contains before-history "$2 accepted${3:+, $3 rejected}"
	contains before-shapley "method "
	! grep -q "no gradient yet" "$OUT/before-d.txt" || fail "$1: d found no gradient"
}
check hotpot-mini query answer
contains before-history "215 calls"
check chain5 classify
contains before-proposals "with 2 demonstrations:"
finish
