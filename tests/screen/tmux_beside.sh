# In a real terminal the History pane's spend chart gets its projection from a copy of the
# process beside the loop (src/tui/projwork.c): while iteration 1's forward pass is still
# running (a slow rule holds it), the chart shows the engine's projection; the copy is gone
# when the workbench quits.
. tests/screen/tmux.inc
example hotpot-mini
slow='{"match": "Search query:", "reply": "slow", "delay_ms": 300000},'
sed -i "s/^ \"rules\": \\[\$/ \"rules\": [$slow/" "$OUT/rules.json"
grep -q '"delay_ms": 300000' "$OUT/rules.json" || fail "could not slow the rules down"
tmux_start 160 50
tmux_wait "1 Pipeline" || finish
tmux_keys 6 s
tmux_wait "it 1 forward" || finish
tmux_wait " more (" || finish  # the projection is in (before it: "projecting...")
tmux_keys C-c
tmux_wait "cancelled forward" || finish
tmux_keys q
tmux_restored 0
pid=$(T list-panes -t t -F '#{pane_pid}')
pgrep -P "$pid" -f adopt-tui >/dev/null && fail "a process of the workbench outlived it"
finish
