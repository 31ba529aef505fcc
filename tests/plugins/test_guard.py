"""Kind 4 of reliability round 4: plugins that end or hold the process.

``sys.exit(0)`` in a plugin module made sigforge exit 0 having exported nothing (``SystemExit`` is
not an ``Exception``); a plugin's own ``KeyboardInterrupt`` was reported as a Ctrl-C; a plugin's
non-daemon thread kept the command from exiting after the version was published. Each plugin
failure names the plugin; a real SIGINT is still an interrupt."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import run_statuses, with_plugin

from sigforge import hookimpl
from sigforge.errors import PluginError
from sigforge.plugins.guard import threads_left
from sigforge.plugins.manager import load_plugins


def plugin_module(directory: Path, name: str, body: str) -> str:
    (directory / f"{name}.py").write_text(textwrap.dedent(body))
    return name


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("import sys\nsys.exit(0)\n", "it called sys.exit(0)"),
        ("import sys\nsys.exit('bye')\n", "it called sys.exit('bye')"),
        ("raise SystemExit\n", "it called sys.exit(None)"),
        ("raise KeyboardInterrupt\n", "KeyboardInterrupt: raised by the plugin itself"),
        ("class Stop(BaseException):\n    pass\nraise Stop('no')\n", "Stop: no"),
    ],
    ids=["exit-0", "exit-text", "bare-SystemExit", "KeyboardInterrupt", "BaseException"],
)
def test_a_plugin_ending_the_process_at_import_is_named(tmp_path, monkeypatch, body, says):
    monkeypatch.syspath_prepend(str(tmp_path))
    name = plugin_module(tmp_path, f"ender_{abs(hash(body))}", body)
    with pytest.raises(PluginError) as info:
        load_plugins([name], entry_points=False)
    assert f"plugins.modules[0] = '{name}' could not be imported" in str(info.value)
    assert says in str(info.value)


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit, type("Halt", (BaseException,), {})])
def test_a_hook_raising_a_base_exception_is_a_failing_plugin(compose, raised):
    from sigforge.config.validate import build_spec

    class Interrupter:
        name = "interrupter"

        @hookimpl
        def register_naming_policies(self, register):
            def policy(input, signature, **params):
                raise raised()

            register("stop", policy)

    with pytest.raises(PluginError, match=f"plugin 'interrupter' failed in .*{raised.__name__}"):
        build_spec(compose("+experiment=image_classifier", "naming.policy=stop"), with_plugin(Interrupter()))


def test_a_real_sigint_while_a_plugin_is_imported_is_still_an_interrupt(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    name = plugin_module(
        tmp_path,
        "slow_to_import",
        """
        import os, signal, time
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives while the module is being imported
        time.sleep(5)
        """,
    )
    with pytest.raises(KeyboardInterrupt):
        load_plugins([name], entry_points=False)


def test_non_daemon_threads_a_plugin_leaves_are_remembered_with_its_name(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    name = plugin_module(
        tmp_path,
        "thread_leaver",
        """
        import threading
        STOP = threading.Event()
        threading.Thread(target=STOP.wait, name="leaver-uploads").start()
        threading.Thread(target=STOP.wait, name="leaver-daemon", daemon=True).start()
        """,
    )
    load_plugins([name], entry_points=False)
    try:
        left = {(t.name, plugin) for t, plugin in threads_left()}
        assert ("leaver-uploads", name) in left
        assert not any(thread == "leaver-daemon" for thread, _ in left)
    finally:
        sys.modules[name].STOP.set()
    for thread in threading.enumerate():
        if thread.name.startswith("leaver-"):
            thread.join(5)


@pytest.mark.slow
def test_sigforge_does_not_exit_0_when_a_plugin_module_calls_sys_exit(run_cli, tmp_path):
    plugin_module(tmp_path, "quits_at_import", "import sys\nsys.exit(0)\n")
    done = run_cli(
        "+experiment=image_classifier", "plugins.modules=[quits_at_import]", env={"PYTHONPATH": str(tmp_path)}
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "plugins.modules[0] = 'quits_at_import' could not be imported: SystemExit" in done.stderr
    assert not (tmp_path / "outputs" / "exports").exists()


@pytest.mark.slow
def test_a_thread_a_plugin_leaves_running_does_not_hold_the_command(run_cli, tmp_path):
    """The version is published and logged, the command exits 0 within the timeout, naming the
    thread and the plugin; without the guard it never exits (subprocess.TimeoutExpired)."""
    plugin_module(
        tmp_path,
        "uploader",
        """
        import threading, time
        from sigforge import hookimpl

        @hookimpl
        def export_finished(result):
            threading.Thread(target=time.sleep, args=(3600,), name="slow-upload").start()
        """,
    )
    done = run_cli(
        "+experiment=image_classifier",
        "plugins.modules=[uploader]",
        env={"PYTHONPATH": str(tmp_path)},
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'slow-upload' (plugin 'uploader')" in done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["version"] == 1
    assert run_statuses(tmp_path / "outputs" / "mlflow.db") == ["FINISHED"]


def test_a_hook_running_out_of_memory_is_left_to_its_stage_not_blamed_on_the_plugin(compose):
    """A MemoryError is the machine's limit: it passes through the plugin guard unchanged, and the
    stage it happens in (or the command) tells it as running out of memory, with what to do."""
    from sigforge.config.validate import build_spec
    from sigforge.plugins.guard import plugin_failure

    assert not plugin_failure(MemoryError())
    assert plugin_failure(SystemExit(3)) and plugin_failure(ValueError())

    class Hungry:
        name = "hungry"

        @hookimpl
        def register_naming_policies(self, register):
            register("hungry", lambda input, signature, **params: bytearray(2**62))

    with pytest.raises(MemoryError):
        build_spec(compose("+experiment=image_classifier", "naming.policy=hungry"), with_plugin(Hungry()))
