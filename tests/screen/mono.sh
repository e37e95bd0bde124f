# NO_COLOR and TERM=dumb still give a complete (monochrome) screen.
. tests/screen/lib.inc
example hotpot-mini
export NO_COLOR=1
screen 100x30 <<'SCRIPT'
:save-display mono-nocolor.txt
SCRIPT
unset NO_COLOR
export TERM=dumb
screen 100x30 <<'SCRIPT'
:save-display mono-dumb.txt
SCRIPT
golden mono-nocolor
cmp -s "$OUT/mono-nocolor.txt" "$OUT/mono-dumb.txt" || fail "TERM=dumb and NO_COLOR differ"
finish
