"""Type stub of the C++ extension (cpp/bindings/). Use the fastoptim package, not this."""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

grain_size: int
kernel_specs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]

def compiled_isas() -> list[str]: ...
def available_isas() -> list[str]: ...
def isa() -> str: ...
def use_isa(name: str) -> None: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def has_openmp() -> bool: ...
def _set_grain(elements: int) -> None: ...
def _partition(sizes: Sequence[int], num_threads: int) -> list[tuple[int, int, int, int]]: ...
reduce_block: int

def grad_reduce(grads: Sequence[np.ndarray], op: str, p: float = 2.0,
                blocks: bool = False) -> list[float]: ...

class Plan:
    def __init__(
        self,
        kernel: str,
        params: list[np.ndarray],
        states: dict[str, list[np.ndarray | None]],
        labels: list[str],
        rounding: str = "nearest",
        ids: Sequence[int] | None = None,
        offsets: Sequence[int] | None = None,
    ) -> None: ...
    def step(
        self,
        grads: Sequence[np.ndarray | None],
        coeffs: Sequence[Sequence[float]],
        rows: npt.NDArray[np.int64],
        keys: Sequence[int] | None = None,
    ) -> int: ...
    def check(
        self,
        grads: Sequence[np.ndarray],
        coeffs: Sequence[Sequence[float]],
        rows: npt.NDArray[np.int64],
    ) -> None: ...
    def __len__(self) -> int: ...
    @property
    def kernel(self) -> str: ...
