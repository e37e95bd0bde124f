#!/usr/bin/env python3
"""Writes train/val/test.jsonl and corpus.jsonl of the hotpot-mini example: invented two-hop
questions (product -> maker -> founder, novel -> author -> birthplace, monument -> town -> river).
Six questions are hard: their first passage uses another verb, so the scripted model cannot chain them."""
import os
os.chdir(os.path.dirname(os.path.abspath(__file__)))
import json
# (type, entity, bridge, answer, hard)
T1 = [  # product -> maker -> founder
 ("Orvane Glider","Kestrel Aeronautics","Mira Halden"),
 ("Tessaly Loom","Brackwell Textiles","Oren Castell"),
 ("Quillon Lantern","Fenmore Lightworks","Ada Ruskin"),
 ("Marrow Kettle","Hollin Ironware","Tobias Wren"),
 ("Vesper Bicycle","Calder Cycles","Ines Morrow"),
 ("Drummel Radio","Pellish Electric","Hugo Varn"),
 ("Sorrel Typewriter","Anvik Machines","Lena Sturr"),
 ("Cobalt Skiff","Merrow Boatworks","Piet Hallam"),
 ("Ember Stove","Dunmore Foundry","Clara Osk"),
 ("Lumen Camera","Ostrava Optics","Felix Brandt"),
 ("Harrow Tractor","Greyfield Motors","Nell Tamsin"),
 ("Pilgrim Compass","Wexley Instruments","Jonas Ferrier"),
 ("Tundra Boot","Skarn Outfitters","Ruth Calloway"),
 ("Aster Piano","Bellmont Keys","Ivo Delacorte"),
 ("Corvid Drone","Nightjar Robotics","Sana Petrov"),
 ("Willow Pen","Inkwell Goods","Marta Lisle"),
 ("Gannet Kayak","Tidewell Craft","Ezra Holm"),
]
T2 = [  # novel -> author -> birthplace
 ("The Glass Orchard","Brenna Vost","Caddis Bay"),
 ("The Salt Clock","Anton Berrow","Marlow Point"),
 ("The Winter Ledger","Cecily Harn","Ostby"),
 ("The Paper Harbour","Dorian Pike","Kelmsford"),
 ("The Quiet Furnace","Edda Lorne","Brask"),
 ("The Iron Meadow","Fabian Colt","Tarrow Hill"),
 ("The Lantern Road","Greta Sallow","Vinmouth"),
 ("The Hollow Crown","Henrik Dahl","Pellan"),
 ("The Copper Sea","Isolde Marsh","Grenwick"),
 ("The Ninth Bell","Jasper Quill","Ardmore"),
 ("The Amber Field","Karin Solberg","Lusk"),
 ("The Stone Choir","Leon Ashby","Wyndham Cross"),
 ("The Velvet Map","Mirela Dusk","Orrin"),
 ("The Silent Loom","Nils Rendel","Harwick"),
 ("The Broken Compass","Odile Fane","Saltmere"),
 ("The Morning Engine","Pavel Strom","Kettering Vale"),
 ("The Sunken Garden","Rosa Inglis","Belmouth"),
]
T3 = [  # monument -> town -> river
 ("Sable Beacon","Lornholm","Wenna River"),
 ("Gilded Arch","Parrow","Tessel River"),
 ("Crane Tower","Hallam Ford","Idle River"),
 ("Marble Fountain","Esk Haven","Coln River"),
 ("Whistling Bridge","Dunbury","Avel River"),
 ("Granite Lion","Stavemouth","Rhee River"),
 ("Copper Dome","Ketterby","Lune River"),
 ("Raven Gate","Ormsby","Dove River"),
 ("Hollow Spire","Wrenfield","Teme River"),
 ("Iron Obelisk","Carrick","Nidd River"),
 ("Pale Lighthouse","Sorrowby","Wharfe River"),
 ("Amber Cross","Fellmouth","Brue River"),
 ("Sunken Chapel","Mirkwell","Otter River"),
 ("Jade Pagoda","Tillbury","Frome River"),
 ("Storm Clock","Ashcombe","Yeo River"),
 ("Winter Column","Redmarch","Kennet River"),
]
qs = []
docs = []
for i,(e,b,a) in enumerate(T1):
    hard = i in (5, 12)
    qs.append((f"Who founded the company that makes the {e}?", a))
    verb = "built under licence by" if hard else "made by"
    docs.append(f"The {e} is a well known product {verb} {b}.")
    docs.append(f"{b}, the maker of the {e}, was founded by {a}, an engineer and trader.")
for i,(e,b,a) in enumerate(T2):
    hard = i in (4, 13)
    qs.append((f"In which city was the author of {e} born?", a))
    verb = "penned long ago by" if hard else "written by"
    docs.append(f"{e} is a novel {verb} {b}.")
    docs.append(f"{b}, author of {e}, was born in {a}, where the family kept a bakery.")
for i,(e,b,a) in enumerate(T3):
    hard = i in (3, 10)
    qs.append((f"Which river flows through the town where the {e} stands?", a))
    verb = "located near" if hard else "stands in"
    docs.append(f"The {e} is an old monument that {verb} {b}.")
    docs.append(f"{b}, home of the {e}, lies on the {a}, which floods in spring.")
# a few distractors
docs += [
 "Founders of companies are often engineers; many firms were founded by families.",
 "A novel is a long work of fiction; many authors were born in small towns.",
 "Rivers flow through towns and cities; monuments often stand near them.",
]
# interleave types for splits
order = []
for k in range(17):
    for T in (0,1,2):
        idx = [0,17,34][T] + k
        if idx < len(qs) and (T < 2 or k < 16):
            order.append(idx)
rows = [{"id": f"h{j+1:02d}", "question": qs[i][0], "answer": qs[i][1]} for j,i in enumerate(order)]
train, val, test = rows[:30], rows[30:42], rows[42:50]
def wj(path, rs):
    with open(path,"w") as f:
        for r in rs: f.write(json.dumps(r)+"\n")
wj("train.jsonl", train); wj("val.jsonl", val); wj("test.jsonl", test)
with open("corpus.jsonl","w") as f:
    for d in docs: f.write(json.dumps({"text": d})+"\n")
print(len(rows), len(train), len(val), len(test), len(docs))
