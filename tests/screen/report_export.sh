# :export DIR and :report FILE in the workbench after an iteration: the files are written (the
# exported prompt files equal the bundle's prompts, the report has its sections), and a report
# name that is neither .html nor .md is refused with a message.
. tests/screen/lib.inc
example hotpot-mini
screen 120x40 <<'SCRIPT'
:run 1
wait-idle
:export exp
:save-display export.txt
:report r.html
:save-display report.txt
:report r.md
:report r.pdf
:save-display report-bad.txt
:q!
SCRIPT
contains export "files written to exp"
contains report "report written to r.html"
contains report-bad ":report writes FILE.html or FILE.md"
python3 - "$OUT/exp" <<'PY' || fail "exported files"
import json, os, sys
b = json.load(open(os.path.join(sys.argv[1], "prompts.json")))
assert b["iterations"] == 1 and list(b["steps"]) == ["query", "answer"], b
for e in b["steps"].values():
    assert open(os.path.join(sys.argv[1], e["file"])).read() == e["prompt"], e
PY
for f in r.html r.md; do
	grep -q "Scores per iteration" "$OUT/$f" || fail "$f lacks its scores"
	grep -q "Changes and decisions" "$OUT/$f" || fail "$f lacks the changes"
done
[ ! -e "$OUT/r.pdf" ] || fail "wrote r.pdf"
finish
