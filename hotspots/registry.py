"""The map-method registry: the one place that knows which map methods exist.

The CLI's ``--method`` choices, the dashboard's switcher, the tasking pack and ``hotspots
evaluate``'s default comparison all iterate :func:`specs`; nothing else compares method names.
A new method is one module defining a :class:`~hotspots.method_spec.MethodSpec` and one entry
in the list at the bottom of this module (or a :func:`register` call, as a test's toy method
does; see ``CONTRIBUTING.md``).
"""

from __future__ import annotations

from hotspots import method_clusters, method_emerging, method_gistar, method_kde
from hotspots.errors import ParameterError
from hotspots.method_spec import MapMethod, MethodSpec
from hotspots.models.clusters import CLUSTER_METHODS
from hotspots.models.scoring import Method, counts_candidate
from hotspots.models.significance import CORRECTIONS

_REGISTRY: dict[str, MethodSpec] = {}


def register(spec: MethodSpec, *, replace: bool = False) -> MethodSpec:
    """Add a map method to the registry and return it.

    Parameters
    ----------
    spec : MethodSpec
    replace : bool, default False
        Allow a spec to take over a registered name.

    Raises
    ------
    ParameterError
        The name is taken (and ``replace`` is False) or not a plain lower-case word.
    """
    if not spec.name or not spec.name.replace("_", "").isalnum() or spec.name != spec.name.lower():
        raise ParameterError(f"map method name {spec.name!r} must be a lower-case word")
    if spec.name in _REGISTRY and not replace:
        raise ParameterError(f"map method {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a map method (a test's toy method, a force's trial one)."""
    _REGISTRY.pop(name, None)


def specs() -> list[MethodSpec]:
    """Every registered map method, in registration order (the switcher's order)."""
    return list(_REGISTRY.values())


def names() -> list[str]:
    """The registered methods' names, e.g. ``["kde", "gistar", "emerging", "clusters"]``."""
    return list(_REGISTRY)


def get(name: str) -> MethodSpec:
    """The spec of ``name``, or a one-line error listing the methods there are."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown map method {name!r}; choose one of "
                             + ", ".join(_REGISTRY)) from None


def default() -> MethodSpec:
    """The method the map opens with: the first registered (KDE)."""
    return specs()[0]


def check(method: MapMethod) -> MapMethod:
    """Return ``method`` if its name and options are known, else raise a one-line error."""
    get(method.name)
    if method.correction not in CORRECTIONS:
        raise ParameterError(f"unknown correction {method.correction!r}; choose one of "
                             + ", ".join(CORRECTIONS))
    if method.cluster_method not in CLUSTER_METHODS:
        raise ParameterError(f"unknown clustering {method.cluster_method!r}; choose one of "
                             + ", ".join(CLUSTER_METHODS))
    return method


def backtest_methods() -> list[Method]:
    """``hotspots evaluate``'s default comparison: each method's candidates, then the naive
    last-month counts baseline."""
    out = [m for spec in specs() for m in spec.candidates()]
    return out + [counts_candidate()]


for _spec in (method_kde.SPEC, method_gistar.SPEC, method_emerging.SPEC, method_clusters.SPEC):
    register(_spec)
