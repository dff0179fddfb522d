"""Independent Python reference of the ReSearch reward and FlashRAG em/f1/acc, written from the issue's spec.

Used only by the parity tests: Python's own `re` (Unicode \\b), `str.split()`, `str.lower()`,
`string.punctuation` and slicing define the exact semantics the TypeScript port must match.
Reads one JSON object on stdin: {"normalize": [s], "metrics": [[pred, golds]], "reward": [[solution, golds, eos]]}
and writes the same keys with results on stdout.
"""
import json
import re
import string
import sys
from collections import Counter

PUNCT = set(string.punctuation)


def normalize(s):
    s = s.lower()
    s = "".join(c for c in s if c not in PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1(pred, golds):
    if isinstance(golds, str):
        golds = [golds]
    best = 0.0
    p = normalize(pred)
    for g in golds:
        g = normalize(g)
        if (p in ("yes", "no", "noanswer") or g in ("yes", "no", "noanswer")) and p != g:
            continue
        pt, gt = p.split(), g.split()
        same = sum((Counter(pt) & Counter(gt)).values())
        if same == 0:
            continue
        prec, rec = same / len(pt), same / len(gt)
        best = max(best, 2 * prec * rec / (prec + rec))
    return best


def em(pred, golds):
    golds = [golds] if isinstance(golds, str) else golds
    return 1.0 if any(normalize(g) == normalize(pred) for g in golds) else 0.0


def acc(pred, golds):
    golds = [golds] if isinstance(golds, str) else golds
    return 1.0 if any(normalize(g) in normalize(pred) for g in golds) else 0.0


def format_ok(r):
    if r.count("<think>") != r.count("</think>") or r.count("<think>") == 0:
        return False
    if r.count("<answer>") != 1 or r.count("</answer>") != 1:
        return False
    cur = 0
    while (s := r.find("<search>", cur)) != -1:
        res = r.find("<result>", s)
        se = r.find("</search>", s)
        re_ = r.find("</result>", res)
        if -1 in (res, se, re_) or not (s < se < res < re_):
            return False
        cur = re_
    a, b = r.find("<answer>"), r.find("</answer>")
    if a > b:
        return False
    span = r[a:b]
    return "\\boxed{" in span and "}" in span


def boxed_content(span):
    """Last \\boxed with balanced braces, stripped; raises like the original on anything else."""
    if "\\boxed " in span:
        return span.split("\\boxed ")[-1].split("$")[0]
    i = span.rfind("\\boxed")
    if i < 0:
        i = span.rfind("\\fbox")
        if i < 0:
            raise ValueError("no box")
    depth, end = 0, None
    for j in range(i, len(span)):
        if span[j] == "{":
            depth += 1
        if span[j] == "}":
            depth -= 1
            if depth == 0:
                end = j
                break
    if end is None:
        raise ValueError("unbalanced")
    s = span[i:end + 1]
    if not s.startswith("\\boxed{"):
        raise ValueError("not boxed")
    return s[len("\\boxed{"):-1]


def reward(solution, golds, eos):
    sep = "<|im_start|>assistant\n" if "<|im_start|>assistant\n" in solution else "Assistant:"
    parts = solution.split(sep)
    if len(parts) < 2:
        return 0.0, None
    r = parts[1]
    if not format_ok(r):
        return 0.0, None
    if not r.endswith(eos):
        return 0.0, None
    r = r[:-len(eos)]
    m = re.search(r"<answer>(.*?)</answer>", r.strip(), re.DOTALL)
    if not m:
        return 0.0, None
    try:
        pred = boxed_content(m.group(1))
    except ValueError:
        return 0.0, None
    score = f1(pred, golds)
    return (score if score > 0 else 0.1), pred


def main():
    req = json.load(sys.stdin)
    out = {
        "normalize": [normalize(s) for s in req.get("normalize", [])],
        "metrics": [{"em": em(p, g), "f1": f1(p, g), "acc": acc(p, g)} for p, g in req.get("metrics", [])],
        "reward": [dict(zip(("reward", "prediction"), reward(*x))) for x in req.get("reward", [])],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
