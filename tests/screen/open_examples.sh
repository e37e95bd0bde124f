# Opens every bundled example (but the recipes on public data) and checks the first screen.
. tests/screen/lib.inc
for dir in examples/*/; do
	name=$(basename "$dir")
	[ -f "$dir/session.json" ] || continue
	# recipes read public data through data/ (not in the repository): tests/cli/recipes.sh
	[ -f "$dir/prepare.sh" ] && continue
	example "$name"
	screen 120x40 <<SCRIPT
:save-display open-$name.txt
SCRIPT
	golden "open-$name"
	contains "open-$name" "$name"
	# the dialogue's narrow boxes: the state alone, not "llm task fro…"
	[ "$name" = dialogue-loop ] && contains "open-$name" "│ │ frozen        │ │"
done
finish
