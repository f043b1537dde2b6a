# Writes the carry-chain stress set of the package documentation: 5-digit
# sums with long carry chains, as a trm-dataset/v1 file for trm eval --data.
#   python3 checkpoints/carry_set.py > carry.jsonl && trm eval --data carry.jsonl
import json, random, sys
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
D = 5
rows = []
def enc(a, b):
    s = a + b
    da = [int(c) for c in str(a)[::-1]] + [0] * (D - len(str(a)))
    db = [int(c) for c in str(b)[::-1]] + [0] * (D - len(str(b)))
    ds = [int(c) for c in str(s)[::-1]] + [0] * (D + 1 - len(str(s)))
    inp = [d + 2 for d in da] + [d + 2 for d in db] + [1] * (D + 1)
    lab = [-100] * (2 * D) + [d + 2 for d in ds]
    return {"text": f"{a} + {b}", "answer": str(s), "puzzle_id": 0, "input": inp, "label": lab}
n = 0
while len(rows) < 2000:
    start = random.randint(0, 1)          # digit that produces the carry
    chain = random.randint(3, D - start)  # digits that propagate it
    a = [random.randint(0, 9) for _ in range(D)]
    b = [random.randint(0, 9) for _ in range(D)]
    s = random.randint(10, 18)
    a[start] = random.randint(s - 9, 9); b[start] = s - a[start]
    for i in range(start + 1, min(D, start + 1 + chain)):
        a[i] = random.randint(0, 9); b[i] = 9 - a[i]
    A = int("".join(map(str, a[::-1]))); B = int("".join(map(str, b[::-1])))
    rows.append(enc(A, B))
for k in range(1, D + 1):
    for j in range(1, 10):
        rows.append(enc(10**k - 1, j)); rows.append(enc(j, 10**k - 1))
hdr = {"format": "trm-dataset/v1", "task": "arith", "task_options": {"digits": "5"}, "split": "test", "seed": 0,
       "first": 0, "n": len(rows), "vocab_size": 12, "seq_len": 16, "num_puzzle_identifiers": 1}
print(json.dumps(hdr))
for r in rows:
    print(json.dumps(r))
