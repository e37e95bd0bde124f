# A session with optimizer.ablate says so where it shows what was skipped or not used: the
# Gradients view marks the dependencies as skipped (gradient global) and every local gradient as
# the global one; the Importance view says the budget is split equally (allocation uniform);
# the Proposals pane lists the demonstrations the joint optimizer's change carries.
. tests/screen/lib.inc
example hotpot-mini
sed -i 's/"max_demos": 2/"max_demos": 2, "ablate": {"gradient": "global", "allocation": "uniform"}/' \
	"$SESSION"
grep -q '"ablate"' "$SESSION" || fail "the session was not patched"
screen 160x48 <<'SCRIPT'
key r
wait-idle
:view gradients
:save-display abl-gradients.txt
key g
:save-display abl-gradients-top.txt
:view shapley
:save-display abl-shapley.txt
:view proposals
:save-display abl-proposals.txt
key q
key n
SCRIPT
# (the panes wrap long lines: fragments)
contains abl-gradients-top "(none: the ablation gradient"
contains abl-gradients "local gradient (the global one"
! grep -q "local gradient (E5)" "$OUT/abl-gradients.txt" || fail "an E5 label under the ablation"
contains abl-shapley "split equally (ablation:"
contains abl-proposals "with 2 demonstrations:"
contains abl-proposals " new  question: "
finish
