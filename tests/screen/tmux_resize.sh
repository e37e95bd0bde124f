# In a real terminal: live re-layout when the window is resized.
. tests/screen/tmux.inc
example hotpot-mini
tmux_start 200 60
tmux_wait "6 History" || finish
T resize-window -t t -x 80 -y 24
tmux_wait " 1 Pipeline   2 Traces"
tmux_screen | grep -q "┏━ 1 Pipeline" || fail "80x24: the graph pane is not shown alone"
T resize-window -t t -x 50 -y 12
tmux_wait "terminal too small"
T resize-window -t t -x 130 -y 40
tmux_wait "2 Traces ─"
tmux_keys q
tmux_restored 0
finish
