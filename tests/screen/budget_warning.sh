# A session whose eval_budget is below its optimizable steps + 2 opens with the warning
# --check prints, at the value's position; what exact Shapley then buys is said before the run
# and in the Importance pane.
. tests/screen/lib.inc
example chain5
sed 's/"eval_budget": 6/"eval_budget": 3/' "$SESSION" >"$SESSION.new" && mv "$SESSION.new" "$SESSION"
screen 160x40 <<'SCRIPT'
:save-display budget-warning.txt
key r
:save-display budget-run.txt
wait-idle
key 4
:save-display budget-importance.txt
SCRIPT
contains budget-warning "warning: session.json:58:20: optimizer.eval_budget 3 is below the 2 steps + 2"
# the search evaluates the incumbent and each step alone; exact Shapley buys the all-best
# configuration, said before the run and in the Importance pane
contains budget-run "Shapley buys 1 extra evaluation(s) an iteration"
contains budget-importance "method exact"
contains budget-importance "1 validation evaluation(s) beyond selection's were bought for it"
# the default (no eval_budget) and a sufficient one: no warning
example chain5
sed 's/"eval_budget": 6/"eval_budget": 4/' "$SESSION" >"$SESSION.new" && mv "$SESSION.new" "$SESSION"
screen 160x40 <<'SCRIPT'
:save-display budget-ok.txt
SCRIPT
grep -q "eval_budget" "$OUT/budget-ok.txt" && fail "budget-ok: a warning for a sufficient eval_budget"
finish
