"""The package's warp-specialized ReLU² backward (`speedgpt.kernels._relu2_grad_hopper_kernel`) and its knobs.

Before it, the package's Gluon backward did everything in one instruction stream (v2, commit 36d4eb9): it
spent ~25 µs more than the forward at the speedrun shape, all between two tiles' products: the `post` read
from HBM (~10 µs), the square root on the special-function units (~8), the shared-memory round trip (~4).
Now the warps that multiply never touch `post`:

  products (8 warps, default partition)   the main loop with its own TMA loads; at a tile's end the product,
                                          rounded to bf16 (what cuBLAS hands the unfused reference), goes to a
                                          64 KB shared buffer and they go straight on to the next tile
  epilogue (4 warps)                      per tile: post from global memory in CHUNK-row pieces (the next
                                          piece in flight while this one is finished; 32-row pieces spill),
                                          the product from the shared buffer, (.) * 2 sqrt(post), stored

First measured on 2026-12-02 (H200): 134.7 µs vs 143.3 for v2 in the same process (this file at commit
36d4eb9, its own copy of the kernel; log bench/results/2026-12-02-h200/relu2_gluon_ws-1.log). A separate
1-warp TMA producer makes 16 warps after rounding to warpgroups, 128 registers at launch, and ptxas then refuses the m64n256 product
(which needs 154): the multiplying warps issue their own loads.

Compile only (CPU, Triton >= 3.5 importable):  PYTHONPATH=. python3 bench/relu2_gluon_ws.py --compile
On the device:  PYTHONPATH=. python3 bench/relu2_gluon_ws.py    (float64 checks, then times the knobs)
"""
import sys
import torch
import speedgpt.kernels as K
from relu2_gluon import SHAPES, rel_err, compile_sm90

TILE = K.RELU2_GRAD_HOPPER_TILE
VARIANTS = {"package tile": TILE, "chunk 8": dict(TILE, CHUNK=8), "epilogue 152 regs": dict(TILE, EPILOGUE_REGS=152),
            "group 4": dict(TILE, GROUP_M=4), "group 16": dict(TILE, GROUP_M=16)}   # 96 regs spills


def compile_only(tile=TILE):
    consts = {k: tile[k] for k in ("BLOCK_M", "BLOCK_N", "BLOCK_K", "GROUP_M", "STAGES")} | dict(
        NUM_SMS=132, CHUNK=tile["CHUNK"], EPILOGUE_WARPS=tile["EPILOGUE_WARPS"], EPILOGUE_REGS=tile["EPILOGUE_REGS"],
        num_warps=tile["num_warps"])
    return compile_sm90(K._relu2_grad_hopper_kernel, ("g_ptr", "w_ptr", "out_ptr", "post_ptr"), consts,
                        f"warp-specialized, chunk {tile['CHUNK']}", num_warps=tile["num_warps"])


def main():
    if "--compile" in sys.argv:
        for name, tile in VARIANTS.items(): compile_only(tile)
        return
    from triton.testing import do_bench
    torch.manual_seed(0)
    dev, bf16 = "cuda", torch.bfloat16
    for (m, k, n) in SHAPES:
        g = torch.randn(m, k, device=dev, dtype=bf16)
        w = torch.randn(n, k, device=dev, dtype=bf16) / k ** 0.5
        post = torch.rand(m, n, device=dev).to(bf16)
        ref = (g.double() @ w.double().T) * 2 * post.double().sqrt()
        errs = [rel_err(K._launch_relu2_grad_hopper(g, w, post, t), ref) for t in VARIANTS.values()]
        print(f"shape {m}x{k}x{n}: rel err " + " ".join(f"{e:.2e}" for e in errs), flush=True)
        assert max(errs) < 1e-2, "mismatch"
    m, k, n = 16384, 768, 3072
    g = torch.randn(m, k, device=dev, dtype=bf16)
    w = (torch.randn(n, k, device=dev) / k ** 0.5).to(bf16)
    post = K.linear_relu2(torch.randn(m, k, device=dev, dtype=bf16), w)
    ref = torch.compile(lambda g, w, post: (g @ w.T) * 2 * torch.sqrt(post))
    rows = {"compiled reference": lambda: ref(g, w, post),
            "package Triton backward": lambda: torch.ops.speedgpt.linear_relu2_backward(g, w, post),
            "package Triton forward": lambda: torch.ops.speedgpt.linear_relu2(g, w)}
    rows |= {f"Gluon, {name}": (lambda t=t: K._launch_relu2_grad_hopper(g, w, post, t)) for name, t in VARIANTS.items()}
    for _ in range(2):
        for name, fn in rows.items():
            fn(); torch.cuda.synchronize()
            print(f"{name:32s} {do_bench(fn, warmup=50, rep=400, return_mode='median') * 1e3:7.1f} µs", flush=True)


if __name__ == "__main__":
    main()
