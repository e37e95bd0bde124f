# The pipeline graph: a loop and a skip edge in the layered layout, the list at 80x24, moving
# between nodes, search, t to the node's traces, colouring by Shapley importance after an
# iteration, and the dialogue loop's frame at three widths.
. tests/screen/lib.inc
example hotpot-mini
cp tests/screen/data/hotpot-loop.json "$SESSION"
screen 120x40 <<'SCRIPT'
:save-display graph-loop.txt
keys jj
:save-display graph-moved.txt
key /
keys final
key Enter
key t
:save-display graph-enter.txt
resize 80x24
key 1
keys k
:save-display graph-list.txt
SCRIPT
golden graph-loop
golden graph-moved
golden graph-enter
golden graph-list
contains graph-loop "hops: up to 2"
contains graph-list "(query)"
example hotpot-mini
screen 120x40 <<'SCRIPT'
key r
wait-idle
key c
:save-display graph-importance.txt
SCRIPT
golden graph-importance
contains graph-importance "φ"
# the dialogue loop: the frame holds the loop's steps only (final sits outside it), its label is
# on the frame (short when the frame is narrow), and the edges from agent to user and final join
# in a tee
example dialogue-loop
screen 80x30 <<'SCRIPT'
:save-display graph-dialogue-80.txt
resize 160x48
:save-display graph-dialogue-160.txt
resize 220x50
:save-display graph-dialogue-220.txt
SCRIPT
for w in 80 220; do
	contains graph-dialogue-$w "chat: up to 4 rounds"
done
# a frame too narrow for its label says it short, the pattern whole, and a box its state alone
contains graph-dialogue-160 "↻ chat: 4 max"
contains graph-dialogue-160 "until /^FINAL:/"
contains graph-dialogue-160 "│ llm task frozen  │"
! sed -n 3,13p "$OUT/graph-dialogue-160.txt" | grep -q "…" || fail "graph-dialogue-160: a label cut"
for w in 80 160 220; do
	golden graph-dialogue-$w
	contains graph-dialogue-$w "├"
done
finish
