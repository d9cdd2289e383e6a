"""Fixtures of the synthetic benchmark tests: the dataset tests' trees."""
from ..test_datasets.conftest import mmseg_scope, rrsisd_root  # noqa: F401
