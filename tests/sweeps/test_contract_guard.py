"""A sweep whose jobs would publish clashing contracts under one model name is refused before any job
runs (``sweeps.contract_guard``): each job's config composed as the basic sweeper expands the command
line, and compared without TensorFlow. In-process through Hydra's compose API; the end-to-end sweeps
are in tests/contract/test_compat.py."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from sigforge.errors import BreakingChange, ConfigError
from sigforge.sweeps.contract_guard import SweepContractGuard, check_sweep, job_overrides


@pytest.fixture
def hydra_app():
    """Hydra initialized on the packaged config tree, as it is when a sweep's callbacks run."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from sigforge.config.schema import register_schema

    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_module("sigforge.conf", version_base="1.3"):
        yield
    GlobalHydra.instance().clear()


def test_jobs_are_the_product_of_every_swept_value_in_command_line_order():
    jobs = job_overrides(
        ["+experiment=multi_input", "naming.policy=identity,prefixed", "export.version=range(1,3)"]
    )
    assert jobs == [  # +experiment= is written as the primary config takes it, experiment=
        ["experiment=multi_input", "naming.policy=identity", "export.version=1"],
        ["experiment=multi_input", "naming.policy=identity", "export.version=2"],
        ["experiment=multi_input", "naming.policy=prefixed", "export.version=1"],
        ["experiment=multi_input", "naming.policy=prefixed", "export.version=2"],
    ]
    assert job_overrides(["model.name=choice(a,b)"]) == [["model.name=a"], ["model.name=b"]]


def test_a_sweep_only_a_sampling_sweeper_can_expand_is_refused_naming_it():
    with pytest.raises(ConfigError) as refused:
        job_overrides(["model.dropout=interval(0.1,0.5)"])
    message = str(refused.value)
    assert message.startswith(
        "model.dropout=interval(0.1,0.5): an interval() sweep needs a sweeper that samples it"
    )
    assert "the basic sweeper expands only lists, choice() and range()" in message


def test_jobs_that_rename_the_keys_under_one_model_name_are_refused_before_any_runs(hydra_app, tmp_path):
    overrides = [
        "+experiment=image_classifier",
        f"export.base_dir={tmp_path}",
        "naming.policy=identity,prefixed",
    ]
    with pytest.raises(BreakingChange) as refused:
        check_sweep("config", overrides)
    message = str(refused.value)
    assert "this sweep would publish clashing contracts under model.name = 'image_classifier'" in message
    assert "Jobs [experiment=image_classifier" in message and "naming.policy=prefixed]" in message
    assert "'model.name=image_classifier_${naming.policy}'" in message  # the advice names the swept key
    assert message.endswith("No job was run.")


def test_jobs_in_their_own_model_directories_may_differ(hydra_app, tmp_path):
    check_sweep(
        "config",
        [
            "+experiment=image_classifier",
            f"export.base_dir={tmp_path}",
            "naming.policy=identity,prefixed",
            "model.name=image_${naming.policy}",
        ],
    )


def sweep_config(tmp_path, *, allow_breaking: bool = False, dry_run: bool = False):
    """What Hydra hands the callback as the sweep starts: the primary config and the task overrides."""
    task = ["+experiment=image_classifier", f"export.base_dir={tmp_path}", "naming.policy=identity,prefixed"]
    return OmegaConf.create(
        {
            "export": {"allow_breaking": allow_breaking, "dry_run": dry_run},
            "hydra": {"overrides": {"task": task}},
        }
    )


def test_the_callback_ends_the_sweep_with_the_refusal_before_any_job(hydra_app, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        SweepContractGuard().on_multirun_start(sweep_config(tmp_path), config_name="config")
    assert exited.value.code == BreakingChange.exit_code
    assert "clashing contracts under model.name = 'image_classifier'" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["allow_breaking", "dry_run"])
def test_allow_breaking_or_a_dry_run_lets_the_sweep_through(hydra_app, tmp_path, flag):
    SweepContractGuard().on_multirun_start(sweep_config(tmp_path, **{flag: True}), config_name="config")
