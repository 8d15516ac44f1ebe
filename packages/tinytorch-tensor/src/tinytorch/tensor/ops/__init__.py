"""Tensor operations, one small class per op, grouped by family.

Each module pairs op classes (subclasses of `tinytorch.tensor.dispatch.Op`,
whose attributes a backward rule reads) with the lowercase functions users call.
"""
