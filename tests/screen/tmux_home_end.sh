# Home and End inside tmux: tmux sends ESC [1~ and ESC [4~ whatever the pane's TERM says (the
# screen and tmux terminfo entries agree, xterm's expect ESC OH / ESC OF); the command line
# moves to its start and end under each.
. tests/screen/tmux.inc
for term in screen tmux-256color xterm-256color; do
	example hotpot-mini
	tmux_start 80 24 "TERM=$term"
	tmux_wait "2 Traces" || finish
	tmux_keys : "abc" Home X End Y
	tmux_wait ":XabcY" || { fail "Home/End under TERM=$term"; finish; }
	tmux_keys Escape
	tmux_keys q
	tmux_restored 0
done
finish
