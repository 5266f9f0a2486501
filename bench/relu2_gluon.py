"""Can the ReLU² backward hide its epilogue? A Gluon (explicit Hopper) version of the fused kernel.

Why the shipped Triton kernel loses ~44 µs per backward at the speedrun shape (g 16384x768 @ w.T, w 3072x768):
every program runs the same tiles in lock-step, so all 132 SMs reach their epilogue together and then
read `post` (64 KB per tile) and write the result (64 KB) while the tensor cores sit idle: the epilogue is
a bandwidth-bound pause of ~3.7 µs per tile, 12 times over. This kernel moves that traffic under the
main loop:

  - `post` for the tile is fetched by TMA into shared memory a step into the tile's main loop,
  - the result goes back out of the same buffer by an asynchronous TMA store that overlaps the next tile,
  - A/B loads run a flattened (tile, k) pipeline, so the next tile's first operands are in flight during
    the epilogue.

Shared memory: 3 stages x (A 128x64 + B 256x64) bf16 = 144 KB, plus the 128x256 post/result buffer 64 KB.

Run on the device:  python3 bench/relu2_gluon.py            (checks against float64, then times)
Compile only (CPU): python3 bench/relu2_gluon.py --compile  (sm_90 cubin, prints registers / spills)
"""
import sys, time
import torch, triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import (tma, mbarrier, fence_async_shared,
                                                              warpgroup_mma, warpgroup_mma_wait)


