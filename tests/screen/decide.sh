# x on the last pending change asks before it closes the iteration; u undoes the decision that
# closed it (the iteration opens again) until the next iteration's forward pass starts; the
# rejected prompt stays visible in History after the versions.  The Proposals header and its
# keys stay at the top while the diffs scroll.
. tests/screen/lib.inc
example hotpot-mini
screen 120x40 <<'SCRIPT'
key r
wait-idle
key 5
key a
key j
key x
:save-display decide-ask.txt
key n
:save-display decide-no.txt
key x
key y
:save-display decide-closed.txt
key u
:save-display decide-undone.txt
key x
key y
key PgDn
key PgDn
:save-display decide-scrolled.txt
key 6
key /
keys iteration 1   rejected
key Enter
key Enter
:save-display decide-history.txt
key r
wait-idle
key u
:save-display decide-final.txt
SCRIPT
contains decide-ask "reject answer? It is the last decision: iteration 1 closes"
contains decide-no "answer: still pending"
contains decide-no "1 of 2 decided"
contains decide-closed "2 of 2 decided"
contains decide-closed "Closed.  u undoes the last decision"
contains decide-undone "undone; the iteration is open again"
contains decide-undone "1 of 2 decided"
contains decide-scrolled "Iteration 1 proposal, 2 of 2 decided: validation"
contains decide-scrolled "2 of 2 decided"
contains decide-history "iteration 1   rejected"
contains decide-history "      Answer with only the entity name"
contains decide-history "iter  train  validation"
contains decide-final "nothing to undo"
finish
