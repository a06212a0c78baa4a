"""Plugin manager: loads ``ocop.plugins`` entry points into pluggy.

Built-in plugins are registered through the same entry points as third-party
ones, so ``pip install`` of a distribution declaring
``[options.entry_points] ocop.plugins = name = package.module`` is enough.
A plugin may put its HTTP hooks (``register_blueprints``, ``register_console_pages``,
``register_site_pages``) in a second module declared under ``ocop.plugins.web`` with the same name:
only the web app loads it (:meth:`OcopPluginManager.load_web_entry_points`), so Celery workers,
``ocop`` commands and feed builds never import the plugin's routes, schemas, console or site code.
``OCOP_PLUGINS_DISABLED`` (comma list of entry-point names) skips plugins, web modules included.
:class:`LazyModule` loads a heavy optional library (Stripe's SDK, openpyxl) on first use.
"""
from __future__ import annotations

import importlib
import importlib.metadata as md
import logging
from dataclasses import dataclass, field

import pluggy
from flask import current_app

from core import hookspecs

ENTRY_POINT_GROUP = "ocop.plugins"
WEB_ENTRY_POINT_GROUP = "ocop.plugins.web"
WEB_SUFFIX = ".web"  # pluggy name of a plugin's web module: "<entry point name>.web"
log = logging.getLogger(__name__)


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str | None
    version: str | None
    enabled: bool
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "module": self.module, "distribution": self.distribution,
                "version": self.version, "enabled": self.enabled, "hooks": self.hooks}


