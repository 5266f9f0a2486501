"""Record #89's GPT against speedgpt's FrontierGPT, weight for weight, in float32.

    python bench/record89_parity.py --reference DIR [--device cpu|cuda] [--size full|tiny] [--grads]

DIR holds modded-nanogpt's train_gpt.py, triton_kernels.py and dc_triton_kernels.py at record #89. The script
executes only the model section of train_gpt.py (from `def norm` up to the data loader: Yarn, CausalSelfAttention,
build_prefix_table, ForwardScheduleConfig, GPT), never its training code, and builds #89's GPT with its own
__init__. What a CPU lacks, or what would make a float32 comparison meaningless, is stood in:

  * FlashAttention-3 (`kernels.get_kernel`): speedgpt.attention.attention_reference, the dense masked softmax of
    02_attention (same window rule: key j visible from query i iff same document and 0 <= i - j <= window).
  * triton_kernels.FusedSoftcappedCrossEntropy: the plain float32 loss written below (23 sigmoid((z + 5) / 7.5)
    logits, the MTP and prefix-token terms as the CUDA kernel sums them), without the FP8 head matmul.
  * triton_kernels.FusedLinearReLUSquareFunction: relu(x W1^T)^2 W2 in float32; DISABLE_FP8=1, so neither the
    FP8 MLP nor the FP8 head runs (both are approximations by design; 04a_fp8_mlp tests the FP8 MLP).
  * dc_triton_kernels' DC-MHA correction: base + speedgpt.attention.dc_post_correction_reference. FrontierGPT
    uses speedgpt's blocked dc_post_correction, so the DC layer compares our two DC implementations under #89's
    weights and gating, not #89's Triton kernel (02_attention ties the correction to DC-MHA's definition).
  * tiktoken.get_encoding("gpt2"): speedgpt's offline GPT-2 tokenizer, so #89's build_prefix_table runs on the
    same vocabulary (its table is compared with speedgpt's).
  * torch.cuda device queries (the SM count only sizes an FP8 scratch buffer), dist.get_world_size (8, so the
    banks get #89's padding to 8 ranks), the `args` globals (bigram table size and width, sign rows).
  * Three source edits, each asserted to match exactly where expected: the RoPE tables are kept in float32 (#89
    stores them in bf16); the per-sublayer lambdas are cast to the model's dtype in forward (#89 writes
    .bfloat16(): the same for its bf16 model, float32 here); the key offset's in-place shift
    `k[:, 1:, :, h:] = k[:, :-1, :, h:]` copies from a clone of its source: the two slices overlap, and torch's CPU
    copy, running front to back, would give every token key 0's stationary half (the GPU kernel reads before the
    writes land, which is the shift the record means).

Both models get the same weights: #89's init, then every parameter perturbed (seeded) so that no path is
switched off by a zero init (MUDD and gate second matrices, c_proj, DC w2, bigram and smear gates), copied
across by name (minus #89's padding rows). Inputs: random tokens in several documents. Printed: eval loss (mean
next-token cross-entropy) and training loss (summed MTP + prefix-token losses) of both, at two schedule points
(stage 1 windows and weights; stage 3 after a YaRN extension), and their differences. Exit code 1 if the eval
difference or the training difference per token exceeds 1e-4 (or, with --grads, a gradient differs by more than
1e-4 relative to its largest entry).
"""
import argparse, math, os, sys, time, types
from dataclasses import dataclass, replace
from pathlib import Path
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from speedgpt.attention import attention_reference, dc_post_correction_reference, random_cu_seqlens
from speedgpt.config import ModelConfig, ConfigError, preset
from speedgpt.data import bigram_hash, get_tokenizer
from speedgpt.frontier import FrontierGPT, RECORD89_LAYOUT, XSA_LAYERS
from speedgpt.model import ForwardArgs

