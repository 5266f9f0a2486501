"""Patch modded-nanogpt's train_gpt_medium.py (commit 5d2365f9) to run without FlashAttention-3 and stop early.

    python bench/patch_medium_reference.py train_gpt_medium.py train_gpt_medium_patched.py
Changes, nothing else: the FA3 kernel becomes torch's varlen_attn (the call speedgpt's varlen backend makes);
VAL_TOKENS (validation tokens, also the validation batch), VAL_EVERY and STOP_STEPS come from the environment;
the warm-up compiles only the steps before STOP_STEPS. The schedule is the full one, cut at STOP_STEPS."""
import sys
src = open(sys.argv[1]).read()
def sub(old, new):
    global src
    assert src.count(old) == 1, old
    src = src.replace(old, new)
sub("from kernels import get_kernel\n", "")
sub("flash_attn_interface = get_kernel('varunneal/flash-attention-3').flash_attn_interface\n", '''
import inspect as _inspect
from torch.nn.attention.varlen import varlen_attn as _varlen_attn
_SCALE = "scale" if "scale" in _inspect.signature(_varlen_attn).parameters else "softmax_scale"
class flash_attn_interface:  # the same torch varlen_attn call speedgpt's varlen backend makes (window (left, 0) = causal)
    @staticmethod
    def flash_attn_varlen_func(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, causal, softmax_scale, window_size):
        assert causal and window_size[1] == 0
        return _varlen_attn(q, k, v, cu_seqlens_q.to(torch.int32), cu_seqlens_k.to(torch.int32), max_seqlen_q, max_seqlen_k,
                            **{_SCALE: softmax_scale}, window_size=window_size)
''')
sub("    val_tokens: int = 10485760 #", "    val_tokens: int = int(os.environ.get('VAL_TOKENS', 10485760)) #")
sub("    val_batch_size: int = 4 * 64 * 1024 * 8\n", "    val_batch_size: int = int(os.environ.get('VAL_TOKENS', 4 * 64 * 1024 * 8))\n")
sub("    val_loss_every: int = 250 ", "    val_loss_every: int = int(os.environ.get('VAL_EVERY', 250)) ")
STOP = "int(os.environ.get('STOP_STEPS', 0)) or args.num_iterations"
sub("warmup_steps = sorted(set(s + offset for s in transition_steps for offset in [-1, 0, 1] if s + offset >= 0))",
    f"warmup_steps = sorted(set(s + offset for s in transition_steps for offset in [-1, 0, 1] if 0 <= s + offset < ({STOP})))")
sub("train_steps = args.num_iterations\n", f"train_steps = {STOP}\n")
open(sys.argv[2], "w").write(src)
print("patched ->", sys.argv[2])
