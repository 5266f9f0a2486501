"""Can the ReLU² backward hide its epilogue? Gluon (explicit Hopper) versions of the fused kernel.

The package's Triton backward (g 16384x768 @ w.T, w 3072x768, then * 2 sqrt(post)) takes ~40 µs more than
its forward. The first guess: every program runs the same tiles in lock-step, so all 132 SMs reach their
epilogue together and read `post` (64 KB per tile) while the tensor cores idle. The first Gluon version
(v1 below) moves that read under the main loop:

  - `post` for the tile is fetched by TMA into shared memory a step into the tile's main loop,
  - the result goes back out of the same buffer by an asynchronous TMA store that overlaps the next tile,
  - A/B loads run a flattened (tile, k) pipeline, so the next tile's first operands are in flight during
    the epilogue.

Shared memory: 3 stages x (A 128x64 + B 256x64) bf16 = 144 KB, plus the 128x256 post/result buffer 64 KB.
It was no faster (165 µs). Its probes split the epilogue's cost: the HBM read of post ~10 µs, the square
root ~8, the shared-memory round trip ~4; and its main loop was ~15 µs slower than Triton's.

This file keeps that first version (v1), with probe switches that take one cost away at a time, and times
it beside the package's kernel (`speedgpt.kernels._relu2_grad_hopper_kernel`). The package's kernel was v2
until commit 36d4eb9 (one m64n256 accumulator, a division-free producer, post fetched by TMA POST_LEAD steps
before the tile ends, all in one instruction stream); it is now warp-specialized (bench/relu2_gluon_ws.py).
The variants that finished half or all of a tile under the next tile's first product, v2 with its own probes
and BLOCK_K 32 were measured (logs in bench/results/2026-12-02-h200/) and then dropped; their code is at
commit 7e3a441.

Run on the device:  PYTHONPATH=. python3 bench/relu2_gluon.py            (checks against float64, then times)
Compile only (CPU): PYTHONPATH=. python3 bench/relu2_gluon.py --compile  (sm_90 cubin, prints registers / spills)
"""
import sys, time
import torch, triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import (tma, mbarrier, fence_async_shared,
                                                              warpgroup_mma, warpgroup_mma_wait)
import speedgpt.kernels as K
from speedgpt.kernels import _gl_tile_origin


