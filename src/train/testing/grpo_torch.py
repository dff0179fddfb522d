"""PyTorch reference for train/grpo.ts, written after verl's core_algos (compute_grpo_outcome_advantage,
compute_policy_loss, kl_penalty "low_var_kl", agg_loss): reads a JSON batch on stdin, prints the loss parts and the
gradients w.r.t. log_prob and entropy as JSON. Used by grpo-torch.test.ts when torch is installed."""
import json, sys
import torch

x = json.load(sys.stdin)
dt = torch.float64
log_prob = torch.tensor(x["logp"], dtype=dt, requires_grad=True)
entropy = torch.tensor(x["entropy"], dtype=dt, requires_grad=True)
old_log_prob = torch.tensor(x["oldLogp"], dtype=dt)
ref_log_prob = torch.tensor(x["refLogp"], dtype=dt)
mask = torch.tensor(x["lossMask"], dtype=dt)
rewards = torch.tensor(x["rewards"], dtype=dt)
G, eps, clip, kl_coef, ent_coef, mode = x["groupSize"], x["advEps"], x["clipRatio"], x["klCoef"], x["entropyCoef"], x["lossAgg"]

# GRPO outcome advantage: per group (r - mean) / (std + eps), torch.std (Bessel), broadcast over tokens
scores = rewards.clone().view(-1, G)
adv = ((scores - scores.mean(-1, keepdim=True)) / (scores.std(-1, keepdim=True) + eps)).view(-1)
advantages = adv.unsqueeze(-1) * mask

def agg_loss(loss_mat, loss_mask, loss_agg_mode):
    if loss_agg_mode == "token-mean":
        return (loss_mat * loss_mask).sum() / loss_mask.sum()
    if loss_agg_mode == "seq-mean-token-sum":
        return (loss_mat * loss_mask).sum(-1).mean()
    if loss_agg_mode == "seq-mean-token-mean":
        return ((loss_mat * loss_mask).sum(-1) / loss_mask.sum(-1).clamp(min=1)).mean()
    raise ValueError(loss_agg_mode)

negative_approx_kl = log_prob - old_log_prob
ratio = torch.exp(negative_approx_kl)
ppo_kl = agg_loss(-negative_approx_kl, mask, "token-mean")
pg_losses1 = -advantages * ratio
pg_losses2 = -advantages * torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
pg_loss = agg_loss(torch.maximum(pg_losses1, pg_losses2), mask, mode)
pg_clipfrac = agg_loss(torch.gt(pg_losses2, pg_losses1).to(dt), mask, "token-mean")
kl = torch.clamp(ref_log_prob - log_prob, min=-20, max=20)
kld = torch.clamp(torch.exp(kl) - kl - 1, min=-10, max=10)
kl_loss = agg_loss(kld, mask, mode)
entropy_loss = agg_loss(entropy, mask, mode)
policy_loss = pg_loss - ent_coef * entropy_loss + kl_coef * kl_loss
policy_loss.backward()
print(json.dumps({
    "advantages": adv.tolist(), "loss": policy_loss.item(), "pgLoss": pg_loss.item(), "kl": kl_loss.item(),
    "entropy": entropy_loss.item(), "clipFrac": pg_clipfrac.item(), "approxKl": ppo_kl.item(),
    "gradLogp": log_prob.grad.tolist(), "gradEntropy": entropy.grad.tolist(),
}))
