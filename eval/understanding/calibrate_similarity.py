import numpy as np, re
from eval.understanding.score import load
from assistant import understand as U
from assistant.embeddings import embed
items, now = load('dev')
protos = U._prototype_vectors()
lex=U._lexicon()
rows=[]  # per item: per fact: list of (s1, v1, s2) per clause
for it in items:
    text=U._blank_html(it['question'][:4000])
    skip=U._injected_spans(text)
    norm=U._Norm(text); clauses=U._clauses(norm.text)
    cands=[]
    for ca,cb in clauses:
        c=norm.text[ca:cb]
        if U._is_mention_clause(c) or len(c.split())<4 or norm.text[cb:cb+2]==" ?": continue
        if U._cue_before(c, list(lex["negation_cues"])+["n't"]+list(lex["hedge_cues"]),60): continue
        sp=norm.span(ca,cb); cands.append(text[sp[0]:sp[1]])
    vec=embed(cands) if cands else None
    best={}
    for f in U.PROTOTYPES:
        b=None
        for i in range(len(cands)):
            sc=sorted(((float(np.max(p@vec[i])),v) for v,p in protos[f].items()),reverse=True)
            if b is None or sc[0][0]>b[0]: b=(sc[0][0],sc[0][1],sc[0][0]-sc[1][0])
        best[f]=b
    rows.append((it,best))
for T in (0.45,0.5,0.55,0.6,0.65,0.7):
  for M in (0.05,0.1,0.15):
    tp=fp=fn=0
    for it,best in rows:
        for f,b in best.items():
            gold=(it['facts'] or {}).get(f)
            if b and b[0]>=T and b[2]>=M:
                if gold==b[1]: tp+=1
                else: fp+=1
            elif gold is not None: fn+=1
    print(T,M,'tp',tp,'fp',fp,'fn',fn, 'P=%.2f'%(tp/(tp+fp) if tp+fp else 1))