SIZES = {  # model_dim, head_dim, vocab, bigram rows, bigram width, sign rows
    "full": dict(model_dim=768, head_dim=128, vocab_size=50257, bigram_rows=50304 * 15 // 2, bigram_dim=768, sign_rows=8192),
    "tiny": dict(model_dim=96, head_dim=16, vocab_size=1000, bigram_rows=2000, bigram_dim=48, sign_rows=64),
}
WORLD_SIZE = 8                                  # #89 pads its banks for 8 ranks


# ---- stand-ins ---------------------------------------------------------------------------------------------------
def flash_attn_varlen_stand_in(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, causal, softmax_scale,
                               window_size):
    assert causal and window_size[1] == 0 and torch.equal(cu_seqlens_q, cu_seqlens_k)
    return attention_reference(q, k, v, cu_seqlens_q, max_seqlen_q, window_size[0], softmax_scale).contiguous()

def get_kernel_stand_in(name, version=None):
    assert name == "kernels-community/flash-attn3", name
    return types.SimpleNamespace(flash_attn_interface=types.SimpleNamespace(flash_attn_varlen_func=flash_attn_varlen_stand_in))

class SoftcappedCrossEntropyStandIn:
    "Per-row losses of the fused kernel in float32: sum_k w_k CE(row i, target i+k) + w' CE(row i, prefix target i)."
    @staticmethod
    def apply(x, targets, mtp_weights, prefix_targets, prefix_weight, w, x_s, w_s, grad_s, grad_scale, A=23.0, B=5.0, C=7.5):
        z = A * torch.sigmoid((x.float() @ w.float() + B) / C)            # (N, V)
        neg_logp = -torch.log_softmax(z, dim=-1)
        N, V = z.shape
        rows = torch.arange(N, device=z.device)
        losses = torch.zeros(N, device=z.device)
        for k in range(mtp_weights.numel()):                               # row i scores target i + k while i + k < N
            term = mtp_weights[k] * neg_logp[rows[: N - k], targets[k:]]
            losses = losses + torch.cat([term, term.new_zeros(k)])
        valid = (prefix_targets >= 0) & (prefix_targets < V)
        prefix = neg_logp[rows, prefix_targets.clamp(0, V - 1)]
        return losses + torch.where(valid, prefix_weight.reshape(()) * prefix, torch.zeros_like(prefix))

def relu2_mlp_stand_in(x, c_fc, c_proj):
    return F.relu(x @ c_fc.T).square() @ c_proj

def dc_correction_stand_in(base, q, k, v, dc_weights, softmax_lse, scaling, window, seq_lens):
    assert softmax_lse is None and q.size(0) == 1
    w1, w2 = dc_weights                                                    # (1, T, H) each
    return base + dc_post_correction_reference(q[0], k[0], v[0], w1[0], w2[0], seq_lens, scaling, window)


# ---- #89's model section, executed -----------------------------------------------------------------------------
def load_reference(directory: Path, device: torch.device, size: dict) -> dict:
    "Execute the model section of #89's train_gpt.py with the stand-ins; returns its namespace."
    for name in ("train_gpt.py", "triton_kernels.py", "dc_triton_kernels.py"):
        if not (directory / name).is_file(): sys.exit(f"--reference {directory}: {name} is missing (record #89's files)")
    src = (directory / "train_gpt.py").read_text()
    start, end = src.index("def norm(x: Tensor):"), src.index("# Distributed data loader")
    section = src[start:end]
    yarn_start, yarn_end = section.index("class Yarn(nn.Module):"), section.index("@dataclass(slots=True)\nclass AttnArgs")
    yarn = section[yarn_start:yarn_end]
    edits = [  # (text, replacement, occurrences, where)
        (".to(torch.bfloat16)", "", 4, "yarn"),                                       # RoPE tables in float32
        (".bfloat16().unbind(0)", ".to(self.embed.weight.dtype).unbind(0)", 4, "section"),  # lambdas in the model's dtype
        ("torch.cuda.get_device_properties(torch.cuda.current_device()).multi_processor_count", "132", 1, "section"),
        # the key offset is an in-place copy between overlapping slices; torch's CPU copy runs front to back and
        # smears key 0 over the whole sequence, so the source is copied first (what the shift means, and what the GPU gives)
        ("k[:, 1:, :, self.head_dim // 2:] = k[:, :-1, :, self.head_dim // 2:]",
         "k[:, 1:, :, self.head_dim // 2:] = k[:, :-1, :, self.head_dim // 2:].clone()", 1, "section"),
    ]
    for old, new, count, where in edits:
        text = yarn if where == "yarn" else section
        found = text.count(old)
        if found != count: sys.exit(f"reference patch anchor {old!r} found {found} times in {where}, expected {count}: "
                                    "is DIR record #89's train_gpt.py?")
        if where == "yarn":
            yarn = yarn.replace(old, new)
            section = section[:yarn_start] + yarn + section[yarn_end:]
            yarn_end = yarn_start + len(yarn)
        else: section = section.replace(old, new)
    first_line = src[:start].count("\n")
    args = types.SimpleNamespace(bigram_vocab_size=size["bigram_rows"], bigram_dim=size["bigram_dim"],
                                 bigram_sign_table_rows=size["sign_rows"], val_batch_size=4 * 64 * 1024 * 8)
    ns = dict(torch=torch, nn=nn, F=F, Tensor=Tensor, math=math, os=os, dataclass=dataclass, __name__="record89",
              get_kernel=get_kernel_stand_in, tiktoken=types.SimpleNamespace(get_encoding=lambda name: get_tokenizer()),
              dist=types.SimpleNamespace(get_world_size=lambda: WORLD_SIZE), world_size=WORLD_SIZE,
              grad_accum_steps=1, grad_scale=1.0, device=device, args=args,
              FusedSoftcappedCrossEntropy=SoftcappedCrossEntropyStandIn, ReLUSqrdMLP=relu2_mlp_stand_in,
              dc_attention_postonly_nodd_correction_add_base_triton=dc_correction_stand_in,
              quantize_transpose_mlp_down_weights=None, reduce_mlp_activation_scales=None)
    os.environ["DISABLE_FP8"] = "1"
    exec(compile("\n" * first_line + section, str(directory / "train_gpt.py"), "exec"), ns)
    return ns


def frontier_config(size: dict) -> tuple[ModelConfig, str]:
    "preset('record89')'s model with this size (FP8 MLP off), or the same written out if the preset does not exist."
    try: base, source = preset("record89").model, "preset('record89').model"
    except ConfigError:
        base = replace(ModelConfig(), **RECORD89_LAYOUT, architecture="record89", mudd=True, mudd_gates=True,
                       dc_layers=(10,), dc_window=112, xsa_layers=XSA_LAYERS, prefix_loss=True, bigram_vocab_mult=5)
        source = "an explicit record89 ModelConfig"
    cfg = replace(base, fp8_mlp=False, model_dim=size["model_dim"], head_dim=size["head_dim"], vocab_size=size["vocab_size"],
                  bigram_vocab_rows=size["bigram_rows"], bigram_dim=size["bigram_dim"] if size["bigram_dim"] != size["model_dim"] else base.bigram_dim,
                  bigram_sign_rows=size["sign_rows"])
    return cfg, source


@torch.no_grad()
def perturb(model: nn.Module, seed: int, rel: float = 0.3):
    """Add seeded Gaussian noise, rel * max(mean |p|, 0.02) per parameter, so that no zero-initialised path stays
    switched off; the head gets std 2 / sqrt(D), so that logits spread (std ~2) and the loss depends on every target."""
    gen = torch.Generator().manual_seed(seed)
    for name, p in sorted(model.named_parameters()):
        scale = 2 * p.size(0) ** -0.5 if name == "lm_head.weight" else rel * max(p.abs().mean().item(), 0.02)
        p.add_(scale * torch.randn(p.shape, generator=gen).to(p.device, p.dtype))


def name_map(cfg: ModelConfig) -> dict:
    "FrontierGPT parameter -> (#89 parameter, rows kept: #89 pads qk/vo/mlp banks)."
    L = cfg.num_layers
    n_attn = L - 1
    m = {"embed.weight": ("embed.weight", None), "lm_head": ("lm_head.weight", None), "value_embeds": ("value_embeds", None),
         "ve_gate_bank": ("ve_gate_bank", None), "qk_bank": ("qk_bank", n_attn * cfg.num_heads),
         "vo_bank": ("vo_bank", 2 * n_attn), "mlp_bank": ("mlp_bank", L), "smear.gate.weight": ("smear_gate.weight", None),
         "bigram.table.weight": ("bigram_embed.weight", None), "post_lambdas": ("post_lambdas", None),
         "resid_lambdas": ("resid_lambdas", None), "scalars": ("scalars", 2 * L + 2), "mudd_gate_scale": ("_mudd_gate_scale", None)}
    for name in ("mudd_w1", "mudd_w2", "mudd_b2", "mudd_gate_w1", "mudd_gate_w2", "mudd_gate_b2"): m[name] = (name, None)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", required=True, type=Path, help="folder with record #89's train_gpt.py, triton_kernels.py, dc_triton_kernels.py")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--size", default="full", choices=tuple(SIZES), help="full: record #89's widths and tables; tiny: D=96")
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--grads", action="store_true", help="also compare every parameter's gradient of the training loss")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    device, size = torch.device(a.device), SIZES[a.size]
    torch.backends.cuda.matmul.allow_tf32 = False; torch.backends.cudnn.allow_tf32 = False
    t0 = time.time()
    ns = load_reference(a.reference.resolve(), device, size)
    cfg, source = frontier_config(size)
    T, max_seq_len = a.tokens, max(2048, a.tokens)
    torch.manual_seed(a.seed)
    ref = ns["GPT"](vocab_size=cfg.vocab_size, num_layers=cfg.num_layers, num_heads=cfg.num_heads, head_dim=cfg.head_dim,
                    model_dim=cfg.model_dim, max_seq_len=max_seq_len).float().to(device)
    if a.size == "full": ref.prefix_table.copy_(ns["build_prefix_table"](ref.vocab_size))
    perturb(ref, a.seed + 1)
    ours = FrontierGPT(cfg, max_seq_len=max_seq_len).to(device)
    refs = dict(ref.named_parameters())
    with torch.no_grad():
        for name, (ref_name, rows) in name_map(cfg).items():
            src = refs[ref_name] if rows is None else refs[ref_name][:rows]
            ours.get_parameter(name).copy_(src.reshape(ours.get_parameter(name).shape))
        ours.bigram.signs.copy_(ref.bigram_sign_table)
    covered = {r for r, _ in name_map(cfg).values()}
    if set(refs) - covered: sys.exit(f"#89 parameters without a counterpart: {sorted(set(refs) - covered)}")
    if set(dict(ours.named_parameters())) != set(name_map(cfg)): sys.exit("FrontierGPT parameters differ from the name map")
    if a.size == "full": table_same = torch.equal(ref.prefix_table, ours.prefix_table)
    else:  # #89's build_prefix_table assumes the whole GPT-2 vocabulary: the tiny one uses speedgpt's table
        ref.prefix_table.copy_(ours.prefix_table); table_same = "speedgpt's table used (tiny vocabulary)"
    n_ref = sum(p.numel() for p in ref.parameters())
    n_ours = sum(p.numel() for p in ours.parameters())
    print(f"record #89 GPT from {a.reference / 'train_gpt.py'} ({n_ref:,} parameters incl. padding for {WORLD_SIZE} ranks); "
          f"FrontierGPT from {source} ({n_ours:,}); built in {time.time() - t0:.0f} s on {device}")
    print(f"size {a.size}: model_dim {cfg.model_dim}, head_dim {cfg.head_dim}, vocab {cfg.padded_vocab_size}, bigram "
          f"{cfg.bigram_vocab_size} x {cfg.bigram_width}; prefix tables equal: {table_same}")

    gen = torch.Generator().manual_seed(a.seed + 2)
    inputs = torch.randint(0, cfg.vocab_size, (T,), generator=gen, dtype=torch.int32)
    targets = torch.randint(0, cfg.vocab_size, (T,), generator=gen).long()
    cu = random_cu_seqlens(T, 300, mean_doc_len=150, pad_to_multiple=16, generator=gen)
    bigram = bigram_hash(inputs, cfg.bigram_vocab_size)
    inputs, targets, cu, bigram = (t.to(device) for t in (inputs, targets, cu, bigram))
    lengths = (cu[1:] - cu[:-1]).tolist()
    print(f"{T} random tokens in {sum(n > 0 for n in lengths)} documents (lengths {[n for n in lengths if n]})")

    points = [  # (label, short, long blocks, yarn from, MTP weights, prefix weight)
        ("stage 1: windows (1, 3), MTP (1, .5, .25), prefix .25", 1, 3, None, [1.0, 0.5, 0.25], 0.25),
        ("stage 3 after YaRN 3 -> 11: windows (5, 11), MTP (1,), prefix 0", 5, 11, 3, [1.0], 0.0),
    ]
    worst_eval = worst_train = worst_grad = 0.0
    for label, short, long, yarn_from, mtp, prefix in points:
        if yarn_from is not None:
            ref.yarn.apply(yarn_from * 128, long * 128); ref.yarn_paired_head.apply(yarn_from * 128, long * 128)
            ours.yarn_extend(yarn_from, long)
        mtp_t, prefix_t = torch.tensor(mtp, device=device), torch.tensor([prefix], device=device)
        ref_args = ns["ForwardScheduleConfig"](mtp_weights=mtp_t, prefix_weight=prefix_t, ws_short=short * 128,
                                               ws_long=long * 128, train_max_seq_len=max(lengths))
        our_args = ForwardArgs(mtp_weights=mtp_t, window_short_blocks=short, window_long_blocks=long,
                               max_seqlen=max(lengths), prefix_weight=prefix_t)
        ref.eval(); ours.eval()
        with torch.no_grad():
            ref_eval = ref(inputs, targets, cu, bigram, ref_args).mean().item()
            our_eval = ours(inputs, targets, cu, bigram, our_args).item()
        ref.train(); ours.train()
        ref.zero_grad(); ours.zero_grad()
        ref_train = ref(inputs, targets, cu, bigram, ref_args).sum()
        our_train = ours(inputs, targets, cu, bigram, our_args)
        d_eval, d_train = abs(ref_eval - our_eval), abs(ref_train.item() - our_train.item())
        worst_eval, worst_train = max(worst_eval, d_eval), max(worst_train, d_train / T)
        print(f"\n{label}")
        print(f"  eval loss   record #89 {ref_eval:.7f}   FrontierGPT {our_eval:.7f}   |diff| {d_eval:.2e}")
        print(f"  train loss  record #89 {ref_train.item():.4f}   FrontierGPT {our_train.item():.4f}   |diff| {d_train:.2e} "
              f"({d_train / T:.2e} per token)")
        if a.grads:
            ref_train.backward(); our_train.backward()
            rows = []
            for name, (ref_name, keep) in name_map(cfg).items():
                g_ref = refs[ref_name].grad
                g_ref = g_ref if keep is None else g_ref[:keep]
                g_ours = ours.get_parameter(name).grad
                if g_ref is None and g_ours is None: continue
                g_ref = torch.zeros_like(ours.get_parameter(name)) if g_ref is None else g_ref.reshape(g_ours.shape)
                g_ours = torch.zeros_like(g_ref) if g_ours is None else g_ours
                rel = ((g_ref - g_ours).abs().max() / g_ref.abs().max().clamp_min(1e-30)).item()
                rows.append((rel, name))
            worst = max(rows)
            if os.environ.get("PARITY_VERBOSE"): print("  " + ", ".join(f"{n} {r:.1e}" for r, n in sorted(rows, reverse=True)))
            worst_grad = max(worst_grad, worst[0])
            print(f"  gradients of {len(rows)} parameters: largest difference {worst[0]:.2e} of the largest entry ({worst[1]})")
    ok = worst_eval <= 1e-4 and worst_train <= 1e-4 and worst_grad <= 1e-4 and table_same is not False
    print(f"\nlargest |diff|: eval {worst_eval:.2e}, train per token {worst_train:.2e}"
          + (f", gradients {worst_grad:.2e} (relative)" if a.grads else "") + f"; {'PASS' if ok else 'FAIL'} (limit 1e-4); "
          f"{time.time() - t0:.0f} s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
