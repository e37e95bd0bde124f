# The Candidates screen (C): before any iteration it says how to get candidates; after a run to
# the proposal it lists each step's incumbent and candidates, the proposed one marked, and the
# evaluated selections best first (o: in the order they ran); Enter opens a candidate's full
# text with its diff against the incumbent, Enter goes back, q closes.  At 80x24 and 160x48.
# With screening (optimizer.screen_size), a line says how it went.
. tests/screen/lib.inc
example hotpot-mini
screen 160x48 <<'SCRIPT'
key C
:save-display cand-empty.txt
key q
key r
wait-idle
key C
:save-display cand-list-160.txt
key o
:save-display cand-order-160.txt
key /
keys #1
key Enter
key Enter
:save-display cand-open-160.txt
key Enter
key q
:save-display cand-closed.txt
key ?
:save-display cand-help.txt
key /
keys order they ran
key Enter
:save-display cand-help-sort.txt
SCRIPT
golden cand-list-160
golden cand-open-160
contains cand-empty "No candidates yet."
contains cand-list-160 "proposed"
contains cand-list-160 "best first"
contains cand-list-160 "proposal"
contains cand-list-160 "incumbent"
contains cand-order-160 "in the order they ran"
contains cand-open-160 "against the incumbent:"
contains cand-closed "1 Pipeline"
contains cand-help "Show the iteration's candidates and the evaluated selections"
contains cand-help-sort "Sort the evaluations by score or by the order they ran"

example hotpot-mini
screen 80x24 <<'SCRIPT'
key r
wait-idle
key C
:save-display cand-list-80.txt
SCRIPT
golden cand-list-80
contains cand-list-80 "Iteration 1:"

# screened first (screen_size 2 of the 12 validation examples): the line under the heading
# names the rungs (2, 4, then all 12), all 9 configurations on the first (the budget of 8
# counts a configuration screened out as a quarter of one); those screened out are listed
# under the rows with their mean on the examples they ran
example hotpot-mini
python3 - "$SESSION" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["optimizer"]["screen_size"], s["optimizer"]["val_size"] = 2, 12
json.dump(s, open(sys.argv[1], "w"), indent=1)
PY
screen 160x48 <<'SCRIPT'
key r
wait-idle
key C
:save-display cand-screened.txt
SCRIPT
contains cand-screened "screened in rungs: 9 on 2, "
contains cand-screened " on 4, "
contains cand-screened " on 12 examples; about "
contains cand-screened "requests saved"
contains cand-screened "screened out ("
contains cand-screened "  on 2"
finish
