# The proposal's evidence: after the diffs, the Proposals pane lists the flipped validation
# examples with both final outputs side by side (one row when the pane is wide, the outputs on a
# row of their own when narrow); j past the last change walks them, Enter opens the Evidence
# screen with both runs step by step (side by side from 140 columns on, each step's pair on the
# same rows; incumbent above proposal when narrower), l the next flipped example, q back.
# Reopened after the decisions, the outputs and runs come back from the session file.  At
# 160x48 and 80x24 (goldens), 140x40 and 139x40 (the width where the columns start).
. tests/screen/lib.inc
example hotpot-mini
screen 160x48 <<'SCRIPT'
key r
wait-idle
key 5
key j
key j
key j
:save-display ev-list-160.txt
key Enter
:save-display ev-open-160.txt
key l
:save-display ev-next-160.txt
key q
:save-display ev-back-160.txt
key Home
key a
key j
key a
key w
SCRIPT
golden ev-list-160
golden ev-open-160
contains ev-list-160 "incumbent output"
contains ev-list-160 "Nell Tamsin"
contains ev-open-160 "Example h32, iteration 1: the proposal fixes it (0.000 → 1.000)"
contains ev-open-160 "→ incumbent"
contains ev-open-160 "→ proposal"
contains ev-open-160 "Name the key entity of the question"
# the proposal's query step shared the answer of an identical request: reused, not zeros
contains ev-open-160 "│ ─ query (llm)  [memo: not billed again]"
contains ev-open-160 "│   130 in / 4 out tokens when it ran (estimated)  [scripted]"
! grep -q "0 in / 0 out tokens" "$OUT/ev-open-160.txt" || fail "ev-open-160: zeros for a reuse"
contains ev-next-160 "Example h34"
contains ev-back-160 "5 Proposals"

# reopened: the outputs and the runs are read back from the session file
screen 80x24 <<'SCRIPT'
key 5
key j
key j
:save-display ev-list-80.txt
key Enter
:save-display ev-open-80.txt
SCRIPT
golden ev-list-80
golden ev-open-80
contains ev-list-80 "fixes  h31"
contains ev-list-80 "Closed."
contains ev-open-80 "Example h31"
contains ev-open-80 "question: Who founded the company that makes the Harrow Tractor?"
contains ev-open-80 "Write a search query"
! grep -q "→ incumbent .*│ → proposal" "$OUT/ev-open-80.txt" || fail "ev-open-80: side by side"

# the runs go side by side from 140 columns on (the 160 golden above), stacked at 139
for w in 140 139; do
	screen ${w}x40 <<SCRIPT
key 5
key j
key j
key Enter
:save-display ev-open-$w.txt
SCRIPT
done
contains ev-open-140 "Example h31"
grep -q "│ → proposal" "$OUT/ev-open-140.txt" || fail "ev-open-140: not side by side"
grep -q "^┃→ incumbent  *│ → proposal  *┃$" "$OUT/ev-open-140.txt" ||
	fail "ev-open-140: the runs' labels are not on one row"
grep -q "incumbent: The passages do not say.*│   proposal:  Nell Tamsin   score 1.000" \
	"$OUT/ev-open-140.txt" || fail "ev-open-140: the final outputs are not side by side"
contains ev-open-139 "→ incumbent"
contains ev-open-139 "→ proposal"
! grep -q "│ → proposal" "$OUT/ev-open-139.txt" || fail "ev-open-139: side by side"
finish
