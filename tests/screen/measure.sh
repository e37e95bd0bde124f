# An edited prompt is measured when the user asks: the iteration it closes says it is not
# measured and what :measure costs; :measure runs it on the validation sample and History then
# shows its own score; a second :measure has nothing to do.
. tests/screen/lib.inc
example hotpot-mini
screen 120x40 <<'SCRIPT'
key r
wait-idle
:accept query
:edit answer
key C-a
keys Be brief.
key Enter
key C-s
:save-display measure-hint.txt
:measure
wait-idle
:save-display measured.txt
:view history
:save-display measured-history.txt
:measure
:save-display measure-again.txt
:q!
SCRIPT
contains measure-hint "iteration 1 done; edit unmeasured: :measure scores it (12 examples, ~"
contains measured "measured what the decisions kept: validation "
contains measure-again "nothing to measure"
grep -q "   1  0.075  0.065 → 0\.[0-9]" "$OUT/measured-history.txt" ||
	fail "History does not show the measured score of iteration 1"
finish