@gluon.jit
def _issue_operands(step, total_steps, k_steps, tiles_m, tiles_n, a_desc, b_desc, a_bufs, b_bufs, ready,
                    BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, BLOCK_K: gl.constexpr, GROUP_M: gl.constexpr,
                    STAGES: gl.constexpr, NUM_SMS: gl.constexpr):
    "TMA-load A and both B halves for flattened step `step` = (this program's tile number, k) into its stage."
    HALF: gl.constexpr = BLOCK_N // 2
    live = step < total_steps
    tile = gl.program_id(0) + (step // k_steps) * NUM_SMS
    off_m, off_n = _gl_tile_origin(tile, tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
    off_k = (step % k_steps) * BLOCK_K
    s = step % STAGES
    bar = ready.index(s)
    mbarrier.expect(bar, a_desc.block_type.nbytes + 2 * b_desc.block_type.nbytes, pred=live)
    tma.async_copy_global_to_shared(a_desc, [off_m, off_k], bar, a_bufs.index(s), pred=live)
    tma.async_copy_global_to_shared(b_desc, [off_n, off_k], bar, b_bufs.index(2 * s), pred=live)
    tma.async_copy_global_to_shared(b_desc, [off_n + HALF, off_k], bar, b_bufs.index(2 * s + 1), pred=live)
    return step + 1


@gluon.jit
def _relu2_gluon_kernel(a_ptr, b_ptr, out_ptr, post_ptr, M, N, K,
                        BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, BLOCK_K: gl.constexpr,
                        GROUP_M: gl.constexpr, STAGES: gl.constexpr, NUM_SMS: gl.constexpr,
                        BACKWARD: gl.constexpr, num_warps: gl.constexpr, PROBE: gl.constexpr = 0):
    "out = epilogue(A @ B.T), A (M, K), B (N, K), out/post (M, N) row-major bf16; relu(.)^2, or (.) * 2 sqrt(post)."
    HALF: gl.constexpr = BLOCK_N // 2
    dtype: gl.constexpr = gl.bfloat16
    a_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_M, BLOCK_K], dtype)
    b_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([HALF, BLOCK_K], dtype)
    c_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_M, HALF], dtype)
    # each 128x128 half of the tile has its own accumulator: the epilogue then works a half at a time
    acc_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[num_warps, 1],
                                                         instr_shape=[16, HALF, 16])
    a_desc = tma.make_tensor_descriptor(a_ptr, [M, K], [K, 1], [BLOCK_M, BLOCK_K], a_layout)
    b_desc = tma.make_tensor_descriptor(b_ptr, [N, K], [K, 1], [HALF, BLOCK_K], b_layout)
    out_desc = tma.make_tensor_descriptor(out_ptr, [M, N], [N, 1], [BLOCK_M, HALF], c_layout)
    post_desc = tma.make_tensor_descriptor(post_ptr, [M, N], [N, 1], [BLOCK_M, HALF], c_layout)

    a_bufs = gl.allocate_shared_memory(dtype, [STAGES, BLOCK_M, BLOCK_K], a_layout)
    b_bufs = gl.allocate_shared_memory(dtype, [2 * STAGES, HALF, BLOCK_K], b_layout)
    c_bufs = gl.allocate_shared_memory(dtype, [2, BLOCK_M, HALF], c_layout)   # post in, result out
    ready = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    post_ready = gl.allocate_shared_memory(gl.int64, [1, 1], mbarrier.MBarrierLayout())
    for i in gl.static_range(STAGES):
        mbarrier.init(ready.index(i), count=1)
    mbarrier.init(post_ready.index(0), count=1)

    tiles_m = gl.cdiv(M, BLOCK_M)
    tiles_n = gl.cdiv(N, BLOCK_N)
    k_steps = gl.cdiv(K, BLOCK_K)
    my_tiles = gl.cdiv(tiles_m * tiles_n - gl.program_id(0), NUM_SMS)
    total_steps = my_tiles * k_steps
    post_at = gl.minimum(k_steps - 1, 1)       # fetch post one step in: the last tile's store has had time to drain

    produced = 0
    for i in gl.static_range(STAGES - 1):
        produced = _issue_operands(produced, total_steps, k_steps, tiles_m, tiles_n, a_desc, b_desc, a_bufs,
                                   b_bufs, ready, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS)
    consumed = 0
    post_phase = 0
    for t in range(my_tiles):
        off_m, off_n = _gl_tile_origin(gl.program_id(0) + t * NUM_SMS, tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
        acc0 = gl.zeros((BLOCK_M, HALF), gl.float32, acc_layout)
        acc1 = gl.zeros((BLOCK_M, HALF), gl.float32, acc_layout)
        for ks in range(k_steps):
            s = consumed % STAGES
            mbarrier.wait(ready.index(s), (consumed // STAGES) & 1)
            acc0 = warpgroup_mma(a_bufs.index(s), b_bufs.index(2 * s).permute((1, 0)), acc0, is_async=True)
            acc1 = warpgroup_mma(a_bufs.index(s), b_bufs.index(2 * s + 1).permute((1, 0)), acc1, is_async=True)
            # the previous step's products are done once at most these two are in flight: its stage is free
            acc0, acc1 = warpgroup_mma_wait(2, deps=(acc0, acc1))
            consumed += 1
            produced = _issue_operands(produced, total_steps, k_steps, tiles_m, tiles_n, a_desc, b_desc, a_bufs,
                                       b_bufs, ready, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS)
            if BACKWARD and PROBE != 2:
                if ks == post_at:
                    tma.store_wait(pendings=0)          # the previous tile's result has left c_bufs
                    bar = post_ready.index(0)
                    mbarrier.expect(bar, 2 * post_desc.block_type.nbytes)
                    if PROBE == 1:   # probe: always the same post tile (L2 hits): is it the DRAM read stream?
                        tma.async_copy_global_to_shared(post_desc, [0, 0], bar, c_bufs.index(0))
                        tma.async_copy_global_to_shared(post_desc, [0, HALF], bar, c_bufs.index(1))
                    else:
                        tma.async_copy_global_to_shared(post_desc, [off_m, off_n], bar, c_bufs.index(0))
                        tma.async_copy_global_to_shared(post_desc, [off_m, off_n + HALF], bar, c_bufs.index(1))
        acc0, acc1 = warpgroup_mma_wait(0, deps=(acc0, acc1))
        if PROBE == 2:    # probe: the backward's store without any post read
            tma.store_wait(pendings=0)
            c_bufs.index(0).store((acc0 * 2.0).to(dtype))
            c_bufs.index(1).store((acc1 * 2.0).to(dtype))
        elif BACKWARD:
            mbarrier.wait(post_ready.index(0), post_phase)
            post_phase ^= 1
            post0 = c_bufs.index(0).load(acc_layout).to(gl.float32)
            if PROBE == 3:   # probe: no square root (is it the special-function units?)
                c_bufs.index(0).store((acc0 * 2.0 * post0).to(dtype))
                post1 = c_bufs.index(1).load(acc_layout).to(gl.float32)
                c_bufs.index(1).store((acc1 * 2.0 * post1).to(dtype))
            else:
                c_bufs.index(0).store((acc0 * 2.0 * gl.sqrt(post0)).to(dtype))   # dL/dpre = dL/dpost * 2 sqrt(post)
                post1 = c_bufs.index(1).load(acc_layout).to(gl.float32)
                c_bufs.index(1).store((acc1 * 2.0 * gl.sqrt(post1)).to(dtype))
        else:
            tma.store_wait(pendings=0)
            r0 = gl.maximum(acc0, 0.0)
            c_bufs.index(0).store((r0 * r0).to(dtype))
            r1 = gl.maximum(acc1, 0.0)
            c_bufs.index(1).store((r1 * r1).to(dtype))
        fence_async_shared()
        tma.async_copy_shared_to_global(out_desc, [off_m, off_n], c_bufs.index(0))
        tma.async_copy_shared_to_global(out_desc, [off_m, off_n + HALF], c_bufs.index(1))
    tma.store_wait(pendings=0)
    for i in gl.static_range(STAGES):
        mbarrier.invalidate(ready.index(i))
    mbarrier.invalidate(post_ready.index(0))


TILE = dict(BLOCK_M=128, BLOCK_N=256, BLOCK_K=64, GROUP_M=8, STAGES=3, num_warps=8)


def launch_v1(a, b, post=None, probe=0, tile=TILE):
    "The first Gluon version: forward (post None) or backward; probe 1: same post tile, 2: no post read, 3: no sqrt."
    M, K = a.shape
    N = b.shape[0]
    out = torch.empty((M, N), dtype=a.dtype, device=a.device)
    grid = min(torch.cuda.get_device_properties(a.device).multi_processor_count,
               triton.cdiv(M, tile["BLOCK_M"]) * triton.cdiv(N, tile["BLOCK_N"]))
    triton.set_allocator(lambda size, alignment, stream: torch.empty(size, device=a.device, dtype=torch.int8))
    _relu2_gluon_kernel[(grid,)](a, b, out, post if post is not None else out, M, N, K, tile["BLOCK_M"],
                                 tile["BLOCK_N"], tile["BLOCK_K"], tile["GROUP_M"], tile["STAGES"], grid,
                                 post is not None, num_warps=tile["num_warps"], PROBE=probe)
    return out


# awkward shapes (edges of every block, K below one block) and the speedrun shape; also used by relu2_gluon_ws.py
SHAPES = [(1000, 200, 264), (16384, 768, 3072), (129, 72, 520), (300, 8, 2056)]


def rel_err(out, ref):
    "Relative Frobenius error of a bf16 result against its float64 reference."
    return ((out.double() - ref).norm() / ref.norm()).item()


def launch_package(g, w, post):
    "The package's Gluon backward (`speedgpt.kernels`; warp-specialized since 2026-12-02, see relu2_gluon_ws.py)."
    return K._launch_relu2_grad_hopper(g, w, post)


def compile_sm90(kernel, pointers, consts, label, **options):
    """Compile a Gluon kernel for sm_90 without a GPU (M, N, K are its i32 arguments after the bf16 pointers):
    catches Gluon errors and prints ptxas's registers and spills and the shared memory."""
    import subprocess, tempfile
    from triton.backends.compiler import GPUTarget
    from triton.backends.nvidia.compiler import get_ptxas
    from triton.experimental.gluon._runtime import GluonASTSource
    sig = {n: "*bf16" for n in pointers} | {n: "i32" for n in "MNK"} | {n: "constexpr" for n in consts}
    t = time.time()
    k = triton.compile(GluonASTSource(kernel, sig, consts), target=GPUTarget("cuda", 90, 32), options=options)
    with tempfile.TemporaryDirectory() as d:
        open(f"{d}/k.ptx", "w").write(k.asm["ptx"])
        r = subprocess.run([get_ptxas(90).path, "-v", "--gpu-name=sm_90a", f"{d}/k.ptx", "-o", f"{d}/k.o"],
                           capture_output=True, text=True)
    info = " ".join(l.strip() for l in r.stderr.splitlines() if "registers" in l or "spill" in l or "erformance" in l)
    print(f"{label}: compiled in {time.time() - t:.1f}s, shared {k.metadata.shared} B, warps {k.metadata.num_warps}; {info}")
    return k


def compile_only(backward=True, tile=TILE):
    consts = dict(BLOCK_M=tile["BLOCK_M"], BLOCK_N=tile["BLOCK_N"], BLOCK_K=tile["BLOCK_K"], GROUP_M=tile["GROUP_M"],
                  STAGES=tile["STAGES"], NUM_SMS=132, BACKWARD=backward, PROBE=0, num_warps=tile["num_warps"])
    return compile_sm90(_relu2_gluon_kernel, ("a_ptr", "b_ptr", "out_ptr", "post_ptr"), consts,
                        f"v1 backward={backward}", num_warps=tile["num_warps"])


def main():
    if "--compile" in sys.argv:
        compile_only(True); compile_only(False)
        return
    from triton.testing import do_bench
    torch.manual_seed(0)
    dev, bf16 = "cuda", torch.bfloat16
    for (m, k, n) in SHAPES:                   # correctness first, then the speedrun shape's times
        x = torch.randn(m, k, device=dev, dtype=bf16)
        w = torch.randn(n, k, device=dev, dtype=bf16) / k ** 0.5
        ref_post = torch.relu(x.double() @ w.double().T) ** 2
        post = launch_v1(x, w)
        g = torch.randn(m, k, device=dev, dtype=bf16)
        ref_grad = (g.double() @ w.double().T) * 2 * post.double().sqrt()
        ef = rel_err(post, ref_post)
        ebs = [rel_err(o, ref_grad) for o in (launch_v1(g, w, post), launch_package(g, w, post))]
        print(f"shape {m}x{k}x{n}: v1 fwd rel err {ef:.2e}, bwd rel err (v1, package) "
              + " ".join(f"{e:.2e}" for e in ebs), flush=True)
        assert ef < 1e-2 and max(ebs) < 1e-2, "mismatch"
    m, k, n = 16384, 768, 3072
    x = torch.randn(m, k, device=dev, dtype=bf16)
    w = torch.randn(n, k, device=dev, dtype=bf16) / k ** 0.5
    g = torch.randn(m, k, device=dev, dtype=bf16)
    post = launch_v1(x, w)
    fwd_ref = torch.compile(lambda x, w: torch.relu(x @ w.T).square())
    bwd_ref = torch.compile(lambda g, w, post: (g @ w.T) * 2 * post.sqrt())
    rows = {
        "fwd torch.compile": lambda: fwd_ref(x, w),
        "fwd package triton": lambda: K._launch_linear_relu2(x, w, None, direct=True),
        "fwd gluon v1": lambda: launch_v1(x, w),
        "bwd torch.compile": lambda: bwd_ref(g, w, post),
        "bwd package triton": lambda: K._launch_linear_relu2(g, w, post, direct=True),
        "bwd gluon v1": lambda: launch_v1(g, w, post),
        "probe v1: same post tile": lambda: launch_v1(g, w, post, probe=1),
        "probe v1: no post read": lambda: launch_v1(g, w, post, probe=2),
        "probe v1: no sqrt": lambda: launch_v1(g, w, post, probe=3),
        "matmul only (cuBLAS)": lambda: g @ w.T,
    }
    rows["bwd package gluon"] = lambda: launch_package(g, w, post)
    flops = 2 * m * k * n
    for rep in range(2):
        for name, fn in rows.items():
            fn(); torch.cuda.synchronize()
            t = do_bench(fn, warmup=50, rep=400, return_mode="median")
            print(f"rep {rep} | {name:34s} | {t * 1e3:7.1f} µs | {flops / t / 1e9:6.0f} TFLOP/s", flush=True)


if __name__ == "__main__":
    main()
