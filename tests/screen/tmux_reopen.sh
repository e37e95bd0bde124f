# In a real terminal, the user's path: run to the proposal, accept one of its two changes, save,
# quit.  Reopened, the session shows the same proposal with that decision made and the same
# spend, sends nothing (the spend journal does not grow), and the decision can be undone; r
# then decides the rest and runs the next iteration.
. tests/screen/tmux.inc
example hotpot-mini
tmux_start 120 40
tmux_wait "1 Pipeline" || finish
tmux_keys r
tmux_wait "proposal ready" || finish
tmux_keys 5 a
tmux_wait "1 of 2 decided" || finish
tmux_keys : save Enter
tmux_wait "saved session.json" || finish
# captured once saved: before, the title may still show the unsaved mark [+]
tmux_screen | sed '$d' > "$TMP/before" # all but the message line
tmux_keys : quit Enter
tmux_restored 0
cp "$OUT/session.spend.jsonl" "$TMP/spend"
tmux_start 120 40
tmux_wait "iteration 1 reopened at its proposal, 1 of 2 decided; nothing was sent again" ||
	finish
tmux_keys 5
tmux_wait "5 Proposals" || finish
sleep 0.3
tmux_screen | sed '$d' > "$TMP/after"
grep -q '\[accepted\]' "$TMP/after" || fail "the accepted change is not shown accepted"
grep -q '\[pending\]' "$TMP/after" || fail "the change still to decide is not shown pending"
[ "$(sed -n 1p "$TMP/before")" = "$(sed -n 1p "$TMP/after")" ] ||
	fail "the spend changed: $(sed -n 1p "$TMP/before") / $(sed -n 1p "$TMP/after")"
diff -u "$TMP/before" "$TMP/after" >&2 || fail "the reopened screen differs from the saved one"
cmp -s "$OUT/session.spend.jsonl" "$TMP/spend" || fail "reopening paid for calls"
tmux_keys u
tmux_wait "0 of 2 decided" || finish
# r from the pending decision: it is made, and the next iteration runs to its proposal
tmux_keys r
tmux_wait "it 2 " || finish
tmux_wait "iteration 2 found no change" || finish
tmux_keys : quit Enter
tmux_restored 0
finish
