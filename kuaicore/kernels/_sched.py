"""Dynamic scheduling for Numba parallel kernels: a shared work counter taken with an atomic fetch-and-add.

Numba's ``prange`` splits its iterations statically, one equal share per thread, so a thread slowed by another
process on its core holds up the whole call. A kernel instead runs ``prange(n_workers)`` with one worker per
thread, and each worker takes the next work unit from a shared counter until none is left::

    counter = np.zeros(1, np.int64)
    for w in prange(get_num_threads()):
        while True:
            unit = next_unit(counter)
            if unit >= n_units:
                break
            ...

so a fast thread simply takes more units. Each unit writes only its own output rows, so results do not depend
on which thread took which unit (same bytes on any thread count and load), provided a unit's arithmetic does
not depend on where its worker's scratch arrays lie: under ``fastmath`` it can (LLVM picks a vector or a
scalar loop, which round differently, by the distance between the arrays a loop writes and reads), so such a
kernel keeps each worker's scratch in one padded buffer (:mod:`kuaicore.kernels.als`).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def next_unit(typingctx, counter):
    """Atomically ``counter[0] += 1`` and return the old value (``counter``: a C-contiguous int64 array)."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        one = ir.Constant(ir.IntType(64), 1)
        return builder.atomic_rmw("add", ary.data, one, "monotonic")

    return types.int64(counter), codegen
