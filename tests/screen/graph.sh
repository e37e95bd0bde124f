# The pipeline graph: a loop and a skip edge in the layered layout, the list at 80x24, moving
# between nodes, search, t to the node's traces, and colouring by Shapley importance after an
# iteration.
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
finish
