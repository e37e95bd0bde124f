# In a real terminal: colours by default, none with NO_COLOR (attributes only).
. tests/screen/tmux.inc
example hotpot-mini
tmux_start 100 30
tmux_wait "1 Pipeline" || finish
tmux_screen -e | grep -qE '\[([0-9;]*;)?(3[0-7]|38;5;[0-9]+|9[0-7])[;m]' ||
	fail "no colour in the default theme"
tmux_keys q
tmux_restored 0
tmux_start 100 30 NO_COLOR=1
tmux_wait "1 Pipeline" || finish
if tmux_screen -e | grep -qE '\[([0-9;]*;)?(3[0-7]|38;5;[0-9]+|9[0-7]|4[0-7])[;m]'; then
	fail "colour with NO_COLOR set"
fi
tmux_keys q
tmux_restored 0
finish
