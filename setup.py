"""Build of the C extension; everything else about the package is in pyproject.toml.

`cenflow.flow._speedups` (src/cenflow/flow/_speedups.c, plain CPython C API) holds the
collector's hot loops.  It is optional: without a C compiler the install still succeeds and
cenflow runs its Python reference code, several times slower (tests/flow/test_speedups.py
fails then, so CI notices a broken build).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "cenflow.flow._speedups",
            sources=["src/cenflow/flow/_speedups.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
            optional=True,
        )
    ]
)
