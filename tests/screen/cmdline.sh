# The : command line: completion, a theme switch, an unknown command, :view, :set.
. tests/screen/lib.inc
example hotpot-mini
screen 100x30 <<'SCRIPT'
key :
keys th
key Tab
keys  hi
key Tab
:save-display cmd-complete.txt
key Esc
:nosuch
:save-display cmd-unknown.txt
:theme light
:set concurrency 16
:save-display cmd-set.txt
:view history
:save-display cmd-view.txt
SCRIPT
golden cmd-complete
golden cmd-unknown
golden cmd-set
golden cmd-view
contains cmd-complete ":theme high-contrast"
contains cmd-unknown "unknown command"
contains cmd-set "concurrency 16"
finish
