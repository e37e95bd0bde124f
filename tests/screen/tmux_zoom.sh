# In a real terminal: z zooms the focused pane to the whole body (the other panes and the tab bar
# go) and z again brings the layout back; / with a pattern that nothing in the focused pane
# contains says "not found" and moves nothing.
. tests/screen/tmux.inc
example hotpot-mini
tmux_start 160 48
tmux_wait "1 Pipeline" || finish
tmux_keys 6
tmux_wait "6 History" || finish
tmux_keys z
tmux_wait "6 History (zoomed: z restores)" || finish
tmux_screen | grep -q "1 Pipeline" && fail "zoomed, the Pipeline pane is still shown"
tmux_screen | grep -q "2 Traces" && fail "zoomed, the Traces pane is still shown"
[ "$(tmux_screen | grep -c '━')" -ge 2 ] || fail "the zoomed pane has no frame"
tmux_keys z
tmux_wait "layout restored" || finish
tmux_screen | grep -q "1 Pipeline" || fail "z did not restore the grid"
tmux_screen | grep -q "(zoomed" && fail "still marked zoomed"
tmux_keys / n o w h e r e - t o - b e Enter
tmux_wait "not found: nowhere-to-be"
tmux_keys n
tmux_wait "not found: nowhere-to-be"
tmux_keys q
tmux_restored 0
finish
