# The Traces detail reaches every step run of an example: Space/PgDn page through it, Enter and
# l go to the next step run (round by round in a loop), / finds text in any step's input, prompt
# or output, and a search that finds nothing says so.
. tests/screen/lib.inc

# lacks NAME TEXT: the saved screen does not show TEXT
lacks() {
	! grep -qF -- "$2" "$OUT/$1.txt" || fail "$1: \"$2\" is still on the screen"
}

example hotpot-mini
screen 120x40 <<'SCRIPT'
key s
wait-idle
key 2
key j
:save-display tr-top.txt
key Space
:save-display tr-page.txt
key PgUp
:save-display tr-back.txt
key Enter
key Enter
:save-display tr-answer.txt
key l
:save-display tr-last.txt
SCRIPT
contains tr-top "Example h21"
contains tr-top "─ query (llm)"
lacks tr-page "Example h21"
contains tr-page "─ retrieve (retrieve)"
contains tr-back "Example h21"
contains tr-answer "─ answer (llm)"
contains tr-answer "Answer:"
contains tr-answer "cannot answer this question with"
contains tr-last "the last step of this example"

# the retrieve step's passages, once the accepted query finds some
example hotpot-mini
screen 120x40 <<'SCRIPT'
key r
wait-idle
:accept query
:accept answer
key s
wait-idle
key 2
key j
key l
:save-display tr-retrieve.txt
SCRIPT
contains tr-retrieve "─ retrieve (retrieve)"
contains tr-retrieve "  output:"
contains tr-retrieve "The Hollow Crown is a novel written by Henrik Dahl."

example dialogue-loop
screen 160x48 <<'SCRIPT'
key s
wait-idle
key 2
keys jj
key /
keys agent round 3
key Enter
:save-display tr-round3.txt
keys ll
:save-display tr-round4.txt
key End
keys llllllllll
:save-display tr-final.txt
key /
keys no such text anywhere
key Enter
:save-display tr-none.txt
SCRIPT
contains tr-round3 "✗ d01"
# d01 ends without an answer: its empty output says so in the list and among the bad cases
contains tr-round3 "✗ d01       0.00  (empty output)"
contains tr-round3 "✗ Case 2: d01  score 0.00  prediction: (empty"
contains tr-round3 "─ agent round 3 (llm)"
contains tr-round4 "─ agent round 4 (llm)"
contains tr-final "─ final (regex)"
contains tr-final "output:"
contains tr-none "not found: no such text anywhere"
finish
