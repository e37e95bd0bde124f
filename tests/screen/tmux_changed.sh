# In a real terminal: another program saves the session while the workbench has it open.  w
# asks before overwriting; n keeps the other version (and says how to keep ours); y overwrites.
. tests/screen/tmux.inc
example hotpot-mini
tmux_start 120 40
tmux_wait "1 Pipeline" || finish
sed 's/"seed": 11/"seed": 12/' "$SESSION" > "$TMP/theirs.json"
cp "$TMP/theirs.json" "$SESSION"
tmux_keys w
tmux_wait "changed on disk since it was read" || finish
tmux_keys n
tmux_wait "not saved" || finish
cmp -s "$SESSION" "$TMP/theirs.json" || fail "n overwrote the other version"
tmux_keys w
tmux_wait "overwrite it? [y/n]" || finish
tmux_keys y
tmux_wait "over the version changed on disk" || finish
grep -q '"seed": 11' "$SESSION" || fail "y did not write ours"
tmux_keys q
tmux_restored 0
finish
