"""PyTorch CPU reference for bench/model-train.bench.ts: the same Llama-style decoder (RMSNorm, RoPE, SwiGLU, untied
head) and the same AdamW train step on random tokens; prints one JSON line {"ms_per_step": ..., "threads": ...}."""
import json, math, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

cfg = json.loads(sys.argv[1])
V, D, L, H, FF, T, B = cfg["vocab"], cfg["dim"], cfg["layers"], cfg["heads"], cfg["ffn"], cfg["seq"], cfg["batch"]
steps, warmup = cfg.get("steps", 5), cfg.get("warmup", 2)
if cfg.get("threads"):  # intra-op threads (the caller also sets OPENBLAS_NUM_THREADS / OMP_NUM_THREADS to match)
    torch.set_num_threads(int(cfg["threads"]))
torch.manual_seed(0)
hd = D // H

class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__(); self.w = nn.Parameter(torch.ones(d))
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.w

inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
ang = torch.arange(T).float()[:, None] * inv[None]
cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
def rope(x):
    x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = RMSNorm(D), RMSNorm(D)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D, bias=False) for _ in range(4))
        self.g, self.u, self.d = nn.Linear(D, FF, bias=False), nn.Linear(D, FF, bias=False), nn.Linear(FF, D, bias=False)
    def forward(self, x, mask):
        h = self.n1(x)
        q, k, v = (m(h).view(B, T, H, hd).transpose(1, 2) for m in (self.q, self.k, self.v))
        q, k = rope(q), rope(k)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
        o = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.o(o)
        h = self.n2(x)
        return x + self.d(F.silu(self.g(h)) * self.u(h))

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, D); self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.norm = RMSNorm(D); self.head = nn.Linear(D, V, bias=False)
    def forward(self, ids, mask):
        x = self.emb(ids)
        for b in self.blocks: x = b(x, mask)
        return self.head(self.norm(x))

model = Model()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
ids = torch.randint(0, V, (B, T))
mask = torch.full((T, T), float("-inf")).triu(1)
def step():
    logits = model(ids, mask)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
    opt.zero_grad(); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
for _ in range(warmup): step()
times = []
for _ in range(steps):
    t = time.perf_counter(); step(); times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({"ms_per_step": times[len(times) // 2], "threads": torch.get_num_threads(), "torch": torch.__version__,
                  "params": sum(p.numel() for p in model.parameters())}))
