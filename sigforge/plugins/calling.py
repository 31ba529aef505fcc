"""How sigforge calls hooks: through pluggy's own caller, every failure named by plugin and hook.

pluggy's caller decides the order (``tryfirst`` implementations first, ``trylast`` last, the rest
newest-registered first), runs hook wrappers around the implementations (``wrapper=True`` and the
old ``hookwrapper=True``) and stops at the first non-``None`` result of a ``firstresult`` hook.
sigforge adds one thing to each implementation as it is registered (``PluginManager.register``):
a shim around ``HookImpl.function`` that

- turns any exception the implementation raises into a ``PluginError`` naming its plugin and the
  hook (a wrapper's own failure included: an error raised by an implementation it wraps reaches it
  already named, and passes through it unchanged);
- hands each plugin its own copy of a ``PerPlugin`` argument (``register``), so that every name a
  plugin registers remembers the plugin;
- applies the hook's rule where sigforge has one (``rules``: ``validate_signature``'s problems
  checked and prefixed with the plugin's name, so a wrapper sees them attributed; an
  ``export_finished`` failure set aside in ``failures`` so that the other plugins still run);
- traces the call when ``SIGFORGE_TRACE_PLUGINS=1`` (see ``trace``).
"""

from __future__ import annotations

import os
import reprlib
import sys
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import Any

import pluggy

from sigforge.errors import PluginError, one_line
from sigforge.plugins.guard import failure_reason, plugin_call, plugin_failure

__all__ = ["TRACE_ENV", "PerPlugin", "Rule", "ShimmedPluginManager", "failure", "named"]

TRACE_ENV = "SIGFORGE_TRACE_PLUGINS"
BUILTIN_PREFIX = "sigforge.plugins.builtin."
_SHIMMED = "__sigforge_shim__"
Rule = Callable[[str, Callable[[], Any], list[str]], Any]
"""``rule(plugin, call, failures)``: what one implementation's call gives pluggy's caller."""
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60


class PerPlugin:
    """An argument each implementation receives bound to its own plugin: ``bind(plugin)``."""

    def bind(self, plugin: str) -> Any:
        raise NotImplementedError


def failure(plugin: str, where: str, err: BaseException) -> PluginError:
    """The one message for a plugin's code that raised: its plugin, the hook or callable, the error."""
    reason = failure_reason(err)
    if plugin.startswith(BUILTIN_PREFIX):
        # A built-in that refuses its input refuses a config value, not a bug to report.
        return PluginError(
            f"{where} (built in) refused the config: {reason}. Fix the config value it names "
            "(the inputs, model or preprocess settings it was given)."
        )
    return PluginError(
        f"plugin '{plugin}' failed in {where}: {reason}; "
        "fix the plugin or remove it from plugins.modules / uninstall it."
    )


@contextmanager
def named(plugin: str, where: str, passing: BaseException | None = None) -> Generator[None, None, None]:
    """Any failure of the plugin's inside becomes a ``PluginError`` naming ``plugin`` and ``where``
    (``sys.exit()`` and a plugin's own ``KeyboardInterrupt`` included, a real signal not:
    ``guard.plugin_failure``); a ``PluginError`` (already named) and ``passing`` (an error the plugin
    merely let through) pass. The call runs under ``guard.plugin_call`` (threads it leaves named)."""
    try:
        with plugin_call(plugin):
            yield
    except PluginError:
        raise
    except BaseException as err:
        if err is passing or not plugin_failure(err):
            raise
        raise failure(plugin, where, err) from err


