# Before r, :run N and R start, the message line shows their projected calls and money, and asks
# when that passes `:set ask_above`; R stops after `patience` iterations without validation gain
# and at the cost cap; :set cost_cap and :set token_cap set the caps (saved with the session).
. tests/screen/lib.inc
example hotpot-mini
screen 120x40 <<'SCRIPT'
:set ask_above 0.001
key r
:save-display run-ask.txt
key n
:save-display run-declined.txt
:run 2
:save-display run-ask-n.txt
key y
wait-idle
:save-display run-done.txt
:set ask_above never
:set patience 2
key R
wait-idle
:save-display run-patience.txt
:set cost_cap 0.15
:set token_cap lots
:save-display run-bad-cap.txt
:set patience 0
key R
wait-idle
:save-display run-cap.txt
key w
SCRIPT
contains run-ask "run to the proposal: projected ~"
contains run-ask "above ask_above \$0.001; start? [y/n]"
contains run-declined "not started"
contains run-declined "no iteration yet"
contains run-ask-n "run: projected ~"
contains run-done "iteration 2 done"
contains run-patience "stopped after 2 iterations without validation gain (patience 2)"
contains run-bad-cap "error: token_cap: \"lots\" is not a token count"
contains run-cap "budget cap: phase"
contains run-cap "would pass the cap of \$0.1500"
grep -Eq '"cost_cap_usd":[[:space:]]*0.15' "$SESSION" ||
	fail "the cost cap is not saved in the session"
finish
