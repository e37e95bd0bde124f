# The built-in editor (no $VISUAL or $EDITOR): :edit a proposal, type, accept with C-s; Esc
# cancels; the edited prompt is what the session keeps.
. tests/screen/lib.inc
example hotpot-mini
screen 120x40 <<'SCRIPT'
key r
wait-idle
:edit query
key Esc
:save-display editor-cancelled.txt
:edit answer
key C-a
keys Be brief.
key Enter
key C-s
:save-display editor-accepted.txt
:reject query
key w
SCRIPT
contains editor-cancelled "edit cancelled"
contains editor-accepted "edited and accepted answer"
golden editor-accepted
grep -q 'Be brief.\\n' "$SESSION" || fail "the edited prompt is not in the saved session"
finish