class KindRegistry:
    """Collects kinds (sales channels, stock locations) registered by the core and plugins."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict] = {}
        self._posting_rules: dict[str, object] = {}
        self._no_pickup: set[str] = set()

    def add(self, code: str, name_vi: str, name_en: str, posting_rule=None, pickup: bool = True) -> None:
        """Register a kind. Stock location kinds: ``posting_rule(user, location)`` raises unless ``user``
        may post stock there (it then holds for the core stock API as for the plugin's own endpoints);
        ``pickup=False``: shoppers never collect orders there (goods in transit)."""
        self._kinds[code] = {"code": code, "name": name_vi, "name_en": name_en}
        if posting_rule is not None:
            self._posting_rules[code] = posting_rule
        if not pickup:
            self._no_pickup.add(code)

    def no_pickup_kinds(self) -> set[str]:
        """Kinds registered with ``pickup=False``."""
        return set(self._no_pickup)

    def posting_rule(self, code: str):
        """The posting rule a plugin gave ``code``, or None (the core's own scope rule)."""
        return self._posting_rules.get(code)

    def __contains__(self, code: str) -> bool:
        return code in self._kinds

    def all(self) -> list[dict]:
        return list(self._kinds.values())


class OcopPluginManager(pluggy.PluginManager):
    """pluggy manager that remembers where each plugin came from."""

    def __init__(self) -> None:
        super().__init__("ocop")
        self.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._entry_point_names: set[str] = set()
        self._web_modules: dict[str, object] = {}  # entry point name -> its loaded ocop.plugins.web module
        self.sales_channel_kinds = KindRegistry()
        self.stock_location_kinds = KindRegistry()
        self.sales_channel_kinds.add("online_store", "Cửa hàng trực tuyến", "Online store")
        self.stock_location_kinds.add("producer_warehouse", "Kho của chủ thể", "Producer warehouse")

    def load_entry_points(self, disabled: list[str]) -> None:
        """Import and register every ``ocop.plugins`` entry point not in ``disabled``."""
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in self.infos:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(name=ep.name, module=ep.value, enabled=ep.name not in disabled,
                              distribution=dist.name if dist else None,
                              version=dist.version if dist else None)
            self.infos[ep.name] = info
            self._entry_point_names.add(ep.name)
            if not info.enabled:
                continue
            module = ep.load()
            self.register(module, name=ep.name)

    def load_web_entry_points(self) -> None:
        """Register the ``ocop.plugins.web`` module of every registered entry-point plugin (the web app's
        HTTP hooks; a disabled plugin's is skipped). Idempotent."""
        for ep in sorted(md.entry_points(group=WEB_ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in self._web_modules or ep.name not in self._entry_point_names or not self.is_enabled(ep.name):
                continue
            module = ep.load()
            if self.is_registered(module):  # the same module under both groups: already registered
                continue
            self._web_modules[ep.name] = module
            super().register(module, name=ep.name + WEB_SUFFIX)
        self.check_pending()

    def register(self, plugin, name=None):
        name = super().register(plugin, name=name)
        if name in self._entry_point_names:
            self.infos[name].enabled = True  # registered again after unregister()
            web = self._web_modules.get(name)
            if web is not None and not self.has_plugin(name + WEB_SUFFIX):
                super().register(web, name=name + WEB_SUFFIX)
        elif name and name not in self.infos:
            module = getattr(plugin, "__name__", None) or type(plugin).__module__
            self.infos[name] = PluginInfo(name=name, module=module, distribution=None,
                                          version=None, enabled=True)
        return name

    def unregister(self, plugin=None, name=None):
        """Remove a plugin; it disappears from :meth:`describe` (an entry point stays listed, disabled)."""
        name = name or (self.get_name(plugin) if plugin is not None else None)
        removed = super().unregister(plugin=plugin, name=name)
        if name in self._entry_point_names:
            self.infos[name].enabled = False
            if self.has_plugin(name + WEB_SUFFIX):
                super().unregister(name=name + WEB_SUFFIX)
        else:
            self.infos.pop(name, None)
        return removed

    def start(self) -> None:
        """Fail loudly on hook implementations without a spec; replay registration hooks."""
        self.check_pending()
        self.hook.register_sales_channel_kinds.call_historic(kwargs={"registry": self.sales_channel_kinds})
        self.hook.register_stock_location_kinds.call_historic(kwargs={"registry": self.stock_location_kinds})

    def describe(self) -> list[dict]:
        """Name, version, enabled flag and implemented hooks of every known plugin (with those of its web
        module once the web app loaded it)."""
        result = []
        for name, info in sorted(self.infos.items()):
            parts = [p for p in (self.get_plugin(name), self.get_plugin(name + WEB_SUFFIX)) if p is not None]
            info.hooks = sorted({hc.name for p in parts for hc in self.get_hookcallers(p) or []})
            result.append(info.as_dict())
        return result

    def is_enabled(self, name: str) -> bool:
        return self.get_plugin(name) is not None

    def migration_components(self) -> list[tuple[str, str]]:
        """``(component, versions_dir)`` of enabled plugins that ship migrations."""
        found = []
        for result in self.hook.register_migrations():
            if result:
                found.append(tuple(result))
        return found


class LazyModule:
    """A third-party module imported on first attribute access.

    ``stripe = LazyModule("stripe")`` at the top of a module names the dependency where imports are read,
    while the library (and what it imports) loads only when code first uses ``stripe.…``: a process that
    never takes a card payment or reads a spreadsheet (a Celery worker, a feed build) does not carry it.
    For project modules use ordinary imports (import-linter must see them).
    """
    __slots__ = ("_name", "_module")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module = None

    def __getattr__(self, attr: str):
        if self._module is None:
            self._module = importlib.import_module(self._name)  # the import lock makes this thread-safe
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<LazyModule {self._name!r}{' (loaded)' if self._module is not None else ''}>"


def build_plugin_manager(disabled: list[str]) -> OcopPluginManager:
    """Create a manager with all enabled entry-point plugins registered and started."""
    pm = OcopPluginManager()
    pm.load_entry_points(disabled)
    pm.start()
    return pm


def plugin_manager() -> OcopPluginManager:
    """The current app's plugin manager."""
    return current_app.extensions["ocop_plugins"]


def hooks():
    """Shortcut for ``plugin_manager().hook`` (call hooks with keyword arguments)."""
    return plugin_manager().hook
