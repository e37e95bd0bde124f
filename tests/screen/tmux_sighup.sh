# In a real terminal: SIGHUP (a closed terminal or ssh session) saves the session like SIGTERM.
. tests/screen/tmux.inc
example hotpot-mini
tmux_start 100 30
tmux_wait "1 Pipeline" || finish
tmux_keys s
tmux_wait "next: analysis"
pid=$(T list-panes -t t -F '#{pane_pid}')
kill -HUP $(pgrep -P "$pid" -f adopt-tui) 2>/dev/null || fail "no adopt-tui process"
tmux_restored 129
grep -q "saved session.json" "$TMP/stderr" || fail "no save on SIGHUP: $(cat "$TMP/stderr")"
grep -q '"state"' "$SESSION" || fail "the session has no state section"
finish
