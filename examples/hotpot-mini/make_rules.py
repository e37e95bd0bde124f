#!/usr/bin/env python3
"""Writes rules.json, the scripted model of the hotpot-mini example (task model and role model).
The role rules match phrases of src/engine/roles/*.txt; see README.md here."""
import os
os.chdir(os.path.dirname(os.path.abspath(__file__)))
import json
ENT = r"(?<e>[A-Z][a-z]+(?: [A-Z][a-z]+)+)"
CHAIN = (r"(?=.*?Question: [^\n]*?" + ENT + r")"
         r"(?=.*?\k<e>[^.\n]*? (?:made by|written by|stands in) (?<b>[A-Z][^.\n]*)\.)"
         r"(?=.*?\k<b>[^.\n]*? (?:was founded by|was born in|lies on the) (?<a>[A-Z][^.,\n]*))")
R = []
def rule(match, reply=None, replies=None, note=None):
    r = {"match": match}
    if reply is not None: r["reply"] = reply
    if replies is not None: r["replies"] = replies
    R.append(r)

# ---- analysis roles (they quote the step prompts, so they come first) ----
rule(r"Describe the overall task the pipeline solves",
 "<summary>The pipeline answers two-hop factual questions (who founded the maker of a product, where the author of a novel was born, which river flows through the town of a monument). "
 "1. \"query\" (LLM) turns the question into a search query. 2. \"retrieve\" (BM25, top 2) fetches passages from the corpus with that query. "
 "3. \"answer\" (LLM) reads the passages and the question and writes the final answer, scored by token F1 against a short gold entity. "
 "The final answer depends on both LLM steps: a query that misses the question's named entity retrieves unrelated passages, and an answer that adds explanation around the entity loses F1.</summary>")
rule(r"The step under analysis: \"query\"",
 "<dependency>Duty: produce a search query that makes BM25 return the two passages about the named entity in the question (the product, novel or monument). "
 "Relation: its output is the only input of \"retrieve\"; the passages it yields are all \"answer\" can use. "
 "Sensitivity: a query that contains the entity's full name finds both passages; generic words (\"background information\") match nothing specific and the answer step then has no evidence. Extra words are mostly harmless, a missing entity is fatal.</dependency>")
rule(r"The step under analysis: \"answer\"",
 "<dependency>Duty: read the passages, follow the chain from the question's entity to the bridge entity to the answer, and output the answer entity. "
 "Relation: its output is the final output, scored by token F1 against a short gold name. "
 "Sensitivity: the right entity alone scores 1; the same entity inside an explanatory sentence scores about 0.2 because every extra token lowers precision; a refusal scores 0.</dependency>")
rule(r"(?s)You are the loss function.*?<output>\n(?<o>Based on[^\n]*)\n</output>.*?<gold>\n(?<g>[^\n]*)",
 "<loss>The output \"${o}\" contains the gold answer \"${g}\" but surrounds it with a sentence of explanation; under token F1 every extra word lowers precision, so most of the score is lost.</loss>")
rule(r"(?s)You are the loss function.*?<output>\n(?<o>.*?)\n</output>.*?<gold>\n(?<g>[^\n]*)",
 "<loss>The output \"${o}\" does not contain the gold answer \"${g}\" at all: the expected entity is missing.</loss>")
rule(r"(?s)^(?=.*?Explain why the final output went wrong)(?=.*?<output>\nBased on)",
 "<gradient>The answer step found the right entity in the retrieved passages but returned it inside a full sentence of explanation (\"Based on the passages, I believe the answer is ...\"), so most tokens of the final output are not in the gold answer.</gradient>")
rule(r"Explain why the final output went wrong",
 "<gradient>The passages returned by the retrieve step do not link the entity of the question to the answer: the search query did not name the entity the question is about, so retrieval returned passages about other subjects, and the answer step had nothing to answer from.</gradient>")
rule(r"(?s)^(?=.*?You are assigning blame within)(?=.*?one step, \"query\")(?=.*?did not name the entity)(?=.*?<step_output>\n(?<o>.*?)\n</step_output>)",
 "<local>The query \"${o}\" does not contain the named entity of the question, so BM25 could not find the passages about it. The query should be the key entity named in the question, its full name, and nothing else.</local>")
rule(r"(?s)^(?=.*?You are assigning blame within)(?=.*?one step, \"query\")",
 "<local>This step is not at fault. The query named the entity and retrieval found the passages about it.</local>")
rule(r"(?s)^(?=.*?You are assigning blame within)(?=.*?one step, \"answer\")(?=.*?inside a full sentence)",
 "<local>The answer names the right entity but wraps it in an explanation (\"Based on the passages, I believe the answer is ...\"). The output should be only the entity name, with no sentence around it.</local>")
rule(r"(?s)^(?=.*?You are assigning blame within)(?=.*?one step, \"answer\")",
 "<local>This step is not at fault: the passages it received do not contain the answer, so declining was reasonable.</local>")
rule(r"(?s)^(?=.*?You are writing a training example)(?=.*?not at fault)(?=.*?<step_output>\n(?<o>.*?)\n</step_output>)",
 "<revised>${o}</revised>")
rule(r"(?s)^(?=.*?You are writing a training example for one step, \"query\")(?=.*?<step_input>\n.*?question: [^\n]*?" + ENT + r")",
 "<revised>${e}</revised>")
rule(r"(?s)^(?=.*?You are writing a training example for one step, \"answer\")(?=.*?<step_output>\n[^\n]*?the answer is (?<a>.+?), because)",
 "<revised>${a}</revised>")
rule(r"(?s)You are writing a training example.*?<step_output>\n(?<o>.*?)\n</step_output>",
 "<revised>${o}</revised>")
rule(r"(?s)improving the prompt of one step, \"query\".*?<current_prompt>\n(?<p>.*?)\n</current_prompt>",
 "Two versions.\n<prompt>Name the key entity of the question in the query: write only its full name, no other words.\n${p}</prompt>\n"
 "<prompt>Think about what you would type into a search engine.\n${p}</prompt>")
rule(r"(?s)improving the prompt of one step, \"answer\".*?<current_prompt>\n(?<p>.*?)\n</current_prompt>",
 "<prompt>Answer with only the entity name, no explanation.\n${p}</prompt>\n"
 "<prompt>Read every passage carefully before you answer.\n${p}</prompt>")
rule(r"(?s)improving the prompt of one step, \"[^\"]*\".*?<current_prompt>\n(?<p>.*?)\n</current_prompt>",
 "<prompt>Follow the instructions exactly and keep the output short.\n${p}</prompt>")

# ---- the task model (answer before query: passages may contain any words) ----
rule(r"(?s)^(?=.*?\nPassages:\n)(?=.*?(?:Answer with only|Examples of good answers:))" + CHAIN, "${a}")
rule(r"(?s)^(?=.*?\nPassages:\n)" + CHAIN,
 "Based on the passages, I believe the answer is ${a}, because ${b} is linked to the ${e} in the text.")
rule(r"\nPassages:\n", "The passages do not say, so I cannot answer this question with confidence.")
rule(r"(?s)^(?=.*?search query)(?=.*?(?:key entity|Examples of good answers:))(?=.*?Question: [^\n]*?" + ENT + r")", "${e}")
rule(r"(?s)^(?=.*?search query)(?=.*?Question: [^\n]*?" + ENT + r")",
 replies=["${e}", "${e} facts", "general background information", "facts needed to answer this"])
doc = {"rules": R, "fallback": "I do not know."}
open("rules.json", "w").write(json.dumps(doc, indent=1) + "\n")
print(len(R))
