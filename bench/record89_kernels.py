"""speedgpt's DC-MHA correction and FP8 MLP against record #89's own Triton kernels, on one CUDA GPU.

    python bench/record89_kernels.py --reference DIR

DIR holds modded-nanogpt's triton_kernels.py and dc_triton_kernels.py at record #89 (only those two files are
imported; they need torch and triton). Both sides get the same bf16 inputs at the speedrun's shapes:

  * DC-MHA (layer 10): 16,384 tokens in random documents, 6 heads of 128, window 112; #89's
    dc_attention_postonly_nodd_correction_add_base_triton(base, q, k, v, (w1, w2), ...) against
    base + speedgpt.attention.dc_post_correction(q, k, v, w1, w2, ...), forward and the gradients of q, k, v, w1, w2.
  * FP8 MLP (one layer): 16,384 x 768 activations, hidden 3072; #89's FusedLinearReLUSquareFunction with its FP8
    arguments (x and c_fc per-tensor, post with a delayed activation scale, c_proj transposed in e4m3) against
    speedgpt.fp8_mlp.fp8_relu2_mlp with the same scales; the output, the next activation scale and the gradients.

Printed: the largest difference relative to the largest entry, per tensor, and the median time of each side
(forward + backward). Exit code 1 if a difference exceeds the tolerance (bf16 outputs: 2e-2; see --help).
"""
import argparse, importlib.util, sys, time
from pathlib import Path
import torch
import torch.nn.functional as F

from speedgpt.attention import dc_post_correction, dc_post_weights, random_cu_seqlens
from speedgpt.fp8_mlp import Fp8MlpState, fp8_relu2_mlp

E4M3_MAX = 448.0

def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec); sys.modules[name] = module; spec.loader.exec_module(module)
    return module

def rel(a, b) -> float:
    "Largest |a - b| over the largest |b|."
    return float((a.float() - b.float()).abs().max() / b.float().abs().max().clamp_min(1e-30))

