"""Host (CPU) time to launch the fused ReLU² MLP eagerly, layer by layer, and where it goes.

Eager, the fused block was slower wall-clock than plain torch (0.75× on the H200 on 2026-12-01) though its GPU
time is lower: the host could not enqueue it as fast as the GPU ran it. This prints the host µs per call of each
layer of the launch path, from a bare Triton launch up to the autograd block, beside a cuBLAS matmul, then a
cProfile of the forward launch path (the backward runs on autograd's device thread, so it is timed as a layer).
GPU kept busy with `torch.cuda._sleep` while timing, so no launch waits on the device. Run on the device:
    python3 bench/host_overhead.py              # everything
    python3 bench/host_overhead.py --compiled   # only the compiled single blocks and their profile
"""
import cProfile, io, pstats, sys, time
import functools
import torch, triton
import speedgpt.kernels as K
from speedgpt.model import relu2_mlp_reference

dev, bf16 = "cuda", torch.bfloat16


def host_us(fn, n=100):
    "Host µs per call of fn, with the GPU spinning so that every launch only enqueues."
    fn(); fn(); torch.cuda.synchronize()
    torch.cuda._sleep(int(3e9))
    t0 = time.perf_counter()
    for _ in range(n): fn()
    dt = (time.perf_counter() - t0) / n * 1e6
    torch.cuda.synchronize()
    return dt


