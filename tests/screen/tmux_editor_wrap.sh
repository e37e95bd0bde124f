# The built-in editor wraps a long line at the window's edge (soft: the prompt keeps its lines);
# Up and Down move by screen row, PgUp and PgDn by a screen.  In a 60-column terminal (58 for
# the text): a line of 89 typed characters and the rest shows on two rows, Up goes to the first
# row at the same column (before, there was no line above and the cursor stayed), PgDn to the
# last row of the prompt.
. tests/screen/tmux.inc
L="Answer in as few words as the question allows and never explain the reasoning behind it. "
tmux_builtin_editor 60 20 || finish
tmux_keys C-a "$L"
tmux_wait "┃Answer in as few words as the question allows and never ex┃" || finish
tmux_wait "┃plain the reasoning behind it. " || finish
tmux_keys Up X PgDn Y C-s
tmux_wait "edited and accepted answer" || finish
tmux_keys w
tmux_wait "saved"
# X: the first row at column 31 (the cursor was at 89 = 58 + 31); Y: the prompt's last row
grep -q 'Answer in as few words as the qXuestion allows' "$SESSION" ||
	fail "Up did not move to the row above at the same column"
grep -q 'Answer:Y"' "$SESSION" || fail "PgDn did not move to the last row"
tmux_keys q
tmux_restored 0
finish
