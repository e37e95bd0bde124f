# In a real terminal: starts, steps a phase, quits with q; the terminal is restored.  A terminal
# that cannot address its cursor (TERM=dumb) gets a message and exit status 2.
. tests/screen/tmux.inc
example hotpot-mini
tmux_start 120 40
tmux_wait "1 Pipeline" || finish
tmux_keys s
tmux_wait "next: analysis"
tmux_keys q
tmux_restored 0
example hotpot-mini
tmux_start 100 24 TERM=dumb
tmux_wait "EXIT=2" || finish
grep -q 'terminal type "dumb" cannot move the cursor' "$TMP/stderr" ||
	fail "TERM=dumb: no message saying why"
finish
