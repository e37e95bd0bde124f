# Opens every bundled example and checks the first screen.
. tests/screen/lib.inc
for dir in examples/*/; do
	name=$(basename "$dir")
	[ -f "$dir/session.json" ] || continue
	example "$name"
	screen 120x40 <<SCRIPT
:save-display open-$name.txt
SCRIPT
	golden "open-$name"
	contains "open-$name" "$name"
done
finish
