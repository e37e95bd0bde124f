# The debugger's views after two iterations of hotpot-mini (the first decided, the second run to
# its end): m pins an example in Traces and [ ] step through the iterations that ran it; History
# charts the scores (accepted changes marked) and the spend with the next iterations projected
# (shaded), and m (named in the versions' header) marks a prompt version that Enter then diffs
# against another one and, on itself, against the current prompt; the Gradients header and the
# Pipeline nodes count how often each step was blamed; f and :filter narrow the traces.  At
# 160x48 and 80x24.
. tests/screen/lib.inc
run_two() {
	cat <<'SCRIPT'
key r
wait-idle
key 5
key a
key j
key a
key R
wait-idle
key p
SCRIPT
}
example hotpot-mini
{ run_two; cat <<'SCRIPT'
key 2
key m
:save-display dbg-pin-160.txt
key [
:save-display dbg-pin-prev-160.txt
key ]
key ]
:save-display dbg-pin-last-160.txt
key m
key 6
key z
:save-display dbg-charts-160.txt
key /
keys v1 
key Enter
key m
key Enter
:save-display dbg-mark-160.txt
key /
keys v2 
key Enter
key Enter
:save-display dbg-diff-160.txt
key z
key 3
key g
:save-display dbg-blame-160.txt
key 2
key f
:save-display dbg-filter-state-160.txt
key f
key f
key :
keys filter Lusk
key Enter
:save-display dbg-filter-text-160.txt
SCRIPT
} | screen 160x48
golden dbg-pin-160
golden dbg-charts-160
golden dbg-diff-160
contains dbg-pin-160 "Pinned h03 (train): iteration 4, 4 of the 4"
contains dbg-pin-160 "✓ iteration 2    1.00  Wenna River"
contains dbg-pin-prev-160 "Pinned h03 (train): iteration 3, 3 of the 4"
contains dbg-pin-last-160 "the last iteration that ran it"
contains dbg-charts-160 "Scores per iteration"
contains dbg-charts-160 "at the mean of the finished ones"
contains dbg-charts-160 "░"
contains dbg-charts-160 "↑"
contains dbg-mark-160 "word diff from the marked v1 to the current prompt:"
contains dbg-charts-160 "Enter: full text, m: mark one to diff"
contains dbg-mark-160 "Enter: diff from the marked v1, m: move or clear the mark"
contains dbg-diff-160 "word diff from the marked v1 to this one:"
contains dbg-diff-160 "{+Answer with only the entity name"
contains dbg-blame-160 "Blame (E5): query blamed in"
contains dbg-blame-160 "blamed "
contains dbg-filter-state-160 "traces: a step failed"
contains dbg-filter-text-160 "traces: examples containing \"Lusk\""

example hotpot-mini
{ run_two; cat <<'SCRIPT'
key 2
key m
key [
:save-display dbg-pin-80.txt
key 6
key G
:save-display dbg-charts-80.txt
key /
keys v1 
key Enter
key m
key /
keys v2 
key Enter
key Enter
:save-display dbg-diff-80.txt
key 3
key g
:save-display dbg-blame-80.txt
SCRIPT
} | screen 80x24
golden dbg-pin-80
golden dbg-charts-80
golden dbg-diff-80
golden dbg-blame-80
contains dbg-pin-80 "Pinned h03 (train): iteration 3"
contains dbg-charts-80 "Prompt versions"
contains dbg-diff-80 "word diff from the marked v1 to this one:"
contains dbg-blame-80 "Blame (E5): query blamed in"
finish
