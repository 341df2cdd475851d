"""Seeds: which ones Retake accepts, and how it draws and derives its own.

A seed names one generation: the same seed, text and settings give the same audio. Retake draws a seed when
the user gives none (`random_seed`) and derives one per chunk and attempt from a narration's seed
(`derive_seed`); the user may also type one, which `check_seed` accepts if the store can keep it.
"""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

import numpy as np

__all__ = ["SEED_BITS", "SEED_LIMIT", "check_seed", "random_seed", "derive_seed"]

# Seeds Retake draws or derives are 31 bits wide, not the 63 the store could hold, because:
# - every seed drawn or derived so far (narration, chunk, edit seeds) is below 2**31, so stored takes stay
#   reproducible: changing the derivation's width would change every derived chunk seed;
# - the UI shows seeds in number fields that pass through JavaScript doubles, exact only up to 2**53, so a
#   63-bit seed could not be copied back exactly;
# - every runtime takes a 31-bit seed as is (numpy, torch, onnxruntime, C APIs with an int32 seed).
SEED_BITS = 31
# A seed someone types is accepted if the store's signed 64-bit seed column can keep it (below 2**63).
SEED_LIMIT = 2**63


def check_seed(seed: Any) -> int | None:
    """`seed` as an int (None stays None: "draw one"), or ValueError for anything that is not a whole number
    in [0, 2**63). Every engine and use case calls this one check, so a seed is refused the same way
    everywhere, before any work is done."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"Seed must be a non-negative whole number below 2**63, or empty (None) for a random one; "
                         f"got seed={seed!r}.")
    return int(seed)


def random_seed() -> int:
    """A fresh seed of SEED_BITS bits, for a generation the user did not seed (reported with the take, so
    it can be repeated)."""
    return secrets.randbits(SEED_BITS)


def derive_seed(base_seed: int, *keys: object, label: str = "retake-narration") -> int:
    """A seed of SEED_BITS bits derived from `base_seed` and `keys` (e.g. chunk index and attempt) by a hash:
    neighbouring keys get unrelated seeds, the same inputs always the same one."""
    text = ":".join(str(part) for part in (label, base_seed, *keys))
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << SEED_BITS) - 1)
