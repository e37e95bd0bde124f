# In a real terminal: mouse clicks focus a pane and select a graph node, the wheel scrolls, and
# ":set mouse off" hands the mouse back to the terminal.  The clicks are the SGR (1006) reports
# an xterm sends, typed into the pane.
. tests/screen/tmux.inc
click() { # column row (1-based, as the terminal reports them)
	tmux_keys -l "$(printf '\033[<0;%d;%dM' "$1" "$2")"
	tmux_keys -l "$(printf '\033[<0;%d;%dm' "$1" "$2")"
}
wheel_down() {
	tmux_keys -l "$(printf '\033[<65;%d;%dM' "$1" "$2")"
}
example hotpot-mini
tmux_start 120 40
tmux_wait "2 Traces" || finish
# the graph has the focus (heavy frame); a click in the traces pane moves it there
tmux_screen | grep -q "┏━ 1 Pipeline" || fail "the graph pane does not start focused"
click 80 10
tmux_wait "┏━ 2 Traces"
# a click on the retrieve node focuses the graph and selects that step (heavy box)
click 10 11
tmux_wait "┏━ 1 Pipeline"
tmux_wait "┏ retrieve"
tmux_screen | grep -q "┏ query" && fail "the query node is still selected"
# the wheel scrolls the traces: after a run, the first example row moves up out of sight
tmux_keys r
tmux_wait "proposal ready"
click 80 10
first=$(tmux_screen | sed -n 5p | cut -c49-)
wheel_down 80 10
wheel_down 80 10
i=0
while [ "$(tmux_screen | sed -n 5p | cut -c49-)" = "$first" ] && [ $i -lt 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(tmux_screen | sed -n 5p | cut -c49-)" != "$first" ] || fail "the wheel did not move the traces"
# mouse off: a click no longer moves the focus
tmux_keys : "set mouse off" Enter
tmux_wait "mouse off"
click 10 11
sleep 0.3
tmux_screen | grep -q "┏━ 2 Traces" || fail "a click moved the focus with the mouse off"
tmux_keys q
tmux_restored 0
finish
