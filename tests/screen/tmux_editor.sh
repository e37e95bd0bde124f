# In a real terminal: :edit runs $VISUAL (before $EDITOR) on the proposed prompt with the screen
# suspended, and the file it leaves is what gets accepted; an editor that fails changes nothing;
# with neither set, the built-in editor.
. tests/screen/tmux.inc
cat > "$TMP/editor.sh" <<'ED'
# a scripted editor: records its argument, checks the file holds the proposal, prepends a line
echo "$1" > "$(dirname "$0")/edited-path"
grep -q . "$1" || exit 3
{ echo "Answer in five words or fewer."; cat "$1"; } > "$1.new" && mv "$1.new" "$1"
ED
cat > "$TMP/fail.sh" <<'ED'
echo "garbage" > "$1"
exit 1
ED
example hotpot-mini
tmux_start 120 40 "VISUAL='sh $TMP/editor.sh'" "EDITOR='sh $TMP/fail.sh'"
tmux_wait "2 Traces" || finish
tmux_keys r
tmux_wait "proposal ready" || finish
tmux_keys : "edit answer" Enter
tmux_wait "edited and accepted answer"
tmux_keys w
tmux_wait "saved"
grep -q 'Answer in five words or fewer.' "$SESSION" || fail "the edited prompt is not in the session"
edited=$(cat "$TMP/edited-path" 2>/dev/null)
[ -n "$edited" ] || fail "the editor did not run"
[ -e "$edited" ] && fail "the temporary file $edited was left behind"
tmux_keys q
tmux_restored 0
# $EDITOR alone, failing: nothing is accepted
example hotpot-mini
tmux_start 120 40 "EDITOR='sh $TMP/fail.sh'"
tmux_wait "2 Traces" || finish
tmux_keys r
tmux_wait "proposal ready" || finish
tmux_keys : "edit answer" Enter
tmux_wait "the editor failed"
tmux_keys w
tmux_wait "saved"
grep -q garbage "$SESSION" && fail "a failed editor's text was accepted"
tmux_keys q
tmux_restored 0
# no editor at all: the built-in one, framed with the locale's glyphs (never curses' ACS, which
# shows as "lqqqk" in some UTF-8 terminals), over the whole screen so no pane shows through
example hotpot-mini
tmux_start 100 30 "VISUAL=" "EDITOR="
tmux_wait "2 Traces" || finish
tmux_keys r
tmux_wait "proposal ready" || finish
tmux_keys : "edit answer" Enter
tmux_wait "Edit: Ctrl-S or F2 accepts" || finish
tmux_screen | grep -q "lqq" && fail "the built-in editor's frame is drawn with ACS letters"
tmux_screen | grep -q "┗━━" || fail "the built-in editor has no UTF-8 frame"
tmux_screen | grep -q "Pipeline" && fail "a pane shows through the built-in editor"
tmux_keys Escape
tmux_wait "edit cancelled"
tmux_keys q
tmux_restored 0
finish
