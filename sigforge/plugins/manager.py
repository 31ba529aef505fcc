"""The plugin manager: built-ins, installed entry points and modules named in config, one mechanism.

Registries (naming policies, preprocessors, models) are filled by calling each plugin's
``register_*`` hook separately, so that every registered name remembers the plugin it came from:
an unknown name lists what is registered, and a name registered twice names both plugins.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from sigforge import PROJECT_NAME
from sigforge.errors import REMOVAL_VERSION, PluginError, SigforgeDeprecationWarning
from sigforge.plugins import hookspecs
from sigforge.plugins.calling import PerPlugin, Rule, ShimmedPluginManager, named
from sigforge.plugins.guard import failure_reason, plugin_call, plugin_failure
from sigforge.rules import MODULE_PATH_PATTERN, full_name
from sigforge.spec import Registered

__all__ = [
    "Plugins",
    "Registered",
    "Registry",
    "SigforgeDeprecationWarning",
    "call_hook",
    "call_with_params",
    "load_plugins",
]


ENTRY_POINT_GROUP = "sigforge"
BUILTIN_MODULES = (
    "sigforge.plugins.builtin.naming",
    "sigforge.plugins.builtin.preprocessors",
    "sigforge.plugins.builtin.models",
)


@dataclass
class Registry:
    """Names of one kind (``naming policy``, ``preprocessor``, ``model``) to what provides them."""

    kind: str
    entries: dict[str, Registered] = field(default_factory=dict)

    def add(self, name: object, value: object, plugin: str) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(
                f"plugin '{plugin}' registered a {self.kind} under {name!r}: the name must be a non-empty string."
            )
        if not callable(value):
            raise PluginError(
                f"plugin '{plugin}' registered {self.kind} '{name}' as {type(value).__name__}, "
                "which is not callable; register a function or class."
            )
        if name in self.entries:
            other = self.entries[name].plugin
            raise PluginError(
                f"{self.kind} '{name}' is registered twice, by plugin '{other}' and by plugin '{plugin}'; "
                "rename one of them or uninstall one plugin."
            )
        self.entries[name] = Registered(name, value, plugin)

    def get(self, name: str, where: str) -> Registered:
        try:
            return self.entries[name]
        except KeyError:
            raise PluginError(self.unknown(name, where)) from None

    def unknown(self, name: str, where: str) -> str:
        known = ", ".join(sorted(self.entries)) or "none"
        return (
            f"{where} = '{name}' is not a registered {self.kind} (registered: {known}); "
            f"pick one of these or install the plugin that provides it."
        )

    def __contains__(self, name: object) -> bool:
        return name in self.entries


class Plugins:
    """A plugin manager with its registries built; the one object later stages ask about plugins.

    Every hook is called through pluggy's caller (``pm.hook.<name>(...)``): its order, its hook
    wrappers and ``firstresult`` apply; ``calling.ShimmedPluginManager`` names each failure."""

    def __init__(self, pm: ShimmedPluginManager) -> None:
        self.pm = pm
        _check_hook_names(pm)
        self.naming_policies = Registry("naming policy")
        self.preprocessors = Registry("preprocessor")
        self.models = Registry("model")
        pm.hook.register_naming_policies(register=_Register(self.naming_policies))
        pm.hook.register_preprocessors(register=_Register(self.preprocessors))
        pm.hook.register_models(register=_Register(self.models))

    def validate_signature(self, signature: object) -> list[str]:
        """Problems every plugin's ``validate_signature`` finds, each prefixed with the plugin's name."""
        found = self.pm.hook.validate_signature(signature=signature)
        return [problem for problems in found for problem in problems]

    def export_finished(self, result: object) -> list[str]:
        """Run every ``export_finished`` hook; return the failures (the export itself stands)."""
        failures = self.pm.failures
        start = len(failures)
        try:
            self.pm.hook.export_finished(result=result)
        except PluginError as err:  # a wrapper's own failure (the implementations' are set aside)
            failures.append(str(err))
        found = failures[start:]
        del failures[start:]
        return found


class _Register(PerPlugin):
    """The ``register`` argument of the registration hooks: each plugin gets one that knows it."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def bind(self, plugin: str) -> Callable[[str, Callable[..., Any]], None]:
        def register(name: str, value: Callable[..., Any]) -> None:
            self.registry.add(name, value, plugin)

        return register


def _problems(plugin: str, call: Callable[[], Any], failures: list[str]) -> list[str] | None:
    """``validate_signature``'s rule: a list of strings (or None), each prefixed with the plugin."""
    found = call()
    if found is None:
        return None
    if isinstance(found, str) or not isinstance(found, Iterable):
        raise PluginError(
            f"plugin '{plugin}' hook validate_signature returned {type(found).__name__}; "
            "it must return a list of problem strings (or [] / None)."
        )
    return [f"plugin '{plugin}': {p}" for p in found]


