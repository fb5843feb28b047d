"""Fits the polynomial coefficients of runtime/vmath.c.

usage: python scripts/fit_vmath.py

Each fit is weighted least squares on Chebyshev nodes, iterated toward
minimax (Lawson's algorithm), in double precision; the coefficients are
printed as float literals. Prints each fit's max error (relative to the
function it serves) in double; the float evaluation error is measured by
tests/unit/test_vmath.c.
"""
import math

import numpy as np


def lawson(xs, basis, target, weight, iters=200):
    """Coefficients c minimising max |weight * (basis @ c - target)|."""
    a = np.stack([b(xs) for b in basis], axis=1) * weight[:, None]
    t = target * weight
    w = np.ones_like(xs) / len(xs)
    for _ in range(iters):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(a * sw[:, None], t * sw, rcond=None)
        err = np.abs(a @ c - t)
        w = w * err
        w /= w.sum()
    return c, float(np.max(np.abs(a @ c - t)))


def nodes(lo, hi, n=4000):
    k = np.arange(n)
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)


def show(name, c, err):
    print(f"{name}: max error {err:.3g}")
    for i, v in enumerate(c):
        print(f"  c{i} = {float(np.float32(v)):.9g}f")


def main():
    # e^r = 1 + r + r^2 P(r) on |r| <= ln2/2, relative error
    r = nodes(-np.log(2) / 2, np.log(2) / 2)
    r = r[np.abs(r) > 1e-6]
    basis = [lambda x, i=i: x ** (i + 2) for i in range(5)]
    c, err = lawson(r, basis, np.exp(r) - 1 - r, 1 / np.exp(r))
    show("exp P (r^2, r^3, ...)", c, err)

    # log(1+f) = f - (f^2/2 - s (f^2/2 + R(z))), s = f / (2 + f), z = s^2,
    # R(z) = z P(z), |s| <= 3 - 2 sqrt 2; error relative to log(1+f) ~ 2s
    s = nodes(1e-4, 3 - 2 * np.sqrt(2))
    z = s * s
    target = (2 * np.arctanh(s) - 2 * s) / s
    basis = [lambda x, i=i: x ** (i + 1) for i in range(3)]
    c, err = lawson(z, basis, target, s / (2 * np.arctanh(s)))
    show("log R (z, z^2, ...)", c, err)

    # tanh(x) = x + x^3 P(x^2) on |x| <= 0.625, relative error
    x = nodes(1e-4, 0.625)
    z = x * x
    basis = [lambda v, i=i: v ** i for i in range(5)]
    c, err = lawson(z, basis, (np.tanh(x) - x) / x ** 3, x ** 3 / np.tanh(x))
    show("tanh P (1, x^2, ...)", c, err)

    # erf(x) = x P(x^2) on |x| <= 0.75, relative error (the rational in
    # rt_common.h is fitted for absolute error: up to 6 ulp near 0)
    x = nodes(1e-4, 0.75)
    z = x * x
    erf = np.vectorize(math.erf)(x)
    basis = [lambda v, i=i: v ** i for i in range(6)]
    c, err = lawson(z, basis, erf / x, x / erf)
    show("erf P (1, x^2, ...)", c, err)


if __name__ == "__main__":
    main()
