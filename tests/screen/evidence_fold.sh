# Evidence folds the steps both runs ran alike (same input, prompt and output) into one line, so
# a long pipeline's changes fit; f shows them in full and folds them again.  chain5: the proposal
# changes classify, so clean and summarize ran alike and label and final did not.
. tests/screen/lib.inc
example chain5
screen 160x50 <<'SCRIPT'
key r
wait-idle
key 5
key j
key j
key Enter
:save-display fold.txt
key f
:save-display unfold.txt
key f
:save-display refold.txt
:q!
SCRIPT
contains fold "= clean, summarize: the same input, prompt and output in both runs (f shows them)"
contains fold "f unfold"
contains fold "─ classify (llm)"
contains fold "─ label (template)"
grep -q "─ clean (regex)" "$OUT/fold.txt" && fail "fold: the unchanged clean step is shown in full"
contains unfold "─ clean (regex)"
contains unfold "─ summarize (llm)"
contains unfold "unchanged steps shown"
grep -q "= clean" "$OUT/unfold.txt" && fail "unfold: still folded"
contains refold "= clean, summarize:"
contains refold "unchanged steps folded"
finish