def _set_aside(plugin: str, call: Callable[[], Any], failures: list[str]) -> None:
    """``export_finished``'s rule: a failure is reported, the other plugins' hooks still run."""
    try:
        call()
    except PluginError as err:
        failures.append(str(err))


RULES: dict[str, Rule] = {"validate_signature": _problems, "export_finished": _set_aside}


def call_hook(plugin: str, hook: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a callable a plugin registered (a policy, a factory, a builder); any exception becomes
    an error that names the plugin and the callable (``calling.named``)."""
    with named(plugin, hook):
        return function(*args, **kwargs)


def call_with_params(
    entry: Registered, what: str, *args: Any, params: Mapping[str, Any], old_form: str
) -> Any:
    """Call a registered naming policy or model builder the one way plugins get parameters: as
    keyword arguments (``policy(input, signature, **params)``, ``builder(model, inputs, **params)``).

    A callable written for the old form (positional arguments only, parameters read from the
    objects) is still called that way for one release, with a SigforgeDeprecationWarning."""
    if _takes(entry.value, params):
        return call_hook(entry.plugin, what, entry.value, *args, **params)
    warnings.warn(
        f"plugin '{entry.plugin}': {what} takes no keyword parameters ({old_form} is deprecated and goes "
        f"in sigforge {REMOVAL_VERSION}); accept them as keyword arguments, e.g. def f(..., **params). "
        f"Parameters: {', '.join(params) or 'none'}.",
        SigforgeDeprecationWarning,
        stacklevel=2,
    )
    return call_hook(entry.plugin, what, entry.value, *args)


def _takes(function: Callable[..., Any], params: Mapping[str, Any]) -> bool:
    """Whether ``function`` accepts every name in ``params`` as a keyword argument."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin or C callable: assume the current form
        return True
    accepted = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted):
        return True
    names = {p.name for p in accepted if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return set(params) <= names


def make_plugin_manager(modules: Sequence[str] = (), *, entry_points: bool = True) -> ShimmedPluginManager:
    """Built-ins, then installed entry points (group ``sigforge``), then ``plugins.modules``."""
    pm = ShimmedPluginManager(PROJECT_NAME, RULES)
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_MODULES:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            plugin = _load(ep.value, f"entry point '{ep.name} = {ep.value}' (group '{ENTRY_POINT_GROUP}')")
            _register(pm, plugin, ep.name, f"entry point '{ep.name} = {ep.value}'")
    for index, module in enumerate(modules):
        where = f"plugins.modules[{index}] = '{module}'"
        if not full_name(MODULE_PATH_PATTERN, module):
            raise PluginError(f"{where} is not a dotted module path; write it like 'team_pkg.plugin'.")
        if pm.get_plugin(module) is None:
            _register(pm, _load(module, where), module, where)
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str, where: str) -> None:
    """pluggy validates hook implementations on registration (argument names, hook names)."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as err:
        raise PluginError(
            f"plugin '{name}' ({where}) does not fit sigforge's hooks: {_joined(err)}. Name the hook's arguments "
            "as sigforge.plugins.hookspecs does, e.g. def register_models(register)."
        ) from err


def _joined(err: BaseException) -> str:
    """pluggy's validation message spans lines (plugin, hookimpl, the arguments at fault): one line."""
    return "; ".join(line.strip() for line in str(err).splitlines() if line.strip())


def _load(target: str, where: str) -> ModuleType | object:
    module_name, _, attr = target.partition(":")
    try:
        with plugin_call(target):
            obj: Any = importlib.import_module(module_name)
            for part in filter(None, attr.split(".")):
                obj = getattr(obj, part)
    except BaseException as err:  # sys.exit() at import too: sigforge must not end with it
        if not plugin_failure(err):
            raise
        raise PluginError(
            f"{where} could not be imported: {failure_reason(err)}; "
            "install the package that provides it or correct the name."
        ) from err
    return obj


def _check_hook_names(pm: pluggy.PluginManager) -> None:
    """A misspelt hook would silently never run; pluggy reports it, we say which plugin and hook."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        raise PluginError(
            f"plugin '{pm.get_name(err.plugin)}' implements a hook sigforge does not define: {_joined(err)}; "
            "see sigforge.plugins.hookspecs (docs/plugins.md) for the hook names."
        ) from err


def load_plugins(modules: Sequence[str] = (), *, entry_points: bool = True) -> Plugins:
    """The usual entry: a plugin manager with registries, ready for the spec stage."""
    return Plugins(make_plugin_manager(modules, entry_points=entry_points))
