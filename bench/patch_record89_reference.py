"""Patch modded-nanogpt's train_gpt.py at record #89 (its HEAD) to run on one GPU without downloads, and stop early.

    python bench/patch_record89_reference.py train_gpt.py train_gpt_patched.py
The patched file needs triton_kernels.py and dc_triton_kernels.py of the same commit beside it, and speedgpt
importable (for the GPT-2 BPE files it ships). Each change, nothing else:
  1. FlashAttention-3 comes from the `kernels` hub (`get_kernel(...)`, a download): its varlen call is served by
     torch's `torch.nn.attention.varlen.varlen_attn(q, k, v, cu_q, cu_k, max_q, max_k, scale=..., window_size=(left, 0))`,
     the call speedgpt's varlen backend makes (02_attention).
  2. tiktoken's `get_encoding("gpt2")` downloads the BPE files: it becomes speedgpt's offline `get_tokenizer()`, built
     from the same files (same hashes, same mergeable ranks) for the prefix-token table.
  3. TRAIN_FILES / VAL_FILES (glob patterns) may replace the data paths under DATA_PATH/data/fineweb10B/.
  4. VAL_TOKENS: validation tokens, also the validation batch (default 10,485,760 and 4 * 64 * 1024 * 8 as in #89);
     it must be at least the largest training batch, 393,216, which sizes the RoPE tables.
  5. VAL_EVERY: validation cadence (default 250).
  6. STOP_STEPS: train this many steps, then the final validation (with its long window), as `--max_steps` does;
     the warm-up compiles only the steps before it. The schedule stays the whole one, cut at STOP_STEPS.
An anchor that is not found exactly once stops the script with its text, so a changed train_gpt.py cannot be
patched half-way."""
import sys

if len(sys.argv) != 3: raise SystemExit(__doc__)
src = open(sys.argv[1]).read()

def sub(old: str, new: str, why: str):
    "Replace the one occurrence of `old`; anything else is an error that names the anchor."
    global src
    n = src.count(old)
    if n != 1: raise SystemExit(f"patch_record89_reference: anchor for '{why}' found {n} times (expected once):\n{old}")
    src = src.replace(old, new)

# 1. FlashAttention-3 from the kernels hub -> torch's varlen_attn
sub("from kernels import get_kernel\n", "", "import of the kernels hub")
sub("flash_attn_interface = get_kernel('kernels-community/flash-attn3', version=1).flash_attn_interface\n", '''
import inspect as _inspect
from torch.nn.attention.varlen import varlen_attn as _varlen_attn
_SCALE = "scale" if "scale" in _inspect.signature(_varlen_attn).parameters else "softmax_scale"
class flash_attn_interface:  # the torch varlen_attn call speedgpt's varlen backend makes (window (left, 0) = causal)
    @staticmethod
    def flash_attn_varlen_func(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, causal, softmax_scale, window_size):
        assert causal and window_size[1] == 0
        return _varlen_attn(q, k, v, cu_seqlens_q.to(torch.int32), cu_seqlens_k.to(torch.int32), max_seqlen_q, max_seqlen_k,
                            **{_SCALE: softmax_scale}, window_size=window_size)
''', "FA3 from get_kernel")
# 2. tiktoken's download -> the same BPE files shipped with speedgpt
sub('\ntiktoken.get_encoding("gpt2")\n', '\nfrom speedgpt.data import get_tokenizer as _gpt2_offline  # tiktoken\'s gpt2 without a download\n'
    '_gpt2_offline()\n', "tokenizer preload")
sub('byte_to_id = tiktoken.get_encoding("gpt2")._mergeable_ranks', 'byte_to_id = _gpt2_offline()._mergeable_ranks',
    "tokenizer in build_prefix_table")
# 3. data paths
sub('    train_files: str = os.path.join(data_path, "data/fineweb10B/fineweb_train_*.bin")',
    '    train_files: str = os.environ.get("TRAIN_FILES") or os.path.join(data_path, "data/fineweb10B/fineweb_train_*.bin")',
    "train files")
sub('    val_files: str = os.path.join(data_path, "data/fineweb10B/fineweb_val_*.bin")',
    '    val_files: str = os.environ.get("VAL_FILES") or os.path.join(data_path, "data/fineweb10B/fineweb_val_*.bin")',
    "val files")
# 4. validation tokens and batch
sub("    val_tokens: int = 10485760 #", "    val_tokens: int = int(os.environ.get('VAL_TOKENS', 10485760)) #", "val_tokens")
sub("    val_batch_size: int = 4 * 64 * 1024 * 8\n", "    val_batch_size: int = int(os.environ.get('VAL_TOKENS', 4 * 64 * 1024 * 8))\n",
    "val_batch_size")
# 5. validation cadence
sub("    val_loss_every: int = 250 ", "    val_loss_every: int = int(os.environ.get('VAL_EVERY', 250)) ", "val_loss_every")
# 6. early stop, and a warm-up of the steps before it only
STOP = "(int(os.environ.get('STOP_STEPS', 0)) or training_schedule.total_steps)"
sub("warmup_steps = sorted({0, 1} | {s + offset for s in transition_steps for offset in [-2, -1, 0, 1] if s + offset >= 2})",
    "warmup_steps = sorted({0, 1} | {s + offset for s in transition_steps for offset in [-2, -1, 0, 1] "
    f"if 2 <= s + offset < {STOP}}})", "warm-up steps")
sub("train_steps = training_schedule.total_steps\n", f"train_steps = min({STOP}, training_schedule.total_steps)\n", "train_steps")

compile(src, sys.argv[2], "exec")      # a syntax error from a patch shows up here, not on the GPU machine
open(sys.argv[2], "w").write(src)
print("patched ->", sys.argv[2])
