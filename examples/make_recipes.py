#!/usr/bin/env python3
"""Writes session.json and rules.json of the recipes that run on the public datasets as they are
published (paper-hotpotqa, paper-hover, gsm8k, bbh-date-understanding).  rules.json is the offline
`scripted` stand-in that lets tests and `--check` run without an endpoint; the READMEs say how to
point each recipe at a real model.  Run it after changing this file."""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))

# Role rules: generic answers for the six analysis roles and the rewrite role (they match
# phrases of src/engine/roles/*.txt, listed in src/engine/roles/README.md).
ROLES = [
 {"match": r"Describe the overall task the pipeline solves",
  "reply": "<summary>The pipeline's steps turn the example's input into the final answer; each step must hand the next one exactly what it needs.</summary>"},
 {"match": r"The step under analysis: \"(?<s>[^\"]+)\"",
  "reply": "<dependency>Step \"${s}\" must hand the next step exactly the information it needs, in the form it expects.</dependency>"},
 {"match": r"(?s)You are the loss function.*?<output>\n(?<o>.*?)\n</output>.*?<gold>\n(?<g>[^\n]*)",
  "reply": "<loss>The output \"${o}\" differs from the gold answer \"${g}\".</loss>"},
 {"match": r"Explain why the final output went wrong",
  "reply": "<gradient>An intermediate step dropped or distorted the information the final output needed.</gradient>"},
 {"match": r"(?s)^(?=.*?You are assigning blame within)(?=.*?one step, \"(?<s>[^\"]+)\")(?=.*?<step_output>\n(?<o>.*?)\n</step_output>)",
  "reply": "<local>Step \"${s}\" produced \"${o}\", which lacks what the next step needs.</local>"},
 {"match": r"(?s)You are writing a training example.*?<step_output>\n(?<o>.*?)\n</step_output>",
  "reply": "<revised>${o}</revised>"},
 {"match": r"(?s)improving the prompt of one step.*?<current_prompt>\n(?<p>.*?)\n</current_prompt>",
  "reply": "<prompt>Be precise and brief.\n${p}</prompt>\n<prompt>Think step by step.\n${p}</prompt>"},
]

MODELS = {
 "task": {"provider": "scripted", "rules": "rules.json", "model": "gpt-4o-mini",
          "price_in": 0.15, "price_out": 0.6},
 "optimizer": {"provider": "scripted", "rules": "rules.json", "model": "gpt-4o-mini",
               "price_in": 0.15, "price_out": 0.6},
}
OPTIMIZER = {"seed": 1, "batch_size": 20, "minibatch_good": 3, "minibatch_bad": 5,
             "val_size": 20, "budget_total": 6, "budget_floor": 1, "eval_budget": 12,
             "step_optimizer": "joint", "role_model": "optimizer", "max_demos": 2}

def session(name, steps, dataset, metric, loops=None, output=None):
    p = {"steps": steps}
    if loops: p["loops"] = loops
    p["output"] = output or steps[-1]["id"]
    return {"format": "adopt-session", "version": 1, "name": name, "models": MODELS,
            "pipeline": p, "dataset": dataset, "metric": metric, "optimizer": OPTIMIZER}

def write(d, sess, task_rules):
    os.makedirs(os.path.join(HERE, d), exist_ok=True)
    if d in SERVER_STEPS:
        write_server_variant(d, sess, *SERVER_STEPS[d])
    with open(os.path.join(HERE, d, "session.json"), "w") as f:
        json.dump(sess, f, indent=2, ensure_ascii=False); f.write("\n")
    with open(os.path.join(HERE, d, "rules.json"), "w") as f:
        json.dump({"rules": ROLES + task_rules, "fallback": "I do not know."}, f, indent=1,
                  ensure_ascii=False); f.write("\n")

# The retrieval-server form of a recipe: session-server.json, the same session whose search step
# asks a ColBERTv2-protocol server (ColBERT's server.py over the Wikipedia 2017 abstracts, as the
# paper and DSPy use) instead of BM25.  The address is a local server's: edit it to yours.
SERVER_URL = "http://127.0.0.1:8893/api/search"

def write_server_variant(d, sess, step, k):
    v = json.loads(json.dumps(sess))
    v["name"] = sess["name"] + "-server"
    for st in v["pipeline"]["steps"]:
        if st["id"] == step:
            for key in ("corpus", "passages"):
                st.pop(key, None)
            st["url"] = SERVER_URL
            st["k"] = k
            st["description"] = "top %d from a ColBERTv2 server over Wikipedia abstracts" % k
    with open(os.path.join(HERE, d, "session-server.json"), "w") as f:
        json.dump(v, f, indent=2, ensure_ascii=False); f.write("\n")

def split(path, first, n, **kw):
    s = {"path": path, **kw}
    if first: s["offset"] = first
    if n: s["limit"] = n
    return s

# recipe -> (its retrieve step, k) for session-server.json
SERVER_STEPS = {"paper-hotpotqa": ("search", 3), "paper-hover": ("search", 5)}

