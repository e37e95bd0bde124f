#!/bin/sh
# report_browser.sh: the HTML report in a real browser (Debian's chromium, headless; `make deps`
# installs it for the tests): the DOM as rendered (--dump-dom) holds every chart's SVG with as
# many marks as its data-points says (3 score series x 2 iterations on the scores chart), the
# pipeline graph with one box per step, no console message (the page has no script: any
# message is an error such as a blocked resource); the screenshot is not blank.  Skipped, with
# a message, where chromium is not installed.
. tests/cli/lib.inc
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	echo "SKIP: report_browser.sh: chromium is not installed (make deps installs it)" >&2
	exit 0
fi
cp examples/hotpot-mini/*.json examples/hotpot-mini/*.jsonl "$T/"
run --run 2 "$T/session.json"; expect_rc 0
run --report "$T/report.html" "$T/session.json"; expect_rc 0

# chromium as the tests run it: no sandbox (root in containers), its own profile, no network
browse() {
	HOME="$T" timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-dev-shm-usage --user-data-dir="$T/profile" --no-first-run \
		--proxy-server=127.0.0.1:9 --enable-logging=stderr --v=0 \
		--window-size=1000,2400 "$@" </dev/null
}
case="dump-dom"
browse --dump-dom "file://$T/report.html" >"$T/dom.html" 2>"$T/chromium.err" ||
	fail "chromium --dump-dom failed: $(tail -5 "$T/chromium.err")"
python3 - "$T/dom.html" "$T/chromium.err" <<'PY' || fail "rendered DOM"
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.charts = []; self.svg = None; self.steps = 0; self.graph = False
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "svg" and a.get("class") == "chart":
            self.svg = [a["id"], int(a["data-points"]), 0]; self.charts.append(self.svg)
        elif tag == "svg" and a.get("class") == "graph":
            self.graph = True
        elif tag in ("circle", "rect") and self.svg and a.get("class") in ("pt", "bar"):
            self.svg[2] += 1
        elif tag == "rect" and a.get("class") == "step":
            self.steps += 1
    def handle_endtag(self, tag):
        if tag == "svg": self.svg = None
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
ids = [c[0] for c in p.charts]
assert ids[:2] == ["chart-scores", "chart-spend"] and len(ids) == 4, ids
for cid, want, got in p.charts:
    assert want == got and got > 0, (cid, want, got)
assert dict((c[0], c[2]) for c in p.charts)["chart-scores"] == 6, p.charts
assert p.graph and p.steps == 3, (p.graph, p.steps)
console = [l for l in open(sys.argv[2], errors="replace") if "CONSOLE" in l]
assert not console, console
PY

case="screenshot"
(cd "$T" && browse --screenshot="$T/shot.png" "file://$T/report.html" >/dev/null 2>&1) ||
	fail "chromium --screenshot failed"
python3 - "$T/shot.png" <<'PY' || fail "the screenshot is blank"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10]); assert depth == 8, depth
        bpp = {2: 3, 6: 4}[ctype]
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat); stride = w * bpp; prev = bytearray(stride); ink = 0; colours = set()
for y in range(h):
    f = raw[y * (stride + 1)]; line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    for x in range(0, stride, bpp * 4):
        px = bytes(line[x:x + 3]); colours.add(px); ink += px != b"\xff\xff\xff"
assert ink > 2000 and len(colours) > 8, (ink, len(colours))
PY
exit 0
