"""Fixtures of the dataset tests: fresh published-format trees per test."""
import pytest

import rs2sam2_mmseg  # noqa: F401  (installs the shims)
import rs2sam2_mmseg.datasets  # noqa: F401  (registers the components)
from mmengine.registry import init_default_scope
from .fixtures import make_refsegrs, make_rrsisd


@pytest.fixture
def rrsisd_root(tmp_path) -> str:
    """A fresh RRSIS-D tree (tests may damage it)."""
    return make_rrsisd(str(tmp_path / 'rrsisd'))


@pytest.fixture
def refsegrs_root(tmp_path) -> str:
    """A fresh RefSegRS tree (tests may damage it)."""
    return make_refsegrs(str(tmp_path / 'refsegrs'))


@pytest.fixture(autouse=True)
def mmseg_scope() -> None:
    """Pipelines build their transforms from the mmseg registry scope."""
    init_default_scope('mmseg')
