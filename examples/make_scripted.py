#!/usr/bin/env python3
"""Writes the data and the scripted-model rules (rules.json) of examples/chain5 and
examples/dialogue-loop.  The role rules match phrases of src/engine/roles/*.txt
(src/engine/roles/README.md lists them).  Delete session.cache.jsonl after changing a rule."""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))
def roles(summary, instruct):
    """Generic answers for E1..E6 plus per-step rewrite rules: instruct = {step: [prefix, ...]}"""
    R = [
     {"match": r"Describe the overall task the pipeline solves", "reply": "<summary>" + summary + "</summary>"},
     {"match": r"The step under analysis: \"(?<s>[^\"]+)\"", "reply": "<dependency>Step \"${s}\" must hand the next step exactly the information it needs, in the form it expects; missing information or extra words in its output carry through to the final output.</dependency>"},
     {"match": r"(?s)You are the loss function.*?<output>\n(?<o>.*?)\n</output>.*?<gold>\n(?<g>[^\n]*)", "reply": "<loss>The output \"${o}\" differs from the gold answer \"${g}\".</loss>"},
     {"match": r"Explain why the final output went wrong", "reply": "<gradient>An intermediate step dropped or distorted the information the final output needed, and the later steps carried the error through.</gradient>"},
     {"match": r"(?s)^(?=.*?You are assigning blame within)(?=.*?one step, \"(?<s>[^\"]+)\")(?=.*?<step_output>\n(?<o>.*?)\n</step_output>)", "reply": "<local>Step \"${s}\" produced \"${o}\", which lacks what the next step needs. Its output should keep the key information and follow the expected format exactly.</local>"},
     {"match": r"(?s)You are writing a training example.*?<step_output>\n(?<o>.*?)\n</step_output>", "reply": "<revised>${o}</revised>"},
    ]
    for step, prefixes in instruct.items():
        R.append({"match": r"(?s)improving the prompt of one step, \"" + step + r"\".*?<current_prompt>\n(?<p>.*?)\n</current_prompt>",
                  "reply": "\n".join("<prompt>" + p + "\n${p}</prompt>" for p in prefixes)})
    R.append({"match": r"(?s)improving the prompt of one step.*?<current_prompt>\n(?<p>.*?)\n</current_prompt>",
              "reply": "<prompt>Be precise and brief.\n${p}</prompt>"})
    return R

