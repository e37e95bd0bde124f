#!/bin/sh
# report.sh: --report after --run 2 --json on hotpot-mini, as HTML and as Markdown: every
# section present, the scripted model labelled at the top, the numbers equal to --run --json's
# (scores, spend per phase, Shapley values, decisions and who made them), the HTML self-contained (no script, no
# external asset) with one SVG mark per number charted; refusals: a symbolic link where the
# report goes, a name that is neither .html nor .md.
. tests/cli/lib.inc
cp examples/hotpot-mini/*.json examples/hotpot-mini/*.jsonl "$T/"
run --run 2 --json "$T/session.json"; expect_rc 0; cp "$T/out" "$T/run.json"

for form in html md; do
	case="$form"; run --report "$T/report.$form" "$T/session.json"; expect_rc 0; expect_clean
	expect_err "report written to $T/report.$form"
	python3 - "$T/run.json" "$T/report.$form" "$form" <<'PY' || fail "report content"
import html, json, re, sys
run = json.load(open(sys.argv[1])); text = open(sys.argv[2], encoding="utf-8").read()
form = sys.argv[3]
if form == "html":
    # compare numbers on the text of the page, rows as "| a | b |" like the Markdown
    assert "<script" not in text and not re.search(r'(src|href)="(https?:)?//', text), "external"
    t = re.sub(r"</t[dh]><t[dh]>", " | ", text)
    t = re.sub(r"<tr><t[dh]>", "| ", t); t = re.sub(r"</t[dh]></tr>", " |", t)
    t = html.unescape(re.sub(r"<[^>]+>", "", t))
else:
    t = text.replace("\\", "")
head = re.sub(r"<style>.*?</style>", "", text, flags=re.S)[:900] if form == "html" else t[:600]
assert "Scripted model" in head, head
for sec in ["Pipeline", "Scores per iteration", "Spend", "Shapley credit and budgets",
            "Changes and decisions", "Models and prices"]:
    assert sec in t, sec
its = run["iterations"]; assert len(its) == 2, its
f = lambda v: "%.4f" % v
for it in its:
    n = it["number"]
    row = "| %d | %s | %s | %s |" % (n, f(it["train_score"]), f(it["val_before"]),
                                     f(it["val_best"]))
    assert row in t, row
    total = 0
    for phase, c in it["cost_by_phase"].items():
        total += c["cost_usd"]
        if c["calls"]:
            row = "| %d | %s | %d | %d | %d |" % (n, phase, c["calls"], c["cached"], c["tokens"])
            assert row in t and f(c["cost_usd"]) in t, row
    assert "| %d | total |" % n in t and f(total) in t, n
    for step, p in it["shapley"].items():
        if step != "method":
            row = "| %s | %+.4f | %.4f | %d |" % (step, p["phi"], p["sd"], it["next_budget"][step])
            assert row in t or ("| %s | %+.4f | %.4f |" % (step, p["phi"], p["sd"])) in t, row
    for ch in it["changes"]:
        # --run decides on its own: the report says who decided
        assert ch["by"] == "engine", ch
        assert "Step %s: %s by the engine" % (ch["step"], ch["decision"]) in t, ch
assert "$" + f(run["totals"]["cost_usd"]) in t, run["totals"]
assert "scripted (a stand-in, not a real LLM)" in t
assert re.search(r"fixed \d+ and broke \d+", t), "fixed/broken"
if form == "html":
    charts = re.findall(r'<svg class="chart" id="chart-([^"]+)" data-points="(\d+)"(.*?)</svg>',
                        text, re.S)
    ids = [c[0] for c in charts]
    assert ids[:2] == ["scores", "spend"], ids
    for cid, pts, body in charts:
        marks = body.count('<circle class="pt"') + body.count('<rect class="bar"')
        assert marks == int(pts), (cid, pts, marks)
    assert dict((c[0], int(c[1])) for c in charts)["scores"] == 3 * len(its)
    assert '<svg class="graph" id="pipeline" data-steps="3"' in text
PY
done

case="symlink"; ln -s "$T/victim.html" "$T/link.html"
run --report "$T/link.html" "$T/session.json"; expect_rc 1; expect_clean; expect_err "link.html"
[ ! -e "$T/victim.html" ] || fail "wrote through the symbolic link"
case="suffix"; run --report "$T/report.pdf" "$T/session.json"; expect_rc 2
expect_err "--report writes FILE.html or FILE.md"
exit 0
