"""Next step for the ReLU² backward (not yet run on a GPU): an epilogue warpgroup beside the products.

The package's Gluon backward (`speedgpt.kernels._relu2_grad_hopper_kernel`) spends ~25 µs more than the
forward at the speedrun shape, all of it between two tiles' products: the `post` read from HBM (~10 µs),
the square root on the special-function units (~8) and the shared-memory round trip (~4). Here the warps
that multiply never touch `post`:

  consumers (8 warps, default partition)  the package kernel's main loop with its TMA loads; at a tile's end
                                          the product, rounded to bf16 (what cuBLAS hands the unfused
                                          reference), goes to a 64 KB shared buffer and they go straight on
                                          to the next tile
  epilogue (4 warps)                      per tile: post from global memory in 16-row chunks (the next
                                          chunk in flight while this one is finished; 32-row chunks spill),
                                          the product from the shared buffer, (.) * 2 sqrt(post), stored
                                          to global memory

Barriers: `ready` per stage, `prod_ready`/`prod_free` for the product buffer (consumers <-> epilogue).
Registers: 12 warps, 170 a thread at launch; the epilogue drops to EPILOGUE_REGS and the consumers take the
rest. (A separate 1-warp producer makes 16 warps after rounding to warpgroups, 128 registers at launch, and
ptxas then refuses the m64n256 product, which needs 154.)

Compile only (CPU, Triton >= 3.5 importable):  PYTHONPATH=. python3 bench/relu2_gluon_ws.py --compile
On the device:  PYTHONPATH=. python3 bench/relu2_gluon_ws.py    (float64 checks, then times vs the package)
"""
import sys, time
import torch, triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import (tma, mbarrier, warpgroup_mma, warpgroup_mma_wait)
import speedgpt.kernels as K
from speedgpt.kernels import _gl_tile_origin, _gl_load_step


