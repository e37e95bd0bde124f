# Layouts by terminal size: tabs at 80x24, the grid at 200x60, a notice when too small, live
# re-layout on resize, and ASCII glyphs outside a UTF-8 locale.
. tests/screen/lib.inc
example hotpot-mini
screen 80x24 <<'SCRIPT'
:save-display layout-80x24.txt
key 2
:save-display layout-80x24-tab2.txt
resize 200x60
:save-display layout-200x60.txt
resize 50x12
:save-display layout-small.txt
resize 120x40
key Tab
:save-display layout-120x40.txt
SCRIPT
for n in layout-80x24 layout-80x24-tab2 layout-200x60 layout-small layout-120x40; do
	golden $n
done
contains layout-small "terminal too small"
contains layout-200x60 "6 History"
export LC_ALL=C
screen 80x24 <<'SCRIPT'
:save-display layout-ascii.txt
SCRIPT
golden layout-ascii
# after an iteration, the Importance view in the C locale and with :set glyphs ascii in a UTF-8
# one: its symbols spelled in ASCII (phi, +/-), never "?" or a UTF-8 byte
ascii_only() {
	contains $1 "phi"
	contains $1 "+/-"
	LC_ALL=C grep -q '[^ -~]' "$OUT/$1.txt" && fail "$1: a byte outside printable ASCII"
	grep -Eq '\?[ ]*[+-]?[0-9]\.[0-9]{3}|\? sd|step +\?' "$OUT/$1.txt" &&
		fail "$1: a symbol drawn as ?"
}
example hotpot-mini
screen 160x48 <<'SCRIPT'
key r
wait-idle
key 4
:save-display importance-c-locale.txt
SCRIPT
ascii_only importance-c-locale
export LC_ALL=C.UTF-8
example hotpot-mini
screen 160x48 <<'SCRIPT'
:set glyphs ascii
key r
wait-idle
key 4
:save-display importance-glyphs-ascii.txt
SCRIPT
ascii_only importance-glyphs-ascii
finish
