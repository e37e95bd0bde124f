# Steps one phase, runs to the proposal, decides, and checks the autosave.
. tests/screen/lib.inc
example hotpot-mini
screen 120x40 <<'SCRIPT'
key s
wait-idle
:save-display iter-forward.txt
key r
wait-idle
:save-display iter-proposal.txt
:accept answer
:reject query
:save-display iter-decided.txt
:cost
:save-display iter-cost.txt
key q
SCRIPT
golden iter-forward
golden iter-proposal
golden iter-decided
golden iter-cost
contains iter-forward "next: analysis"
contains iter-proposal "proposal ready"
contains iter-decided "iteration 1 done"
grep -q '"history"' "$SESSION" || fail "no history autosaved in the session"
finish
