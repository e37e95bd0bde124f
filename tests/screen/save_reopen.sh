# Saves mid-iteration, reopens, answers the resume question and continues.
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
grep -q '"state"' "$SESSION" || fail "no state saved"
screen 120x40 <<'SCRIPT'
:save-display reopen-question.txt
key y
wait-idle
:save-display reopen-resumed.txt
SCRIPT
golden reopen-saved
golden reopen-question
golden reopen-resumed
contains reopen-question "resume iteration 1 from phase"
contains reopen-resumed "next: loss+gradient"
finish
