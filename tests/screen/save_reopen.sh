# Saves mid-iteration and reopens: the iteration stands where it stopped, with what it had and
# the spend it had (nothing is sent again, nothing is asked), and the next step goes on from it.
. tests/screen/lib.inc
example hotpot-mini
screen 120x40 <<'SCRIPT'
key s
wait-idle
key s
wait-idle
key w
:save-display reopen-saved.txt
key q
SCRIPT
grep -q '"record"' "$SESSION" || fail "no record of the unfinished iteration saved"
cp "$OUT/session.spend.jsonl" "$TMP/spend.before"
screen 120x40 <<'SCRIPT'
:save-display reopen-reopened.txt
key q
SCRIPT
cmp -s "$OUT/session.spend.jsonl" "$TMP/spend.before" || fail "reopening paid for calls"
screen 120x40 <<'SCRIPT'
key s
wait-idle
:save-display reopen-stepped.txt
SCRIPT
golden reopen-saved
golden reopen-reopened
golden reopen-stepped
contains reopen-reopened "iteration 1 reopened as it was saved (next: loss+gradient); nothing was sent again"
contains reopen-reopened "next: loss+gradient │ train 0.075"
spend=$(sed -n 1p "$OUT/reopen-saved.txt" | grep -o '\$[0-9.]*')
contains reopen-reopened "$spend"
contains reopen-stepped "next: local gradients"
finish
