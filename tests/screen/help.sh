# The help screen lists the live bindings and commands; / searches it; q closes it.
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
finish
