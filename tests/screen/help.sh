# The help screen lists the live bindings and commands; / searches it; q closes it; on a
# narrow screen descriptions wrap under their column.
. tests/screen/lib.inc
example hotpot-mini
screen 100x30 <<'SCRIPT'
key ?
:save-display help-top.txt
key /
keys Shapley
key Enter
:save-display help-search.txt
key q
:save-display help-closed.txt
SCRIPT
golden help-top
golden help-search
contains help-top "Quit adopt-tui"
contains help-search "shapley"
contains help-closed "Pipeline"

# at 80 columns a long description wraps under its column, never cut with an ellipsis
screen 80x24 <<'SCRIPT'
key ?
:save-display help-80.txt
key End
:save-display help-80-end.txt
SCRIPT
contains help-80 "┃   C-c                Cancel the running phase (rolled back); again: ask to   ┃"
contains help-80 "┃                      quit                                                    ┃"
contains help-80-end "┃                      gain                                                    ┃"
! grep -q "…" "$OUT/help-80.txt" "$OUT/help-80-end.txt" || fail "help-80: a cut description"
finish
