# Reopening shows exactly what was there: every pane dumped before the save and after the
# reopen, byte for byte (the message line aside: it says what was done last), twice over; the
# file written back without a change keeps its bytes.
. tests/screen/lib.inc
example hotpot-mini
dump() {
	for v in graph traces gradients shapley proposals history; do
		echo ":view $v"
		echo ":save-display $1-$v.txt"
	done
}
{ echo "key r"; echo "wait-idle"; echo ":accept query"; echo ":reject answer"; dump before
  echo "key w"; echo "key q"; } > "$TMP/run"
screen 160x48 < "$TMP/run"
cp "$SESSION" "$TMP/saved.json"
for round in 1 2; do
	{ dump after$round; echo "key w"; echo "key q"; } > "$TMP/look"
	screen 160x48 < "$TMP/look"
	for v in graph traces gradients shapley proposals history; do
		head -n -1 "$OUT/before-$v.txt" > "$TMP/a"
		head -n -1 "$OUT/after$round-$v.txt" > "$TMP/b"
		diff -u "$TMP/a" "$TMP/b" >&2 || fail "reopen $round: the $v pane differs"
	done
	cmp -s "$TMP/saved.json" "$SESSION" || fail "reopen $round: the session file changed"
done
contains before-history "query accepted, answer rejected"
contains before-shapley "method exact"
contains before-history "224 calls"
finish