@gluon.jit
def _ws_consumers(a_desc, b_desc, a_bufs, b_bufs, ready, prod_buf, prod_ready, prod_free, tiles_m, tiles_n,
                  k_steps, my_tiles, BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, BLOCK_K: gl.constexpr,
                  GROUP_M: gl.constexpr, STAGES: gl.constexpr, NUM_SMS: gl.constexpr, num_warps: gl.constexpr):
    "The package kernel's main loop (its own TMA loads, STAGES - 1 steps ahead); the product goes to prod_buf."
    acc_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[num_warps, 1],
                                                         instr_shape=[16, BLOCK_N, 16])
    total_steps = my_tiles * k_steps
    first_m, first_n = _gl_tile_origin(gl.program_id(0), tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
    load = (0, 0, 0, first_m, first_n)
    for i in gl.static_range(STAGES - 1):
        load = _gl_load_step(load, load[0] < total_steps, a_desc, b_desc, a_bufs, b_bufs, ready, k_steps,
                             tiles_m, tiles_n, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS)
    consumed = 0
    for t in range(my_tiles):
        acc = gl.zeros((BLOCK_M, BLOCK_N), gl.float32, acc_layout)
        for ks in range(k_steps):
            s = consumed % STAGES
            mbarrier.wait(ready.index(s), (consumed // STAGES) & 1)
            acc = warpgroup_mma(a_bufs.index(s), b_bufs.index(s).permute((1, 0)), acc, is_async=True)
            acc = warpgroup_mma_wait(1, deps=(acc,))
            consumed += 1
            gl.thread_barrier()       # both warpgroups are past the previous product before its stage is refilled
            load = _gl_load_step(load, load[0] < total_steps, a_desc, b_desc, a_bufs, b_bufs, ready, k_steps,
                                 tiles_m, tiles_n, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS)
        acc = warpgroup_mma_wait(0, deps=(acc,))
        product = acc.to(gl.bfloat16)
        mbarrier.wait(prod_free.index(0), (t & 1) ^ 1)      # the epilogue has read the last product
        prod_buf.store(product)
        gl.thread_barrier()
        mbarrier.arrive(prod_ready.index(0))


@gluon.jit
def _ws_epilogue(out_ptr, post_ptr, prod_buf, prod_ready, prod_free, M, N, tiles_m, tiles_n, my_tiles,
                 BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, GROUP_M: gl.constexpr, NUM_SMS: gl.constexpr,
                 CHUNK: gl.constexpr):
    # 4 warps: a warp covers one row of 256 columns with 8 contiguous bf16 (16 bytes) per thread
    layout: gl.constexpr = gl.BlockedLayout(size_per_thread=[1, 8], threads_per_warp=[1, 32], warps_per_cta=[4, 1],
                                            order=[1, 0])
    rows = gl.arange(0, CHUNK, layout=gl.SliceLayout(1, layout))
    cols = gl.arange(0, BLOCK_N, layout=gl.SliceLayout(0, layout))
    for t in range(my_tiles):
        off_m, off_n = _gl_tile_origin(gl.program_id(0) + t * NUM_SMS, tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
        col_ok = (off_n + cols) < N
        r = off_m + rows
        offs = r.to(gl.int64)[:, None] * N + (off_n + cols)[None, :]
        ok = (r < M)[:, None] & col_ok[None, :]
        post = gl.load(post_ptr + offs, mask=ok, other=0.0)          # the first chunk before the product is ready
        mbarrier.wait(prod_ready.index(0), t & 1)
        for c in gl.static_range(BLOCK_M // CHUNK):
            if c + 1 < BLOCK_M // CHUNK:                              # the next chunk in flight
                r_next = off_m + (c + 1) * CHUNK + rows
                offs_next = r_next.to(gl.int64)[:, None] * N + (off_n + cols)[None, :]
                ok_next = (r_next < M)[:, None] & col_ok[None, :]
                post_next = gl.load(post_ptr + offs_next, mask=ok_next, other=0.0)
            product = prod_buf.slice(c * CHUNK, CHUNK, dim=0).load(layout).to(gl.float32)
            val = product * 2.0 * gl.sqrt(post.to(gl.float32))
            gl.store(out_ptr + offs, val.to(gl.bfloat16), mask=ok)
            if c + 1 < BLOCK_M // CHUNK:
                post, offs, ok = post_next, offs_next, ok_next
        gl.thread_barrier()
        mbarrier.arrive(prod_free.index(0))


@gluon.jit
def _relu2_grad_ws_kernel(g_ptr, w_ptr, out_ptr, post_ptr, M, N, K,
                          BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, BLOCK_K: gl.constexpr,
                          GROUP_M: gl.constexpr, STAGES: gl.constexpr, NUM_SMS: gl.constexpr,
                          CHUNK: gl.constexpr, EPILOGUE_REGS: gl.constexpr, num_warps: gl.constexpr):
    dtype: gl.constexpr = gl.bfloat16
    a_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_M, BLOCK_K], dtype)
    b_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_N, BLOCK_K], dtype)
    prod_layout: gl.constexpr = gl.SwizzledSharedLayout(vec=8, per_phase=1, max_phase=8, order=[1, 0])
    a_desc = tma.make_tensor_descriptor(g_ptr, [M, K], [K, 1], [BLOCK_M, BLOCK_K], a_layout)
    b_desc = tma.make_tensor_descriptor(w_ptr, [N, K], [K, 1], [BLOCK_N, BLOCK_K], b_layout)
    a_bufs = gl.allocate_shared_memory(dtype, [STAGES, BLOCK_M, BLOCK_K], a_layout)
    b_bufs = gl.allocate_shared_memory(dtype, [STAGES, BLOCK_N, BLOCK_K], b_layout)
    prod_buf = gl.allocate_shared_memory(dtype, [BLOCK_M, BLOCK_N], prod_layout)
    ready = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    prod_ready = gl.allocate_shared_memory(gl.int64, [1, 1], mbarrier.MBarrierLayout())
    prod_free = gl.allocate_shared_memory(gl.int64, [1, 1], mbarrier.MBarrierLayout())
    for i in gl.static_range(STAGES):
        mbarrier.init(ready.index(i), count=1)
    mbarrier.init(prod_ready.index(0), count=1)
    mbarrier.init(prod_free.index(0), count=1)

    tiles_m = gl.cdiv(M, BLOCK_M)
    tiles_n = gl.cdiv(N, BLOCK_N)
    k_steps = gl.cdiv(K, BLOCK_K)
    my_tiles = gl.cdiv(tiles_m * tiles_n - gl.program_id(0), NUM_SMS)
    gl.warp_specialize([
        (_ws_consumers, (a_desc, b_desc, a_bufs, b_bufs, ready, prod_buf, prod_ready, prod_free, tiles_m, tiles_n,
                         k_steps, my_tiles, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS, num_warps)),
        (_ws_epilogue, (out_ptr, post_ptr, prod_buf, prod_ready, prod_free, M, N, tiles_m, tiles_n, my_tiles,
                        BLOCK_M, BLOCK_N, GROUP_M, NUM_SMS, CHUNK)),
    ], worker_num_warps=[4], worker_num_regs=[EPILOGUE_REGS])


TILE = dict(BLOCK_M=128, BLOCK_N=256, BLOCK_K=64, GROUP_M=8, STAGES=3, CHUNK=16, EPILOGUE_REGS=112, num_warps=8,
            maxnreg=None)


def launch(g, w, post, tile=TILE):
    M, K = g.shape
    N = w.shape[0]
    out = torch.empty((M, N), dtype=g.dtype, device=g.device)
    grid = min(torch.cuda.get_device_properties(g.device).multi_processor_count,
               triton.cdiv(M, tile["BLOCK_M"]) * triton.cdiv(N, tile["BLOCK_N"]))
    triton.set_allocator(lambda size, alignment, stream: torch.empty(size, device=g.device, dtype=torch.int8))
    _relu2_grad_ws_kernel[(grid,)](g, w, out, post, M, N, K, tile["BLOCK_M"], tile["BLOCK_N"], tile["BLOCK_K"],
                                   tile["GROUP_M"], tile["STAGES"], grid, tile["CHUNK"], tile["EPILOGUE_REGS"],
                                   num_warps=tile["num_warps"], maxnreg=tile["maxnreg"])
    return out


def compile_only(tile=TILE):
    from relu2_gluon import compile_sm90
    consts = dict(BLOCK_M=tile["BLOCK_M"], BLOCK_N=tile["BLOCK_N"], BLOCK_K=tile["BLOCK_K"], GROUP_M=tile["GROUP_M"],
                  STAGES=tile["STAGES"], NUM_SMS=132, CHUNK=tile["CHUNK"], EPILOGUE_REGS=tile["EPILOGUE_REGS"],
                  num_warps=tile["num_warps"])
    return compile_sm90(_relu2_grad_ws_kernel, ("g_ptr", "w_ptr", "out_ptr", "post_ptr"), consts,
                        f"warp-specialized, chunk {tile['CHUNK']}", num_warps=tile["num_warps"])


def main():
    if "--compile" in sys.argv:
        compile_only()
        return
    from triton.testing import do_bench
    torch.manual_seed(0)
    dev, bf16 = "cuda", torch.bfloat16
    quick = "--quick" in sys.argv           # two shapes and two rows: for a short device call
    shapes = [(1000, 200, 264), (16384, 768, 3072), (129, 72, 520), (300, 8, 2056)]
    for (m, k, n) in (shapes[:2] if quick else shapes):
        g = torch.randn(m, k, device=dev, dtype=bf16)
        w = torch.randn(n, k, device=dev, dtype=bf16) / k ** 0.5
        post = torch.rand(m, n, device=dev).to(bf16)
        ref = (g.double() @ w.double().T) * 2 * post.double().sqrt()
        out = launch(g, w, post)
        err = ((out.double() - ref).norm() / ref.norm()).item()
        print(f"shape {m}x{k}x{n}: rel err {err:.2e}", flush=True)
        assert err < 1e-2, "mismatch"
    m, k, n = 16384, 768, 3072
    g = torch.randn(m, k, device=dev, dtype=bf16)
    w = (torch.randn(n, k, device=dev) / k ** 0.5).to(bf16)
    post = K.linear_relu2(torch.randn(m, k, device=dev, dtype=bf16), w)
    ref = torch.compile(lambda g, w, post: (g @ w.T) * 2 * torch.sqrt(post))
    rows = {"compiled reference": lambda: ref(g, w, post),   # compiled on first call: skipped by --quick
            "package Triton": lambda: torch.ops.speedgpt.linear_relu2_backward(g, w, post),
            "package Gluon": lambda: K.linear_relu2_backward_hopper(g, w, post),
            "warp-specialized Gluon": lambda: launch(g, w, post)}
    rows["warp-specialized, chunk 8"] = lambda: launch(g, w, post, dict(TILE, CHUNK=8))
    rows["warp-specialized, epilogue 152 regs"] = lambda: launch(g, w, post, dict(TILE, EPILOGUE_REGS=152))
    if quick: rows = {k: rows[k] for k in ("package Gluon", "warp-specialized Gluon")}
    for _ in range(2):
        for name, fn in rows.items():
            fn(); torch.cuda.synchronize()
            print(f"{name:32s} {do_bench(fn, warmup=50, rep=400, return_mode='median') * 1e3:7.1f} µs", flush=True)


if __name__ == "__main__":
    main()