def wj(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

# ---------------- chain5 ----------------
os.chdir(os.path.join(HERE, "chain5"))
POS, NEG, NEU = "great|excellent|love|wonderful", "terrible|broken|awful|hate", "okay|fine|average"
reviews = [
 ("This   kettle is great and boils water fast.", "positive"),
 ("The lamp arrived broken and the seller ignored me.", "negative"),
 ("The chair is okay, nothing special about it.", "neutral"),
 ("I love these headphones, the sound is rich.", "positive"),
 ("Terrible blender, it leaks from the bottom.", "negative"),
 ("The backpack is fine for short trips.", "neutral"),
 ("An excellent   knife that stays sharp.", "positive"),
 ("The charger is awful and gets very hot.", "negative"),
 ("Average toaster, it toasts unevenly sometimes.", "neutral"),
 ("Wonderful rain jacket, kept me dry all day.", "positive"),
 ("I hate this keyboard, the keys stick.", "negative"),
 ("The mug is okay but smaller than pictured.", "neutral"),
 ("Great pillow, I sleep much better now.", "positive"),
 ("The umbrella was broken after one windy walk.", "negative"),
 ("A fine pair of socks for the price.", "neutral"),
 ("These boots are excellent on wet rocks.", "positive"),
 ("Awful printer, it jams on every page.", "negative"),
 ("The desk is average and wobbles a little.", "neutral"),
 ("I love this   tent, it sets up in minutes.", "positive"),
 ("The scale is terrible and never shows the same weight.", "negative"),
 ("The scarf is fine, warm enough.", "neutral"),
 ("A wonderful teapot that pours cleanly.", "positive"),
]
rows = [{"id": f"r{i+1:02d}", "review": r, "answer": a} for i, (r, a) in enumerate(reviews)]
wj("train.jsonl", rows[:12]); wj("val.jsonl", rows[12:18]); wj("test.jsonl", rows[18:])
W = r"(?<w>" + "|".join([POS, NEG, NEU]) + r")"
R = roles("Five steps classify the sentiment of a product review: \"clean\" (regex) collapses spaces, \"summarize\" (LLM) condenses the review, \"classify\" (LLM) names the sentiment from the summary alone, \"label\" (template) formats it and \"final\" (regex) extracts the label. The summary must keep the opinion words, or the classifier cannot see the sentiment; the classifier must answer with one word, or the extraction takes the wrong word.",
          {"summarize": ["Keep every opinion word of the review (such as great, broken or okay) in the summary."],
           "classify": ["Reply with one word: positive, negative or neutral.", "Consider the tone of the summary."]})
R += [
 {"match": r"(?s)^(?=.*?Review: )(?=.*?opinion word)(?=.*?Review: [^\n]*?\b" + W + r"\b)", "flags": "i", "reply": "The reviewer finds it ${w}."},
 {"match": r"(?s)^(?=.*?Review: [^\n]*?\b" + W + r"\b)", "flags": "i", "replies": ["The reviewer finds it ${w}.", "Overall the reviewer finds it ${w}.", "The review describes a household product."]},
]
for label, words in (("positive", POS), ("negative", NEG), ("neutral", NEU)):
    R.append({"match": r"(?s)^(?=.*?one word)(?=.*?Summary: [^\n]*?\b(?:" + words + r")\b[^\n]*\n+Sentiment:)", "flags": "i", "reply": label})
    R.append({"match": r"(?s)Summary: [^\n]*?\b(?:" + words + r")\b[^\n]*\n+Sentiment:", "flags": "i", "replies": [label, label, "I think the sentiment is " + label + "."]})
R.append({"match": r"(?s)^(?=.*?one word)(?=.*?Sentiment:)", "reply": "neutral"})
R.append({"match": r"Sentiment:", "replies": ["neutral", "It is hard to tell from this summary."]})
json.dump({"rules": R, "fallback": "I do not know."}, open("rules.json", "w"), indent=1)

# ---------------- dialogue-loop ----------------
os.chdir(os.path.join(HERE, "dialogue-loop"))
people = [
 ("Hi, where is my parcel?", 4471, "B"), ("My package has not arrived yet.", 5120, "D"),
 ("When will my order come?", 3308, "A"), ("Can you check my delivery?", 7712, "C"),
 ("Hello, my box is late.", 1984, "E"), ("Where is my order?", 6255, "B"),
 ("I am still waiting for my parcel.", 2047, "F"), ("Has my package shipped?", 8830, "A"),
 ("My delivery is missing.", 5561, "C"), ("Is my parcel on its way?", 9102, "D"),
 ("Hi, I need an update on my order.", 4419, "E"), ("When does my box arrive?", 3770, "F"),
 ("Where is my delivery?", 6021, "A"), ("My order is late, please help.", 1456, "B"),
 ("Any news about my package?", 7340, "C"), ("I have not received my parcel.", 2898, "D"),
]
rows = [{"id": f"d{i+1:02d}", "request": r, "profile": f"Order number: {o}. Zone: {z}.", "answer": f"order {o}, zone {z}"}
        for i, (r, o, z) in enumerate(people)]
wj("train.jsonl", rows[:8]); wj("val.jsonl", rows[8:13]); wj("test.jsonl", rows[13:])
R = roles("A support agent (LLM) talks with a simulated customer (frozen LLM) for up to four rounds until it writes FINAL: and the order number and delivery zone; a regex step extracts the answer. The agent has to ask for both facts; the customer only answers what is asked.",
          {"agent": ["Ask for the order number and the delivery zone in your first question.", "Be polite."]})
AG = r"(?s)^(?=.*?delivery support agent)"
HIST = r"(?=.*?What the customer told you so far:\n"
R += [
 {"match": AG + HIST + r"(?:.*?order is (?<o>\d+))(?:.*?zone (?<z>[A-F])\b))", "reply": "FINAL: order ${o}, zone ${z}"},
 {"match": AG + r"(?=.*?order number and the delivery zone)" + HIST + r".*?order is (?<o>\d+))", "reply": "Which delivery zone are you in?"},
 {"match": AG + HIST + r".*?order is (?<o>\d+))", "reply": "FINAL: order ${o}"},
 {"match": AG + r"(?=.*?order number and the delivery zone)", "reply": "What is your order number and your delivery zone?"},
 {"match": AG, "replies": ["What is your order number?", "How can I help you today?", "Could you tell me more?"]},
 {"match": r"(?s)^(?=.*?You are a customer)(?=.*?Order number: (?<o>\d+)\. Zone: (?<z>[A-F])\.)(?=.*?The agent said: [^\n]*order number and[^\n]*zone)", "reply": "My order is ${o} and I am in zone ${z}."},
 {"match": r"(?s)^(?=.*?You are a customer)(?=.*?Order number: (?<o>\d+)\.)(?=.*?The agent said: [^\n]*order number)", "reply": "My order is ${o}."},
 {"match": r"(?s)^(?=.*?You are a customer)(?=.*?Zone: (?<z>[A-F])\.)(?=.*?The agent said: [^\n]*zone)", "reply": "I am in zone ${z}."},
 {"match": r"You are a customer", "reply": "I just want to know when my parcel arrives."},
]
json.dump({"rules": R, "fallback": "I do not know."}, open("rules.json", "w"), indent=1)
