# In a real terminal: starts, steps a phase, quits with q; the terminal is restored.
. tests/screen/tmux.inc
example hotpot-mini
tmux_start 120 40
tmux_wait "1 Pipeline" || finish
tmux_keys s
tmux_wait "next: analysis"
tmux_keys q
tmux_restored 0
finish
