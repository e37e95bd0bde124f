# In a real terminal: kill -9 just after a decision.  Its save is written in the background by
# a child process that ignores the workbench's death: the session reopens with the accepted
# change, the file is whole and no temporary file is left behind; reopened, it shows the same
# proposal with that decision made and the same spend.
. tests/screen/tmux.inc
example hotpot-mini
tmux_start 120 40
tmux_wait "1 Pipeline" || finish
tmux_keys r
tmux_wait "proposal ready" || finish
tmux_keys 5 a
tmux_wait "1 of 2 decided" || finish
spend=$(tmux_screen | sed -n 1p | grep -o '\$[0-9.]*')
pid=$(T list-panes -t t -F '#{pane_pid}')
kill -KILL $(pgrep -P "$pid" -f adopt-tui) 2>/dev/null || fail "no adopt-tui process"
tmux_wait DONE || finish # (the terminal is left raw: nothing could restore it)
i=0 # the writer outlives it by the time a save takes
while ls -a "$OUT" | grep -q '\.tmp-' && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
ls -a "$OUT" | grep '\.tmp-' && fail "a temporary file was left: $(ls -a "$OUT")"
"$ADOPT_BIN" --check "$SESSION" >"$TMP/check" 2>&1 || fail "the session does not load: $(cat "$TMP/check")"
# the accepted prompt: the step's prompt and its new version in the history
[ "$(grep -c '"prompt": "Name the key entity of the question' "$SESSION")" -ge 2 ] ||
	fail "the accepted decision was lost: $(grep -n '"prompt"' "$SESSION")"
tmux_start 120 40
tmux_wait "iteration 1 reopened at its proposal, 1 of 2 decided" || finish
tmux_screen | sed -n 1p | grep -qF "$spend" || fail "the spend is not $spend: $(tmux_screen | sed -n 1p)"
tmux_keys 5
tmux_wait "[accepted]" || finish
tmux_keys : quit Enter
tmux_wait DONE
finish