@gluon.jit
def _tile_origin(tile, tiles_m, tiles_n, BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, GROUP_M: gl.constexpr):
    "Grouped order: GROUP_M row-blocks sweep the columns together, so B's tiles stay in L2."
    tiles_per_group = GROUP_M * tiles_n
    first_m = (tile // tiles_per_group) * GROUP_M
    rows_in_group = gl.minimum(tiles_m - first_m, GROUP_M)
    pid_m = first_m + (tile % tiles_per_group) % rows_in_group
    pid_n = (tile % tiles_per_group) // rows_in_group
    return pid_m * BLOCK_M, pid_n * BLOCK_N


@gluon.jit
def _issue_operands(step, total_steps, k_steps, tiles_m, tiles_n, a_desc, b_desc, a_bufs, b_bufs, ready,
                    BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, BLOCK_K: gl.constexpr, GROUP_M: gl.constexpr,
                    STAGES: gl.constexpr, NUM_SMS: gl.constexpr):
    "TMA-load A and both B halves for flattened step `step` = (this program's tile number, k) into its stage."
    HALF: gl.constexpr = BLOCK_N // 2
    live = step < total_steps
    tile = gl.program_id(0) + (step // k_steps) * NUM_SMS
    off_m, off_n = _tile_origin(tile, tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
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
        off_m, off_n = _tile_origin(gl.program_id(0) + t * NUM_SMS, tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
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


@gluon.jit
def _finish_half(prev, c_buf, out_desc, off_m, off_n, acc_layout: gl.constexpr):
    "dL/dpre = dL/dpost * 2 sqrt(post) for one 128x128 half; post waits in c_buf, the result leaves from it."
    post = c_buf.load(acc_layout).to(gl.float32)
    c_buf.store((prev.to(gl.float32) * 2.0 * gl.sqrt(post)).to(gl.bfloat16))
    fence_async_shared()
    tma.async_copy_shared_to_global(out_desc, [off_m, off_n], c_buf)


@gluon.jit
def _relu2_bwd_deferred_kernel(a_ptr, b_ptr, out_ptr, post_ptr, M, N, K,
                               BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, BLOCK_K: gl.constexpr,
                               GROUP_M: gl.constexpr, STAGES: gl.constexpr, NUM_SMS: gl.constexpr,
                               DEFER_BOTH: gl.constexpr, num_warps: gl.constexpr, POST_LEAD: gl.constexpr = 10):
    """Backward only. A tile's epilogue (sqrt on the special-function units, shared-memory traffic, the store)
    runs during the next tile's first asynchronous products instead of between tiles, so the tensor cores
    keep working. The finished product waits in registers as bf16 (what cuBLAS would have handed the
    unfused reference), one half finished per step."""
    HALF: gl.constexpr = BLOCK_N // 2
    dtype: gl.constexpr = gl.bfloat16
    a_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_M, BLOCK_K], dtype)
    b_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([HALF, BLOCK_K], dtype)
    c_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_M, HALF], dtype)
    acc_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[num_warps, 1],
                                                         instr_shape=[16, HALF, 16])
    a_desc = tma.make_tensor_descriptor(a_ptr, [M, K], [K, 1], [BLOCK_M, BLOCK_K], a_layout)
    b_desc = tma.make_tensor_descriptor(b_ptr, [N, K], [K, 1], [HALF, BLOCK_K], b_layout)
    out_desc = tma.make_tensor_descriptor(out_ptr, [M, N], [N, 1], [BLOCK_M, HALF], c_layout)
    post_desc = tma.make_tensor_descriptor(post_ptr, [M, N], [N, 1], [BLOCK_M, HALF], c_layout)

    a_bufs = gl.allocate_shared_memory(dtype, [STAGES, BLOCK_M, BLOCK_K], a_layout)
    b_bufs = gl.allocate_shared_memory(dtype, [2 * STAGES, HALF, BLOCK_K], b_layout)
    c_bufs = gl.allocate_shared_memory(dtype, [2, BLOCK_M, HALF], c_layout)
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
    # within a tile: finish the previous tile's halves at steps 0 and 1, then fetch this tile's post
    second_half_at = gl.minimum(k_steps - 1, 1)
    if DEFER_BOTH:
        post_at = gl.maximum(k_steps - POST_LEAD, second_half_at)
    else:
        post_at = gl.maximum(k_steps - POST_LEAD, 0)

    produced = 0
    for i in gl.static_range(STAGES - 1):
        produced = _issue_operands(produced, total_steps, k_steps, tiles_m, tiles_n, a_desc, b_desc, a_bufs,
                                   b_bufs, ready, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS)
    consumed = 0
    post_phase = 0
    prev0 = gl.zeros((BLOCK_M, HALF), dtype, acc_layout)
    prev1 = gl.zeros((BLOCK_M, HALF), dtype, acc_layout)
    prev_m = 0
    prev_n = 0
    for t in range(my_tiles):
        off_m, off_n = _tile_origin(gl.program_id(0) + t * NUM_SMS, tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
        acc0 = gl.zeros((BLOCK_M, HALF), gl.float32, acc_layout)
        acc1 = gl.zeros((BLOCK_M, HALF), gl.float32, acc_layout)
        for ks in range(k_steps):
            s = consumed % STAGES
            mbarrier.wait(ready.index(s), (consumed // STAGES) & 1)
            acc0 = warpgroup_mma(a_bufs.index(s), b_bufs.index(2 * s).permute((1, 0)), acc0, is_async=True)
            acc1 = warpgroup_mma(a_bufs.index(s), b_bufs.index(2 * s + 1).permute((1, 0)), acc1, is_async=True)
            if t > 0:   # the products just issued run on the tensor cores while these warps finish the last tile
                if DEFER_BOTH:
                    if ks == 0:
                        mbarrier.wait(post_ready.index(0), post_phase)
                        post_phase ^= 1
                        _finish_half(prev0, c_bufs.index(0), out_desc, prev_m, prev_n, acc_layout)
                    if ks == second_half_at:
                        _finish_half(prev1, c_bufs.index(1), out_desc, prev_m, prev_n + HALF, acc_layout)
                else:
                    if ks == 0:
                        _finish_half(prev1, c_bufs.index(1), out_desc, prev_m, prev_n + HALF, acc_layout)
            acc0, acc1 = warpgroup_mma_wait(2, deps=(acc0, acc1))
            consumed += 1
            produced = _issue_operands(produced, total_steps, k_steps, tiles_m, tiles_n, a_desc, b_desc, a_bufs,
                                       b_bufs, ready, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS)
            if ks == post_at:
                tma.store_wait(pendings=0)          # the previous tile's results have left c_bufs
                bar = post_ready.index(0)
                mbarrier.expect(bar, 2 * post_desc.block_type.nbytes)
                tma.async_copy_global_to_shared(post_desc, [off_m, off_n], bar, c_bufs.index(0))
                tma.async_copy_global_to_shared(post_desc, [off_m, off_n + HALF], bar, c_bufs.index(1))
        acc0, acc1 = warpgroup_mma_wait(0, deps=(acc0, acc1))
        if DEFER_BOTH:
            prev0 = acc0.to(dtype)
        else:   # the first half now (its sqrt in the open), only the second waits for the next tile
            mbarrier.wait(post_ready.index(0), post_phase)
            post_phase ^= 1
            _finish_half(acc0, c_bufs.index(0), out_desc, off_m, off_n, acc_layout)
        prev1 = acc1.to(dtype)
        prev_m = off_m
        prev_n = off_n
    if my_tiles > 0:
        if DEFER_BOTH:
            mbarrier.wait(post_ready.index(0), post_phase)
            _finish_half(prev0, c_bufs.index(0), out_desc, prev_m, prev_n, acc_layout)
        _finish_half(prev1, c_bufs.index(1), out_desc, prev_m, prev_n + HALF, acc_layout)
    tma.store_wait(pendings=0)
    for i in gl.static_range(STAGES):
        mbarrier.invalidate(ready.index(i))
    mbarrier.invalidate(post_ready.index(0))


@gluon.jit
def _load_step(state, live, a_desc, b_desc, a_bufs, b_bufs, ready, k_steps, tiles_m, tiles_n,
               BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, BLOCK_K: gl.constexpr, GROUP_M: gl.constexpr,
               STAGES: gl.constexpr, NUM_SMS: gl.constexpr):
    "Issue the TMA loads of the producer's next step; the state (step, tile number, k, origin) advances without divisions."
    step, t, ks, off_m, off_n = state
    s = step % STAGES
    bar = ready.index(s)
    mbarrier.expect(bar, a_desc.block_type.nbytes + b_desc.block_type.nbytes, pred=live)
    tma.async_copy_global_to_shared(a_desc, [off_m, ks * BLOCK_K], bar, a_bufs.index(s), pred=live)
    tma.async_copy_global_to_shared(b_desc, [off_n, ks * BLOCK_K], bar, b_bufs.index(s), pred=live)
    ks += 1
    if ks == k_steps:
        ks = 0
        t += 1
        off_m, off_n = _tile_origin(gl.program_id(0) + t * NUM_SMS, tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
    return step + 1, t, ks, off_m, off_n


@gluon.jit
def _relu2_gluon_v2_kernel(a_ptr, b_ptr, out_ptr, post_ptr, M, N, K,
                           BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, BLOCK_K: gl.constexpr,
                           GROUP_M: gl.constexpr, STAGES: gl.constexpr, NUM_SMS: gl.constexpr,
                           BACKWARD: gl.constexpr, num_warps: gl.constexpr, PROBE: gl.constexpr = 0,
                           POST_LEAD: gl.constexpr = 11):
    "As _relu2_gluon_kernel, with one 128x256 accumulator (m64n256 products) and a producer without divisions."
    dtype: gl.constexpr = gl.bfloat16
    a_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_M, BLOCK_K], dtype)
    b_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_N, BLOCK_K], dtype)
    c_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_M, BLOCK_N], dtype)
    acc_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[num_warps, 1],
                                                         instr_shape=[16, BLOCK_N, 16])
    a_desc = tma.make_tensor_descriptor(a_ptr, [M, K], [K, 1], [BLOCK_M, BLOCK_K], a_layout)
    b_desc = tma.make_tensor_descriptor(b_ptr, [N, K], [K, 1], [BLOCK_N, BLOCK_K], b_layout)
    out_desc = tma.make_tensor_descriptor(out_ptr, [M, N], [N, 1], [BLOCK_M, BLOCK_N], c_layout)
    post_desc = tma.make_tensor_descriptor(post_ptr, [M, N], [N, 1], [BLOCK_M, BLOCK_N], c_layout)

    a_bufs = gl.allocate_shared_memory(dtype, [STAGES, BLOCK_M, BLOCK_K], a_layout)
    b_bufs = gl.allocate_shared_memory(dtype, [STAGES, BLOCK_N, BLOCK_K], b_layout)
    c_buf = gl.allocate_shared_memory(dtype, [BLOCK_M, BLOCK_N], c_layout)
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
    # post is fetched POST_LEAD steps before the tile ends: late enough that the last tile's store has drained
    # from c_buf (waiting on it stalls the products), early enough to arrive before the epilogue
    post_at = gl.maximum(k_steps - POST_LEAD, 0)

    first_m, first_n = _tile_origin(gl.program_id(0), tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
    load = (0, 0, 0, first_m, first_n)
    for i in gl.static_range(STAGES - 1):
        load = _load_step(load, load[0] < total_steps, a_desc, b_desc, a_bufs, b_bufs, ready, k_steps, tiles_m,
                          tiles_n, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS)
    consumed = 0
    post_phase = 0
    for t in range(my_tiles):
        off_m, off_n = _tile_origin(gl.program_id(0) + t * NUM_SMS, tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
        acc = gl.zeros((BLOCK_M, BLOCK_N), gl.float32, acc_layout)
        for ks in range(k_steps):
            s = consumed % STAGES
            mbarrier.wait(ready.index(s), (consumed // STAGES) & 1)
            acc = warpgroup_mma(a_bufs.index(s), b_bufs.index(s).permute((1, 0)), acc, is_async=True)
            acc = warpgroup_mma_wait(1, deps=(acc,))
            consumed += 1
            load = _load_step(load, load[0] < total_steps, a_desc, b_desc, a_bufs, b_bufs, ready, k_steps, tiles_m,
                              tiles_n, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS)
            if BACKWARD and PROBE != 2:
                if ks == post_at:
                    tma.store_wait(pendings=0)
                    bar = post_ready.index(0)
                    mbarrier.expect(bar, post_desc.block_type.nbytes)
                    tma.async_copy_global_to_shared(post_desc, [off_m, off_n], bar, c_buf)
        acc = warpgroup_mma_wait(0, deps=(acc,))
        if BACKWARD and PROBE != 2:
            mbarrier.wait(post_ready.index(0), post_phase)
            post_phase ^= 1
            post = c_buf.load(acc_layout).to(gl.float32)
            c_buf.store((acc * 2.0 * gl.sqrt(post)).to(dtype))
        elif BACKWARD:
            tma.store_wait(pendings=0)
            c_buf.store((acc * 2.0).to(dtype))
        else:
            tma.store_wait(pendings=0)
            r = gl.maximum(acc, 0.0)
            c_buf.store((r * r).to(dtype))
        fence_async_shared()
        tma.async_copy_shared_to_global(out_desc, [off_m, off_n], c_buf)
    tma.store_wait(pendings=0)
    for i in gl.static_range(STAGES):
        mbarrier.invalidate(ready.index(i))
    mbarrier.invalidate(post_ready.index(0))


@gluon.jit
def _finish_part(part, c_buf, out_desc, off_m, off_n):
    "dL/dpre = dL/dpost * 2 sqrt(post) for one 128x128 half, in the half's own register layout."
    post = c_buf.load(part.type.layout).to(gl.float32)
    c_buf.store((part.to(gl.float32) * 2.0 * gl.sqrt(post)).to(gl.bfloat16))
    fence_async_shared()
    tma.async_copy_shared_to_global(out_desc, [off_m, off_n], c_buf)


@gluon.jit
def _relu2_bwd_v2_deferred_kernel(a_ptr, b_ptr, out_ptr, post_ptr, M, N, K,
                                  BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, BLOCK_K: gl.constexpr,
                                  GROUP_M: gl.constexpr, STAGES: gl.constexpr, NUM_SMS: gl.constexpr,
                                  num_warps: gl.constexpr, POST_LEAD: gl.constexpr = 6):
    """v2's backward with the tile's second half finished during the next tile's first product: the first
    half is finished at once from the fp32 accumulator, the second waits in registers as bf16."""
    HALF: gl.constexpr = BLOCK_N // 2
    dtype: gl.constexpr = gl.bfloat16
    a_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_M, BLOCK_K], dtype)
    b_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_N, BLOCK_K], dtype)
    c_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_M, HALF], dtype)
    acc_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[num_warps, 1],
                                                         instr_shape=[16, BLOCK_N, 16])
    a_desc = tma.make_tensor_descriptor(a_ptr, [M, K], [K, 1], [BLOCK_M, BLOCK_K], a_layout)
    b_desc = tma.make_tensor_descriptor(b_ptr, [N, K], [K, 1], [BLOCK_N, BLOCK_K], b_layout)
    out_desc = tma.make_tensor_descriptor(out_ptr, [M, N], [N, 1], [BLOCK_M, HALF], c_layout)
    post_desc = tma.make_tensor_descriptor(post_ptr, [M, N], [N, 1], [BLOCK_M, HALF], c_layout)

    a_bufs = gl.allocate_shared_memory(dtype, [STAGES, BLOCK_M, BLOCK_K], a_layout)
    b_bufs = gl.allocate_shared_memory(dtype, [STAGES, BLOCK_N, BLOCK_K], b_layout)
    c_bufs = gl.allocate_shared_memory(dtype, [2, BLOCK_M, HALF], c_layout)
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
    post_at = gl.maximum(k_steps - POST_LEAD, 0)

    first_m, first_n = _tile_origin(gl.program_id(0), tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
    load = (0, 0, 0, first_m, first_n)
    for i in gl.static_range(STAGES - 1):
        load = _load_step(load, load[0] < total_steps, a_desc, b_desc, a_bufs, b_bufs, ready, k_steps, tiles_m,
                          tiles_n, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS)
    consumed = 0
    post_phase = 0
    acc = gl.zeros((BLOCK_M, BLOCK_N), gl.float32, acc_layout)
    prev = acc.reshape([BLOCK_M, 2, HALF]).permute((0, 2, 1)).split()[1].to(dtype)
    prev_m = 0
    prev_n = 0
    for t in range(my_tiles):
        off_m, off_n = _tile_origin(gl.program_id(0) + t * NUM_SMS, tiles_m, tiles_n, BLOCK_M, BLOCK_N, GROUP_M)
        acc = gl.zeros((BLOCK_M, BLOCK_N), gl.float32, acc_layout)
        for ks in range(k_steps):
            s = consumed % STAGES
            mbarrier.wait(ready.index(s), (consumed // STAGES) & 1)
            acc = warpgroup_mma(a_bufs.index(s), b_bufs.index(s).permute((1, 0)), acc, is_async=True)
            if t > 0:
                if ks == 0:   # while the first product runs: the last tile's second half
                    _finish_part(prev, c_bufs.index(1), out_desc, prev_m, prev_n + HALF)
            acc = warpgroup_mma_wait(1, deps=(acc,))
            consumed += 1
            load = _load_step(load, load[0] < total_steps, a_desc, b_desc, a_bufs, b_bufs, ready, k_steps, tiles_m,
                              tiles_n, BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, STAGES, NUM_SMS)
            if ks == post_at:
                tma.store_wait(pendings=0)
                bar = post_ready.index(0)
                mbarrier.expect(bar, 2 * post_desc.block_type.nbytes)
                tma.async_copy_global_to_shared(post_desc, [off_m, off_n], bar, c_bufs.index(0))
                tma.async_copy_global_to_shared(post_desc, [off_m, off_n + HALF], bar, c_bufs.index(1))
        acc = warpgroup_mma_wait(0, deps=(acc,))
        left, right = acc.reshape([BLOCK_M, 2, HALF]).permute((0, 2, 1)).split()
        mbarrier.wait(post_ready.index(0), post_phase)
        post_phase ^= 1
        _finish_part(left, c_bufs.index(0), out_desc, off_m, off_n)
        prev = right.to(dtype)
        prev_m = off_m
        prev_n = off_n
    if my_tiles > 0:
        _finish_part(prev, c_bufs.index(1), out_desc, prev_m, prev_n + HALF)
    tma.store_wait(pendings=0)
    for i in gl.static_range(STAGES):
        mbarrier.invalidate(ready.index(i))
    mbarrier.invalidate(post_ready.index(0))


TILE = dict(BLOCK_M=128, BLOCK_N=256, BLOCK_K=64, GROUP_M=8, STAGES=3, num_warps=8)


def launch(a, b, post=None, tile=TILE, deferred=0, probe=0, v2=False, lead=None):
    "deferred: 0 finishes each tile before the next, 1 defers the second half, 2 both halves."
    M, K = a.shape
    N = b.shape[0]
    out = torch.empty((M, N), dtype=a.dtype, device=a.device)
    sms = torch.cuda.get_device_properties(a.device).multi_processor_count
    tiles = triton.cdiv(M, tile["BLOCK_M"]) * triton.cdiv(N, tile["BLOCK_N"])
    triton.set_allocator(lambda size, alignment, stream: torch.empty(size, device=a.device, dtype=torch.int8))
    args = (a, b, out, post if post is not None else out, M, N, K, tile["BLOCK_M"], tile["BLOCK_N"], tile["BLOCK_K"],
            tile["GROUP_M"], tile["STAGES"], min(sms, tiles))
    if v2 and deferred:
        _relu2_bwd_v2_deferred_kernel[(min(sms, tiles),)](*args, num_warps=tile["num_warps"], POST_LEAD=lead or 6)
    elif v2:
        _relu2_gluon_v2_kernel[(min(sms, tiles),)](*args, post is not None, num_warps=tile["num_warps"], PROBE=probe,
                                                   POST_LEAD=lead or 11)
    elif deferred:
        _relu2_bwd_deferred_kernel[(min(sms, tiles),)](*args, deferred == 2, num_warps=tile["num_warps"],
                                                       POST_LEAD=lead or 10)
    else:
        _relu2_gluon_kernel[(min(sms, tiles),)](*args, post is not None, num_warps=tile["num_warps"], PROBE=probe)
    return out


def compile_only(backward=True, tile=TILE, deferred=False, v2=False):
    "Compile for sm_90 without a GPU: catches Gluon errors, reports registers, spills and shared memory."
    from triton.backends.compiler import GPUTarget
    from triton.experimental.gluon._runtime import GluonASTSource
    sig = {n: "*bf16" for n in ("a_ptr", "b_ptr", "out_ptr", "post_ptr")} | {n: "i32" for n in "MNK"}
    consts = dict(BLOCK_M=tile["BLOCK_M"], BLOCK_N=tile["BLOCK_N"], BLOCK_K=tile["BLOCK_K"], GROUP_M=tile["GROUP_M"],
                  STAGES=tile["STAGES"], NUM_SMS=132, num_warps=tile["num_warps"])
    if v2 and deferred: consts |= dict(POST_LEAD=6)
    elif deferred: consts |= dict(DEFER_BOTH=deferred == 2, POST_LEAD=10)
    else: consts |= dict(BACKWARD=backward, PROBE=0)
    if v2: consts["POST_LEAD"] = 6
    sig |= {n: "constexpr" for n in consts}
    t = time.time()
    kernel = (_relu2_bwd_v2_deferred_kernel if v2 and deferred else _relu2_bwd_deferred_kernel if deferred
              else _relu2_gluon_v2_kernel if v2 else _relu2_gluon_kernel)
    k = triton.compile(GluonASTSource(kernel, sig, consts),
                       target=GPUTarget("cuda", 90, 32), options=dict(num_warps=tile["num_warps"]))
    import re, subprocess, tempfile, os
    ptx = k.asm["ptx"]
    with tempfile.TemporaryDirectory() as d:
        open(f"{d}/k.ptx", "w").write(ptx)
        from triton.backends.nvidia.compiler import get_ptxas
        ptxas = get_ptxas(90).path
        r = subprocess.run([ptxas, "-v", "--gpu-name=sm_90a", f"{d}/k.ptx", "-o", f"{d}/k.o"], capture_output=True,
                           text=True)
    info = " ".join(l.strip() for l in r.stderr.splitlines() if "registers" in l or "spill" in l or "arn" in l or "erformance" in l)
    print(f"v2={v2} deferred={deferred} backward={backward}: compiled in {time.time() - t:.1f}s, shared {k.metadata.shared} B; {info}")
    return k


def main():
    if "--compile" in sys.argv:
        compile_only(True); compile_only(False); compile_only(True, deferred=1); compile_only(True, deferred=2)
        compile_only(True, v2=True); compile_only(False, v2=True); compile_only(True, v2=True, deferred=1)
        return
    from triton.testing import do_bench
    import speedgpt.kernels as K
    torch.manual_seed(0)
    dev, bf16 = "cuda", torch.bfloat16
    # correctness on awkward shapes first (edges of every block), then the speedrun shape
    for (m, k, n) in [(1000, 200, 264), (16384, 768, 3072), (129, 72, 520), (300, 8, 2056)]:
        x = torch.randn(m, k, device=dev, dtype=bf16)
        w = torch.randn(n, k, device=dev, dtype=bf16) / k ** 0.5
        ref_post = torch.relu(x.double() @ w.double().T) ** 2
        post = launch(x, w)
        ef2 = ((launch(x, w, v2=True).double() - ref_post).norm() / ref_post.norm()).item()
        assert ef2 < 1e-2, f"v2 forward mismatch {ef2}"
        g = torch.randn(m, k, device=dev, dtype=bf16)
        w2 = torch.randn(n, k, device=dev, dtype=bf16) / k ** 0.5
        post_b = post
        ref_grad = (g.double() @ w2.double().T) * 2 * post_b.double().sqrt()
        ef = ((post.double() - ref_post).norm() / ref_post.norm()).item()
        ebs = []
        for deferred, v2, lead in [(0, 0, None), (1, 0, None), (2, 0, None), (0, 1, None), (0, 1, 4), (1, 1, 6), (1, 1, 11)]:
            grad = launch(g, w2, post_b, deferred=deferred, v2=v2, lead=lead)
            ebs.append(((grad.double() - ref_grad).norm() / ref_grad.norm()).item())
        print(f"shape {m}x{k}x{n}: fwd rel err {ef:.2e}, bwd rel err (v1 deferred 0/1/2, v2, v2 lead 4, v2 deferred lead 6/11) "
              + " ".join(f"{e:.2e}" for e in ebs), flush=True)
        assert ef < 1e-2 and max(ebs) < 1e-2, "mismatch"
    m, k, n = 16384, 768, 3072
    x = torch.randn(m, k, device=dev, dtype=bf16)
    w = torch.randn(n, k, device=dev, dtype=bf16) / k ** 0.5
    g = torch.randn(m, k, device=dev, dtype=bf16)
    post = launch(x, w)
    fwd_ref = torch.compile(lambda x, w: torch.relu(x @ w.T).square())
    bwd_ref = torch.compile(lambda g, w, post: (g @ w.T) * 2 * post.sqrt())
    rows = {
        "fwd torch.compile": lambda: fwd_ref(x, w),
        "fwd shipped triton": lambda: K._launch_linear_relu2(x, w, None, direct=True),
        "fwd gluon v2": lambda: launch(x, w, v2=True),
        "bwd torch.compile": lambda: bwd_ref(g, w, post),
        "bwd shipped triton": lambda: K._launch_linear_relu2(g, w, post, direct=True),
        "bwd gluon v2 (post at step 1)": lambda: launch(g, w, post, v2=True),
        "probe v2: no post read": lambda: launch(g, w, post, v2=True, probe=2),
        "matmul only (cuBLAS)": lambda: g @ w.T,
    }
    for lead in (8, 6, 4, 2):
        rows[f"bwd gluon v2 post lead {lead}"] = lambda lead=lead: launch(g, w, post, v2=True, lead=lead)
    rows["bwd gluon v1 defer half, lead 6"] = lambda: launch(g, w, post, deferred=1, lead=6)
    for lead in (8, 6, 4):
        rows[f"bwd gluon v2 defer half, lead {lead}"] = lambda lead=lead: launch(g, w, post, v2=True, deferred=1, lead=lead)
    flops = 2 * m * k * n
    for rep in range(2):
        for name, fn in rows.items():
            if rep and "v1" in name: continue
            fn(); torch.cuda.synchronize()
            t = do_bench(fn, warmup=50, rep=400, return_mode="median")
            print(f"rep {rep} | {name:34s} | {t * 1e3:7.1f} µs | {flops / t / 1e9:6.0f} TFLOP/s", flush=True)


if __name__ == "__main__":
    main()
