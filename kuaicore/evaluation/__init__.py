"""Evaluation: the protocols of DESIGN.md section 4 over ART artifacts and runs, on the Numba kernels."""
