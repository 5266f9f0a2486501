"""The ReLU² backward kernels against their compiled reference, in one process: run it several times.

The compiled reference ((g @ w.T) * 2 sqrt(post): cuBLAS + one inductor kernel) timed 185-222 µs in
different processes on the same GPU model (H200), so a ratio is only meaningful against a reference timed
in the same process, and a claim needs several processes. Rows are interleaved and repeated.
    python bench/kernels.py --no-table --study 3
"""
import torch
from triton.testing import do_bench
import speedgpt.kernels as K

torch.manual_seed(0)
N, D, Fd, bf16 = 16384, 768, 3072, torch.bfloat16
g = torch.randn(N, D, device="cuda", dtype=bf16)
w = (torch.randn(Fd, D, device="cuda") / D**0.5).to(bf16)
post = K.linear_relu2(torch.randn(N, D, device="cuda", dtype=bf16), w)      # a real post, from the forward
ref = torch.compile(lambda g, w, post: (g @ w.T) * 2 * torch.sqrt(post))
uniform = torch.rand(N, Fd, device="cuda").to(bf16)                         # the notebook benchmark's post
h = g @ w.T
pointwise = torch.compile(lambda h, post: h * 2 * torch.sqrt(post))
rows = {"compiled reference": lambda: ref(g, w, post),
        "compiled reference, uniform post": lambda: ref(g, w, uniform),
        "  its cuBLAS g @ w.T": lambda: g @ w.T,
        "  its pointwise part": lambda: pointwise(h, post),
        "  its pointwise part, uniform post": lambda: pointwise(h, uniform),
        "Triton kernel": lambda: torch.ops.speedgpt.linear_relu2_backward(g, w, post),
        "Gluon kernel (sm_90)": lambda: K.linear_relu2_backward_hopper(g, w, post)}
times = {k: [] for k in rows}
for _ in range(3):
    for name, fn in rows.items():
        fn(); torch.cuda.synchronize()
        times[name].append(do_bench(fn, warmup=50, rep=400, return_mode="median") * 1e3)
med = {k: sorted(v)[1] for k, v in times.items()}
for k, v in times.items(): print(f"{k:34s} {med[k]:6.1f} µs ({', '.join(f'{t:.1f}' for t in v)})")
print(f"speedup vs reference: Triton {med['compiled reference'] / med['Triton kernel']:.2f}x, "
      f"Gluon {med['compiled reference'] / med['Gluon kernel (sm_90)']:.2f}x; against the uniform-post reference: "
      f"Gluon {med['compiled reference, uniform post'] / med['Gluon kernel (sm_90)']:.2f}x")
if "--code" in __import__("sys").argv:      # what inductor made of the reference
    import re
    from torch._inductor.utils import run_and_get_code
    torch._dynamo.reset()
    _, code = run_and_get_code(torch.compile(lambda g, w, post: (g @ w.T) * 2 * torch.sqrt(post)), g, w, post)
    code = "".join(code)
    print("reference graph:", sorted(set(re.findall(r"extern_kernels\.\w+|triton_\w+_fused_\w+", code))))
