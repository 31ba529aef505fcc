"""Kind 2 of reliability round 4 in the pipeline: a model too large for the memory limit ended in a
MemoryError traceback. Every stage (build, trace, write, verify, publish) turns it into one
ExportError naming the stage and what to do; the run then ends FAILED like any refusal."""

from __future__ import annotations

import pytest

from sigforge.errors import ExportError
from sigforge.pipeline import _Stages
from sigforge.report.progress import Silent


@pytest.mark.parametrize("stage", ["build", "trace", "write", "verify", "publish"])
def test_running_out_of_memory_in_a_stage_is_named_not_a_traceback(stage):
    stages = _Stages(Silent())
    with pytest.raises(ExportError) as info, stages(stage):
        bytearray(2**62)  # more than any machine's memory: MemoryError at once, nothing allocated
    assert f"the {stage} stage ran out of memory (MemoryError)" in str(info.value)
    assert "raise the memory limit" in str(info.value) and "Nothing was published" in str(info.value)
    assert isinstance(info.value.__cause__, MemoryError)