class ShimmedPluginManager(pluggy.PluginManager):
    """pluggy's manager, each hook implementation shimmed as it is registered (see the module)."""

    def __init__(self, project_name: str, rules: dict[str, Rule] | None = None) -> None:
        super().__init__(project_name)
        self.rules = dict(rules or {})
        self.failures: list[str] = []  # failures a rule set aside instead of raising
        self.tracing = os.environ.get(TRACE_ENV, "") not in ("", "0")
        if self.tracing:
            self.add_hookcall_monitoring(_trace_before, _trace_after)

    def register(self, plugin: object, name: str | None = None) -> str | None:
        registered = super().register(plugin, name=name)
        for caller in self.get_hookcallers(plugin) or ():
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not hasattr(impl.function, _SHIMMED):
                    impl.function = self._shim(impl, caller.name)
        return registered

    def _shim(self, impl: pluggy.HookImpl, hook: str) -> Callable[..., Any]:
        function, plugin, where = impl.function, impl.plugin_name, f"hook {hook}"
        trace = self.tracing

        def bound(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
            return [a.bind(plugin) if isinstance(a, PerPlugin) else a for a in args], kwargs

        if impl.wrapper or impl.hookwrapper:

            def wrapper_shim(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
                args2, kwargs2 = bound(args, kwargs)
                with named(plugin, where):
                    gen = function(*args2, **kwargs2)
                    if not isinstance(gen, Generator):
                        raise TypeError(f"a hook wrapper must be a generator function; it returned {gen!r}")
                    try:
                        next(gen)
                    except StopIteration:
                        raise RuntimeError(
                            "the wrapper returned without yielding; it must yield once"
                        ) from None
                if trace:
                    _trace_line(f"  {hook}: wrapper '{plugin}' entered")
                try:
                    sent = yield
                except GeneratorExit:
                    gen.close()
                    raise
                except BaseException as thrown:
                    with named(plugin, where, passing=thrown):
                        try:
                            gen.throw(thrown)
                        except StopIteration as stop:
                            return stop.value
                        raise RuntimeError("the wrapper yielded a second time; it must yield once") from None
                with named(plugin, where):
                    try:
                        gen.send(sent)
                    except StopIteration as stop:
                        return stop.value
                    raise RuntimeError("the wrapper yielded a second time; it must yield once")

            shim: Callable[..., Any] = wrapper_shim
        else:
            rule = self.rules.get(hook)

            def impl_shim(*args: Any, **kwargs: Any) -> Any:
                args2, kwargs2 = bound(args, kwargs)
                tick = time.perf_counter()

                def call() -> Any:
                    with named(plugin, where):
                        return function(*args2, **kwargs2)

                try:
                    return call() if rule is None else rule(plugin, call, self.failures)
                finally:
                    if trace:
                        took = (time.perf_counter() - tick) * 1000
                        _trace_line(f"  {hook}: plugin '{plugin}' took {took:.1f} ms")

            shim = impl_shim
        setattr(shim, _SHIMMED, function)
        return shim


# -- Tracing (SIGFORGE_TRACE_PLUGINS=1), after datasette's DATASETTE_TRACE_PLUGINS: each hook call
# with its arguments and its implementations in the order pluggy calls them, each plugin's time,
# and the call's outcome and duration, on stderr.

_started: list[float] = []


def _trace_line(text: str) -> None:
    print(f"sigforge trace: {text}", file=sys.stderr, flush=True)


def _order(impls: list[pluggy.HookImpl]) -> str:
    def label(impl: pluggy.HookImpl) -> str:
        marks = [m for m in ("tryfirst", "trylast", "wrapper", "hookwrapper") if getattr(impl, m)]
        return impl.plugin_name + (f" [{', '.join(marks)}]" if marks else "")

    return ", ".join(label(impl) for impl in reversed(impls)) or "none"


def _trace_before(hook: str, impls: list[pluggy.HookImpl], kwargs: dict[str, Any]) -> None:
    args = ", ".join(f"{k}={_repr.repr(v)}" for k, v in kwargs.items())
    _trace_line(f"{hook}({args}) -> {_order(impls)}")
    _started.append(time.perf_counter())


def _trace_after(
    outcome: pluggy.Result[Any], hook: str, impls: list[pluggy.HookImpl], kwargs: dict[str, Any]
) -> None:
    took = (time.perf_counter() - _started.pop()) * 1000 if _started else 0.0
    if outcome.exception is not None:
        ended = f"raised {type(outcome.exception).__name__}: {one_line(outcome.exception)}"
    else:
        ended = f"returned {_repr.repr(outcome.get_result())}"
    _trace_line(f"{hook} {ended} in {took:.1f} ms")