def timed(fn, reps=20) -> float:
    for _ in range(3): fn()
    times = []
    for _ in range(reps):
        torch.cuda.synchronize(); t0 = time.perf_counter(); fn(); torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return 1000 * sorted(times)[len(times) // 2]

def check_dc(dc_kernels, T=16384, H=6, D=128, window=112, tol=2e-2) -> bool:
    g = torch.Generator(device="cuda").manual_seed(0)
    cu = random_cu_seqlens(T, 2048, generator=torch.Generator().manual_seed(0)).to(torch.int32).cuda()
    leaf = lambda *shape, s=1.0: (s * torch.randn(*shape, device="cuda", generator=g)).bfloat16().requires_grad_()
    q, k = leaf(T, H, D), leaf(T, H, D)
    with torch.no_grad(): q /= q.float().pow(2).mean(-1, keepdim=True).sqrt().bfloat16(); k /= k.float().pow(2).mean(-1, keepdim=True).sqrt().bfloat16()
    v, base = leaf(T, H, D), leaf(T, H, D)
    w1_raw, w2 = leaf(T, H, s=1.0), leaf(T, H, s=0.3)
    scale = 0.12
    grad_out = torch.randn(T, H, D, device="cuda", generator=g).bfloat16()

    def ours():
        w1, _ = dc_post_weights(w1_raw, w2)
        return base + dc_post_correction(q, k, v, w1, w2, cu, scale, window)
    def record():
        w1, _ = dc_post_weights(w1_raw, w2)          # #89's dc_gate: the same RMS norm over the heads
        out = dc_kernels.dc_attention_postonly_nodd_correction_add_base_triton(
            base[None], q[None], k[None], v[None], (w1[None].contiguous(), w2[None].contiguous()), None,
            scaling=scale, window=window, seq_lens=cu)
        return out.view(T, H, D)
    compiled = torch.compile(ours, fullgraph=True)
    results = {}
    for name, fn in (("speedgpt", compiled), ("record89", record)):
        for t in (q, k, v, w1_raw, w2, base): t.grad = None
        out = fn(); out.backward(grad_out)
        results[name] = [out.detach()] + [t.grad.clone() for t in (q, k, v, w1_raw, w2)]
    ok = True
    for label, a, b in zip(("out", "dq", "dk", "dv", "dw1", "dw2"), results["speedgpt"], results["record89"]):
        r = rel(a, b); ok &= r <= tol
        print(f"DC-MHA {label:>4}: max diff / max |record89| = {r:.2e}")
    ms = {name: timed(lambda fn=fn: fn().backward(grad_out)) for name, fn in (("speedgpt", compiled), ("record89", record))}
    print(f"DC-MHA forward+backward: speedgpt {ms['speedgpt']:.3f} ms, record89 kernel {ms['record89']:.3f} ms "
          f"(ratio {ms['speedgpt'] / ms['record89']:.2f})")
    return ok

def check_fp8(tk, N=16384, D=768, Fd=3072, tol=2e-2) -> bool:
    g = torch.Generator(device="cuda").manual_seed(1)
    x = torch.randn(N, D, device="cuda", generator=g).bfloat16()
    x = (x / x.float().pow(2).mean(-1, keepdim=True).sqrt()).bfloat16().requires_grad_()   # normed, as the model feeds it
    bound = 3 ** 0.5 * 0.5 * D ** -0.5
    c_fc = ((torch.rand(Fd, D, device="cuda", generator=g) * 2 - 1) * bound).bfloat16().requires_grad_()
    c_proj = (0.02 * torch.randn(Fd, D, device="cuda", generator=g)).bfloat16().requires_grad_()
    grad_out = torch.randn(N, D, device="cuda", generator=g).bfloat16()
    state = Fp8MlpState(1, Fd, D).cuda()
    state.refresh(c_fc.detach()[None], c_proj.detach()[None], bootstrap_down=True)
    with torch.no_grad():                            # a realistic delayed scale: from one forward's post
        post = F.relu(x.float() @ c_fc.float().T).square()
        state.act_scales.fill_(float(post.abs().max()) * 1.8 / E4M3_MAX)
    act_scale = state.act_scales.clone()
    # #89's arguments, built from the same scales (its quantize_mlp_fp8 and the use_mlp_fp8 branch of GPT.forward)
    up_scale = state.up_scales[0:1].clone()
    up_f8 = (c_fc.detach().float() / up_scale).to(torch.float8_e4m3fn)
    down_scale = state.down_scales[0:1].clone()
    down_storage = (c_proj.detach().float().T / down_scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn).contiguous()
    num_sms = torch.cuda.get_device_properties(0).multi_processor_count
    partial = torch.empty(num_sms, device="cuda")

    def record():
        amax = x.detach().abs().max().float().clamp(min=1e-12)
        x_f8 = (x.detach() * (E4M3_MAX / amax)).to(torch.float8_e4m3fn)
        dequant = (up_scale * amax / E4M3_MAX).float()
        return tk.FusedLinearReLUSquareFunction.apply(x, c_fc, c_proj, up_f8, dequant, x_f8, down_storage.T,
                                                      down_scale, act_scale, partial)
    def ours():
        state.act_scales.copy_(act_scale)
        return fp8_relu2_mlp(x, c_fc, c_proj, state, 0)
    compiled = torch.compile(ours, fullgraph=True)
    results = {}
    for name, fn in (("speedgpt", compiled), ("record89", record)):
        for t in (x, c_fc, c_proj): t.grad = None
        out = fn(); out.backward(grad_out)
        results[name] = [out.detach()] + [t.grad.clone() for t in (x, c_fc, c_proj)]
    next_ours = float(state.act_scales[0])
    next_record = float(partial.max()) * 1.8 / E4M3_MAX          # #89's reduce_mlp_activation_scales with headroom 1.8
    ok = True
    for label, a, b in zip(("out", "dx", "dc_fc", "dc_proj"), results["speedgpt"], results["record89"]):
        r = rel(a, b); ok &= r <= tol
        print(f"FP8 MLP {label:>7}: max diff / max |record89| = {r:.2e}")
    r = abs(next_ours - next_record) / next_record; ok &= r <= 1e-2
    print(f"FP8 MLP next activation scale: speedgpt {next_ours:.6e}, record89 {next_record:.6e} (rel diff {r:.1e})")
    ms = {name: timed(lambda fn=fn: fn().backward(grad_out)) for name, fn in (("speedgpt", compiled), ("record89", record))}
    print(f"FP8 MLP forward+backward: speedgpt {ms['speedgpt']:.3f} ms, record89 kernel {ms['record89']:.3f} ms "
          f"(ratio {ms['speedgpt'] / ms['record89']:.2f})")
    return ok

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", required=True, help="folder with record #89's triton_kernels.py and dc_triton_kernels.py")
    a = ap.parse_args()
    if not torch.cuda.is_available(): sys.exit("error: record #89's kernels are Triton kernels for CUDA GPUs; no GPU is visible")
    ref = Path(a.reference)
    for f in ("triton_kernels.py", "dc_triton_kernels.py"):
        if not (ref / f).exists(): sys.exit(f"error: {ref / f} not found: --reference must hold record #89's {f}")
    print(f"{torch.cuda.get_device_name()} | torch {torch.__version__}")
    ok = check_dc(load(ref / "dc_triton_kernels.py", "record89_dc_kernels"))
    ok &= check_fp8(load(ref / "triton_kernels.py", "record89_triton_kernels"))
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)

if __name__ == "__main__":
    main()
