"""A running maximum that many programs of a kernel raise together (the half-precision path's
scale tracking, :mod:`~hyena_lab.kernels.layer`).

Every program of a pass knows the largest value of its own tile; one float32 in device memory
holds the largest of all. An atomic maximum from every program would serialise tens or hundreds
of thousands of atomics on one address (measured on the H200 at 64K: the layer's forward 7%
slower); reading the running value first and raising it only where the tile's is larger leaves
a few atomics per pass, since most tiles are not the largest seen so far. A stale read only
costs an atomic that was not needed, never a wrong maximum: the atomic itself is exact.
"""

import triton
import triton.language as tl


@triton.jit
def raise_max(ptr, m):
    """``*ptr = max(*ptr, m)`` for a non-negative float32 scalar ``m`` (a NaN should be passed
    as infinity: the caller's ``tl.where(x == x, |x|, inf)``)."""
    tl.atomic_max(ptr, m, mask=m > tl.load(ptr))