# ---- paper-hotpotqa: the paper's HotPotQA program on the official distractor file ----
HOT = "data/hotpot_dev_distractor_first.json"
write("paper-hotpotqa", session("paper-hotpotqa", [
  {"id": "hop", "type": "llm", "model": "task",
   "inputs": {"question": "input.question", "notes": "steps.search.rounds"},
   "prompt": "Write a search query that finds the next piece of information needed to answer "
             "the question.\n\nQuestion: {{question}}\n\nPassages found so far:\n{{notes}}\n\n"
             "Search query:",
   "description": "writes the next hop's search query"},
  {"id": "search", "type": "retrieve", "query": "{{steps.hop.output}}",
   "passages": "input.context", "k": 3,
   "description": "BM25 top 3 over the example's own 10 context paragraphs"},
  {"id": "answer", "type": "llm", "model": "task",
   "inputs": {"question": "input.question", "passages": "steps.search.rounds"},
   "prompt": "Answer the question from the passages with a short phrase (yes or no for a "
             "yes/no question).\n\nPassages:\n{{passages}}\n\nQuestion: {{question}}\n\nAnswer:",
   "description": "answers from both hops' passages"}],
  {"answer_field": "answer", "id_field": "_id", "train": split(HOT, 0, 20),
   "val": split(HOT, 20, 20), "test": split(HOT, 40, 0)},
  {"type": "hotpot_f1", "threshold": 0.5},
  loops=[{"id": "hops", "steps": ["hop", "search"], "max_rounds": 2}]),
  [{"match": r"(?s)Question: (?<q>[^\n]*).*Search query:\s*$", "reply": "${q}"},
   {"match": r"(?s)Passages:\n(?<t>[^:\n]+):.*Answer:\s*$", "reply": "${t}"}])

# ---- gsm8k: one step, the official test file as it is, numeric metric on "#### N" ----
GSM = "data/gsm8k_test.jsonl"
write("gsm8k", session("gsm8k", [
  {"id": "solve", "type": "llm", "model": "task", "inputs": {"problem": "input.question"},
   "prompt": "Solve the math word problem. Reason step by step, then end with a line "
             "\"Answer: N\" holding only the number.\n\nProblem: {{problem}}",
   "description": "reasons and ends with the number"}],
  {"train": split(GSM, 0, 200), "val": split(GSM, 200, 200), "test": split(GSM, 400, 0)},
  {"type": "numeric"}),
  # the stand-in answers with the problem's last number: right now and then, wrong mostly
  [{"match": r"(?s)Problem: .*\b(?<n>\d+)\D*$", "reply": "Answer: ${n}"}])

# ---- bbh-date-understanding: one BIG-Bench Hard task, {"examples": [...]} as published ----
BBH = "data/bbh/date_understanding.json"
write("bbh-date-understanding", session("bbh-date-understanding", [
  {"id": "reason", "type": "llm", "model": "task", "inputs": {"question": "input.input"},
   "prompt": "Answer the multiple-choice question. Think step by step, then finish with "
             "\"So the answer is (X).\"\n\n{{question}}",
   "description": "reasons and names one option"}],
  {"answer_field": "target", "train": split(BBH, 0, 50, key="examples"),
   "val": split(BBH, 50, 100, key="examples"), "test": split(BBH, 150, 0, key="examples")},
  {"type": "choice"}),
  [{"match": r"(?s)Options:\n\((?<o>[A-Z])\)", "reply": "So the answer is (${o})."}])

# ---- paper-hover: the paper's HoVer claim verification on the official dev file ----
HOV = "data/hover_dev_release_v1.1.json"
write("paper-hover", session("paper-hover", [
  {"id": "hop", "type": "llm", "model": "task",
   "inputs": {"claim": "input.claim", "notes": "steps.search.rounds"},
   "prompt": "Write a search query that finds Wikipedia evidence for or against the claim, "
             "about what the passages found so far do not cover.\n\nClaim: {{claim}}\n\n"
             "Passages found so far:\n{{notes}}\n\nSearch query:",
   "description": "writes the next hop's search query"},
  {"id": "search", "type": "retrieve", "query": "{{steps.hop.output}}",
   "corpus": "data/wiki_abstracts.jsonl", "k": 5,
   "description": "BM25 top 5 over Wikipedia abstracts"},
  {"id": "verify", "type": "llm", "model": "task",
   "inputs": {"claim": "input.claim", "passages": "steps.search.rounds"},
   "prompt": "Do the passages support the claim? Answer SUPPORTED or NOT_SUPPORTED.\n\n"
             "Passages:\n{{passages}}\n\nClaim: {{claim}}\n\nAnswer:",
   "description": "labels the claim from every hop's passages"}],
  {"answer_field": "label", "id_field": "uid", "train": split(HOV, 0, 100),
   "val": split(HOV, 100, 100), "test": split(HOV, 200, 300)},
  {"type": "choice", "labels": {"SUPPORTED": ["supported", "true"],
                                "NOT_SUPPORTED": ["not supported", "refuted", "false"]}},
  loops=[{"id": "hops", "steps": ["hop", "search"], "max_rounds": 3}]),
  [{"match": r"(?s)Claim: (?<c>[^\n]*).*Search query:\s*$", "reply": "${c}"},
   {"match": r"(?s)Answer SUPPORTED or NOT_SUPPORTED", "reply": "SUPPORTED"}])