def main():
    print("torch", torch.__version__, "triton", triton.__version__, torch.cuda.get_device_name())
    N, D, Fd = 16384, 768, 3072
    x, gy = torch.randn(N, D, device=dev, dtype=bf16), torch.randn(N, D, device=dev, dtype=bf16)
    c_fc = (torch.randn(Fd, D, device=dev) / D**0.5).to(bf16)
    c_proj = (torch.randn(Fd, D, device=dev) / Fd**0.5).to(bf16)
    post = torch.rand(N, Fd, device=dev).to(bf16)
    out = torch.empty(N, Fd, device=dev, dtype=bf16)
    t = K.MLP_TILE
    sms = K.num_sms(0)
    grid = (min(sms, triton.cdiv(N, t["BLOCK_M"]) * triton.cdiv(Fd, t["BLOCK_N"])),)
    triton.set_allocator(K._descriptor_scratch)
    meta = dict(BLOCK_M=t["BLOCK_M"], BLOCK_N=t["BLOCK_N"], BLOCK_K=t["BLOCK_K"], GROUP_M=t["GROUP_M"], NUM_SMS=sms,
                BACKWARD=False, num_warps=t["num_warps"], num_stages=t["fwd_stages"])
    raw = lambda: K._linear_relu2_kernel[grid](x, c_fc, out, out, N, Fd, D, **meta)
    from torch._library.triton import set_wrap_triton_enabled
    def wrapped():
        with set_wrap_triton_enabled(False):
            torch.library.wrap_triton(K._linear_relu2_kernel)[grid](x, c_fc, out, out, N, Fd, D, **meta)
    leaves = [t_.clone().requires_grad_() for t_ in (x, c_fc, c_proj)]
    def step(fn):
        def run():
            for l in leaves: l.grad = None
            fn(*leaves).backward(gy)
        return run
    def fwd_only(fn):
        def run():
            with torch.no_grad(): fn(x, c_fc, c_proj)
        return run
    def fwd_grad(fn):
        def run(): fn(*leaves)                     # graph built, then dropped
        return run
    # the same call with eager launches routed through the registered ops (the package before 2026-12-01)
    via_ops = functools.partial(K.fused_relu2_mlp, direct_eager=False)
    def bwd_only(fn):
        ys = []
        def run():
            if not ys: ys.append(fn(*leaves))
            ys[0].backward(gy, retain_graph=True)
        return run
    layers = [
        ("cuBLAS x @ c_fc.T", lambda: x @ c_fc.T, 200),
        ("torch.empty (N, F)", lambda: torch.empty(N, Fd, device=dev, dtype=bf16), 200),
        ("bare Triton launch kernel[grid](...)", raw, 200),
        ("wrap_triton(kernel)[grid](...), eager", wrapped, 200),
        ("_launch_linear_relu2 (package launcher)", lambda: K._launch_linear_relu2(x, c_fc, None), 200),
        ("torch.ops.speedgpt.linear_relu2 (registered op)", lambda: torch.ops.speedgpt.linear_relu2(x, c_fc), 200),
        ("torch.ops.speedgpt.linear_relu2_backward", lambda: torch.ops.speedgpt.linear_relu2_backward(gy, c_proj, post), 200),
        ("_launch_linear_relu2 backward (Triton launcher)", lambda: K._launch_linear_relu2(gy, c_proj, post, direct=True), 200),
        ("_launch_relu2_grad_hopper (Gluon launcher, sm_90)", lambda: K._launch_relu2_grad_hopper(gy, c_proj, post), 200),
        ("torch.ops.speedgpt.linear_relu2_backward_hopper", lambda: torch.ops.speedgpt.linear_relu2_backward_hopper(gy, c_proj, post), 200),
        ("fused_relu2_mlp forward, no grad", fwd_only(K.fused_relu2_mlp), 100),
        ("reference MLP forward, no grad", fwd_only(relu2_mlp_reference), 100),
        ("fused_relu2_mlp forward, grad on (graph dropped)", fwd_grad(K.fused_relu2_mlp), 100),
        ("  same, through the registered ops", fwd_grad(via_ops), 100),
        ("reference MLP forward, grad on (graph dropped)", fwd_grad(relu2_mlp_reference), 100),
        ("fused_relu2_mlp forward + backward", step(K.fused_relu2_mlp), 40),
        ("  same, through the registered ops", step(via_ops), 40),
        ("reference MLP forward + backward", step(relu2_mlp_reference), 40),
        ("fused_relu2_mlp backward only", bwd_only(K.fused_relu2_mlp), 40),
        ("  same, through the registered ops", bwd_only(via_ops), 40),
        ("reference MLP backward only", bwd_only(relu2_mlp_reference), 40),
        # compiled single blocks measured host-bound (0.79-1.01x wall at 1.09x GPU time): where does it go?
        ("compiled fused_relu2_mlp forward + backward", step(torch.compile(K.fused_relu2_mlp)), 40),
        ("compiled reference MLP forward + backward", step(torch.compile(relu2_mlp_reference)), 40),
    ]
    print("\n## host µs per call (GPU busy, launches only enqueue)\n\n| layer | host µs |\n|---|---|")
    compiled_only = "--compiled" in sys.argv       # just the compiled blocks (a short run)
    if compiled_only: layers = [l for l in layers if l[0].startswith("compiled")]
    for name, fn, n in layers:
        print(f"| {name} | {min(host_us(fn, n) for _ in range(3)):.1f} |", flush=True)
    # every thread's ops (the backward runs on autograd's device thread), CPU time per step
    profiled = [("fused", step(K.fused_relu2_mlp)), ("reference", step(relu2_mlp_reference)),
                ("compiled fused", step(torch.compile(K.fused_relu2_mlp)))]
    for name, fn in profiled[2:] if compiled_only else profiled:
        fn(); torch.cuda.synchronize()
        torch.cuda._sleep(int(3e9))
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(20): fn()
        torch.cuda.synchronize()
        print(f"\n## torch.profiler, 20 steps of the {name} MLP forward + backward, CPU time\n\n```\n"
              f"{prof.key_averages().table(sort_by='cpu_time_total', row_limit=30, max_name_column_width=70)}\n```", flush=True)
    if compiled_only: return
    for name, fn in [("torch.ops.speedgpt.linear_relu2", lambda: torch.ops.speedgpt.linear_relu2(x, c_fc)),
                     ("_launch_relu2_grad_hopper", lambda: K._launch_relu2_grad_hopper(gy, c_proj, post)),
                     ("fused_relu2_mlp forward, grad on", fwd_grad(K.fused_relu2_mlp)),
                     ("fused_relu2_mlp forward, grad on, through the ops", fwd_grad(via_ops))]:
        fn(); torch.cuda.synchronize()
        torch.cuda._sleep(int(3e9))
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(100): fn()
        prof.disable()
        torch.cuda.synchronize()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(18)
        print(f"\n## cProfile, 100 calls of {name}, by own time\n\n```\n{s.getvalue()[-6000:]}\n```", flush=True)


if __name__ == "__main__":
    main()
