# :compare in the workbench after two iterations: the Compare screen shows both versions'
# scores, the paired bootstrap interval and the flipped examples, the same numbers as
# --compare prints; a bad version is refused with a message, which the next :compare replaces.  Both configurations were
# evaluated during the run, so neither the command line nor the screen sends a request.
. tests/screen/lib.inc
example hotpot-mini
"$ADOPT_BIN" --run 2 "$SESSION" >/dev/null 2>&1 || fail "--run 2"
"$ADOPT_BIN" --compare "$SESSION@iteration:0" "$SESSION@iteration:2" >"$TMP/cli.txt" 2>&1 ||
	fail "--compare"
screen 140x40 <<'SCRIPT'
:compare iteration:0 iteration:2
wait-idle
:save-display compare.txt
key q
:compare v1 latest
:save-display compare-bad.txt
:compare iteration:0 iteration:2
wait-idle
:save-display compare-again.txt
:q!
SCRIPT
contains compare "compare on split val, 12 examples, metric f1"
contains compare "compare A hotpot-mini@iteration:0 with B hotpot-mini@iteration:2"
contains compare "  B  hotpot-mini@iteration:2 "
[ "$(grep -c "(requests 0, cached 24)" "$TMP/cli.txt")" = 2 ] || fail "--compare sent requests"
[ "$(grep -c "(requests 0, cached 24)" "$OUT/compare.txt")" = 2 ] || { fail ":compare sent requests"; cat "$OUT/compare.txt" "$TMP/cli.txt" >&2; }
for pat in "B - A" "fixed [0-9]+  broken [0-9]+  unchanged [0-9]+" "fixed h[0-9]+: "; do
	want=$(grep -oE "$pat.{0,40}" "$TMP/cli.txt" | head -1)
	[ -n "$want" ] || fail "--compare printed no \"$pat\""
	grep -qF -- "$want" "$OUT/compare.txt" || fail "the screen lacks \"$want\""
done
# a step output that wraps goes on under its text, not back at the margin
grep -q "^┃                     B The Harrow Tractor is a well known product" "$OUT/compare.txt" ||
	fail "compare: no wrapped retrieve output"
grep -q "^┃                       Tractor, \.\.\.  *┃$" "$OUT/compare.txt" ||
	fail "compare: the wrapped output does not go on under its text"
contains compare-bad ":compare takes vN, iteration:K or current, not \"latest\""
# a :compare that starts replaces the earlier one's error
grep -q 'not "latest"' "$OUT/compare-again.txt" && fail "the old :compare error stayed on screen"
contains compare-again "comparing iteration:0 with iteration:2"
finish
