# The built-in editor on a prompt that fits and on a window narrower than a tab.  PgDn on a
# prompt shorter than the window keeps its first row in sight (the window used to scroll past
# it: only the last row showed).  A tab (8 columns) in a window whose text area is narrower than
# that gets a row of its own; the editor then answers keys as before (it used to lay the line
# out forever, growing without bound, deaf to Esc).  A resize while it is open draws it at the
# new size at once.
. tests/screen/tmux.inc
tmux_builtin_editor 60 20 || finish
tmux_wait "┃Use the passages to answer the question." || finish
tmux_keys PgDn
sleep 0.3
tmux_wait "┃Use the passages to answer the question." || finish
tmux_keys C-a Tab
T resize-window -t t -x 9 -y 12
sleep 0.5
T resize-window -t t -x 60 -y 20
tmux_wait "┃Use the passages to answer the question." || finish # redrawn at once
tmux_keys End # and it answers keys again
tmux_wait "┃Use the passages to answer the question." || finish
# resized while it is open: the editor, drawn at each new size (the workbench beneath used to
# be painted over it, the editor coming back at its old size on the next key)
T resize-window -t t -x 40 -y 20
tmux_wait "┏━ Edit: Ctrl-S or F2 accepts, Esc ca…━┓" || finish
T resize-window -t t -x 70 -y 20
tmux_wait "┃Use the passages to answer the question.                            ┃" || finish
tmux_keys Escape
tmux_wait "2 Traces" || finish
tmux_keys q
tmux_restored 0
finish
