"""Kind 5 of reliability round 4: config files that never finish. A YAML alias bomb in a file on
Hydra's search path was still expanding after 4 minutes (700 MB and growing); it is now refused
in bounded time and memory, naming the file, before OmegaConf copies a single alias."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sigforge.config.yaml_guard import MAX_ALIAS_VALUES, AliasBomb, alias_expansion
from sigforge.errors import ConfigError


def laughs(levels: int, width: int, key: str = "model.params.bomb") -> str:
    """Billion laughs: ``levels`` anchors, each ``width`` aliases of the one before."""
    lines = ["# @package _global_", "l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    outer, inner = key.rsplit(".", 1)
    indent = ""
    for part in outer.split("."):
        lines.append(f"{indent}{part}:")
        indent += "  "
    lines.append(f"{indent}{inner}: *l{levels - 1}")
    return "\n".join(lines) + "\n"


def team_conf(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "team" / "experiment" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text",
    [
        laughs(9, 9),  # 9^9: the classic
        laughs(4, 200),  # wide and shallow
        laughs(30, 2),  # deep and narrow: 2^30
        "# @package _global_\na: &a {x: 1, y: [1, 2, 3]}\n"
        + "".join(f"k{i}: {{{', '.join(['v: *a'] * 1)}}}\n" for i in range(20000)),  # many small
    ],
    ids=["9x9", "4x200", "30x2", "20000-small"],
)
def test_an_alias_bomb_on_the_search_path_is_refused_naming_the_file(compose, tmp_path, text):
    path = team_conf(tmp_path, "bomb", text)
    tick = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        compose(f"hydra.searchpath=[file://{tmp_path / 'team'}]", "+experiment=bomb")
    assert time.perf_counter() - tick < 30
    assert str(path) in str(info.value) and f"more than the {MAX_ALIAS_VALUES}" in str(info.value)


def test_an_alias_inside_its_own_anchor_is_refused(compose, tmp_path):
    path = team_conf(tmp_path, "loop", "# @package _global_\nmodel:\n  params: &p\n    again: *p\n")
    with pytest.raises(AliasBomb, match="refers to a node that contains it") as info:
        compose(f"hydra.searchpath=[file://{tmp_path / 'team'}]", "+experiment=loop")
    assert str(path) in str(info.value)


def test_a_config_that_shares_a_few_blocks_still_loads(compose, tmp_path):
    team_conf(
        tmp_path,
        "shared",
        "# @package _global_\ndefaults:\n  - override /model: image_cnn\n"
        "model:\n  params:\n    common: &common {a: 1, b: [1, 2, 3]}\n"
        + "".join(f"    extra{i}: *common\n" for i in range(5)),
    )
    cfg = compose(f"hydra.searchpath=[file://{tmp_path / 'team'}]", "+experiment=shared")
    assert cfg["model"]["params"]["extra4"] == {"a": 1, "b": [1, 2, 3]}


def test_the_count_is_exact_and_linear_in_the_file():
    import yaml

    node = yaml.compose(laughs(9, 9, key="a.b"))
    assert alias_expansion(node) > 9**8  # what OmegaConf would copy; counted over ~100 nodes


@pytest.mark.slow
def test_the_cli_refuses_a_bomb_in_bounded_time_and_memory(tmp_path):
    team_conf(tmp_path, "bomb", laughs(9, 9))

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, resource.RLIM_INFINITY))

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sigforge",
            f"hydra.searchpath=[file://{tmp_path / 'team'}]",
            "+experiment=bomb",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("sigforge: ") and "bomb.yaml" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_sigforge_log_refuses_a_bomb_given_as_its_config(run_cli, tmp_path):
    from sigforge.contract.read import _saved_model_message

    version = tmp_path / "exports" / "m" / "1"
    version.mkdir(parents=True)
    saved_model = _saved_model_message()()  # a SavedModel with one serving MetaGraph, no signatures
    saved_model.meta_graphs.add().meta_info_def.tags.append("serve")
    (version / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    (tmp_path / "config.yaml").write_text(laughs(9, 9).replace("# @package _global_\n", ""))
    done = run_cli("log", str(version), "--config", str(tmp_path / "config.yaml"), timeout=60)
    assert done.returncode == 2 and "config.yaml" in done.stderr and "alias" in done.stderr
