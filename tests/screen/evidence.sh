# The proposal's evidence: after the diffs, the Proposals pane lists the flipped validation
# examples with both final outputs side by side (one row when the pane is wide, the outputs on a
# row of their own when narrow); j past the last change walks them, Enter opens the Evidence
# screen with both runs step by step (incumbent above proposal), l the next flipped example, q
# back.  Reopened after the decisions, the outputs and runs come back from the session file.
# At 160x48 and 80x24.
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
finish
