"""The Selection: which force, which area, which months, which crimes.

One frozen value, validated once where a request enters (each CLI command builds one; the
dashboard turns its sidebar into one with ``Params.to_selection``), then passed to the query
(:func:`hotspots.query.select`), ``auto``'s back-test, the tasking pack and the report. It
resolves its area to a geometry once and names itself for titles, so the same selection reads
the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from hotspots import forces as force_registry
from hotspots import months, wording
from hotspots.config import Settings
from hotspots.errors import NoDataError, ParameterError
from hotspots.schema import CRIME_GROUPS
from hotspots.spatial import boundaries

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

#: The area value meaning the whole force area.
FORCE_AREA = "force"
#: Area words that mean the whole force area.
_WHOLE = ("force", "all", "")


@dataclass(frozen=True)
class Selection:
    """Force, area, period and crimes of one analysis.

    Build it with :meth:`Selection.build`, which validates every
    field once; derive variants with :meth:`with_`.

    Attributes
    ----------
    start, end : str
        First and last month, ``YYYY-MM``, inclusive.
    groups : tuple of str
        Crime groups (``acquisitive``, ``soc``, ...); ignored when ``types`` are given.
    types : tuple of str
        police.uk crime types; when given they alone select the crimes.
    area : str
        ``"force"`` (the whole area of the selected forces) or a district name of one of
        them, as the boundaries spell it.
    force : str
        The first of ``forces`` (the settings' force by default).
    forces : tuple of str
        Every force selected (slugs): one force, or a region's forces.
    region : str
        The region the forces were chosen as (its slug), or "" for forces named one by one.
    settings : Settings
        Where the boundaries live; not part of the selection's identity.
    """

    start: str
    end: str
    groups: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    area: str = FORCE_AREA
    force: str = ""
    forces: tuple[str, ...] = ()
    region: str = ""
    settings: Settings | None = field(default=None, compare=False, repr=False)

    # ------------------------------------------------------------------ construction

    @classmethod
    def build(cls, settings: Settings, *, start: str, end: str,
              groups: Sequence[str] | str | None = None,
              types: Sequence[str] | str | None = None,
              area: str | None = None, force: str | None = None,
              forces: Sequence[str] | None = None, region: str | None = None,
              require_crimes: bool = True) -> Selection:
        """Validate the parts of a selection and return it.

        Parameters
        ----------
        settings : Settings
        start, end : str
            ``YYYY-MM``; ``end`` not before ``start``.
        groups, types : sequence of str, optional
            At least one of the two unless ``require_crimes`` is False.
        area : str, optional
            None, ``"force"`` or a district name of the selected forces (any case).
        force : str, optional
            One force (slug or name); default ``settings.force``.
        forces : sequence of str, optional
            Several forces (slugs or names), instead of ``force``.
        region : str, optional
            A region (ROCU or the settings' ``[regions]``), instead of ``force``/``forces``.
        require_crimes : bool, default True

        Returns
        -------
        Selection

        Raises
        ------
        ParameterError
            A malformed or reversed month, an unknown crime group, no crimes chosen.
            An unknown force or region.
        NoDataError
            An unknown area name.
        """
        first, last = months.check_period(start, end)
        # Names match in any case ("burglary", "ACQUISITIVE"), spelt back as configured.
        group_items = tuple(dict.fromkeys(g.lower() for g in _names(groups, "crime groups")))
        type_items = _canonical_types(_names(types, "crime types"), settings)
        valid = sorted(set(CRIME_GROUPS) | set(settings.crime_groups.values()))
        unknown = [g for g in group_items if g not in valid]
        if unknown:
            raise ParameterError(f"unknown crime group(s) {', '.join(map(repr, unknown))}; "
                                 f"choose from {', '.join(valid)}")
        if require_crimes and not group_items and not type_items:
            raise ParameterError("choose crimes: give crime groups or crime types")
        chosen = force_registry.resolve_forces(
            [*([force] if force else []), *(forces or [])], region, settings) or \
            (force_registry.force_info(settings.force).slug,)
        region_slug = force_registry.region_slug(region, settings) if region else ""
        return cls(start=first, end=last, groups=group_items, types=type_items,
                   area=_canonical_area(area, settings, chosen), force=chosen[0],
                   forces=chosen, region=region_slug, settings=settings)

    def with_(self, **changes: Any) -> Selection:
        """Return a copy with ``changes`` applied and validated again."""
        base = {"start": self.start, "end": self.end, "groups": self.groups,
                "types": self.types, "area": self.area}
        if "force" in changes or "forces" in changes or "region" in changes:
            base.update(force=None, forces=None, region=None)
        elif self.region:
            base["region"] = self.region
        else:
            base["forces"] = self.forces or (self.force,)
        base.update(changes)
        settings = base.pop("settings", None) or self._settings()
        return Selection.build(settings, require_crimes=False, **base)

    def previous(self) -> Selection:
        """The period of the same length just before this one (same area and crimes)."""
        start, end = months.previous_period(self.start, self.end)
        return replace(self, start=start, end=end)

    # ------------------------------------------------------------------ what it selects

    @property
    def whole_force(self) -> bool:
        """Whether the area is the whole force area."""
        return self.area == FORCE_AREA

    @property
    def months(self) -> list[str]:
        """Every calendar month of the period, ``YYYY-MM``."""
        return months.month_range(self.start, self.end)

    @property
    def crime_filter(self) -> dict[str, list[str] | None]:
        """``groups``/``types`` keyword arguments for :func:`hotspots.query.load_incidents`:
        types alone when given, else groups."""
        if self.types:
            return {"groups": None, "types": list(self.types)}
        return {"groups": list(self.groups) or None, "types": None}

    @cached_property
    def geometry(self) -> BaseGeometry:
        """The area's polygon in EPSG:27700, resolved once per selection."""
        return boundaries.area_geometry(None if self.whole_force else self.area,
                                        self._settings(), forces=self.all_forces)

    @property
    def all_forces(self) -> tuple[str, ...]:
        """Every force selected (slugs); a selection made without them has its one force."""
        return self.forces or (self.force,)

    @property
    def area_km2(self) -> float:
        """The area's size, km²."""
        return float(self.geometry.area) / 1e6

    # ------------------------------------------------------------------ words

    @property
    def crimes(self) -> str:
        """The crimes in words, e.g. ``"acquisitive crime"`` or ``"Burglary"``."""
        if not self.groups and not self.types:
            return "no crime chosen"
        return wording.crimes_label(self.groups, self.types)

    @property
    def forces_name(self) -> str:
        """The forces in words: the region's name, or the forces' titles."""
        if self.region and self.settings is not None:
            return force_registry.region_name(self.region, self.settings)
        titles = [force_registry.title(f) for f in self.all_forces]
        return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]

    @property
    def area_name(self) -> str:
        """The area for a title: the forces' (or region's) name, or the district."""
        return self.forces_name if self.whole_force else self.area

    @property
    def area_label(self) -> str:
        """The area for a table or caption, e.g. ``"Essex (force area)"``."""
        if not self.whole_force:
            return self.area
        several = len(self.all_forces) > 1
        return f"{self.area_name} ({'force areas' if several else 'force area'})"

    @property
    def period_label(self) -> str:
        """The period in words, e.g. ``"Oct–Dec 2025"``."""
        return wording.period_label(self.start, self.end)

    @property
    def title(self) -> str:
        """``"Acquisitive crime · Rugby · Oct–Dec 2025"``: crimes · area · period."""
        crimes = self.crimes
        return f"{crimes[:1].upper()}{crimes[1:]} · {self.area_name} · {self.period_label}"

    def to_dict(self) -> dict[str, Any]:
        """The selection as JSON-ready values (for ``params``, audit lines and URLs)."""
        out = asdict(self)
        out.pop("settings")
        out["groups"], out["types"] = list(self.groups), list(self.types)
        out["forces"] = list(self.all_forces)
        return out

    def _settings(self) -> Settings:
        if self.settings is None:
            raise ParameterError("this selection was made without settings; build it with "
                                 "Selection.build(settings, ...)")
        return self.settings


def _names(value: Sequence[str] | str | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(v, str) and v.strip() for v in items):
        raise ParameterError(f"{what} must be names, got {items!r}")
    return tuple(dict.fromkeys(v.strip() for v in items))


def _canonical_types(types: tuple[str, ...], settings: Settings) -> tuple[str, ...]:
    """Crime types spelt as police.uk spells them (the settings' type-to-group table), matched
    in any case; a type the table does not know is left for the store to judge."""
    known = {name.lower(): name for name in settings.crime_groups}
    return tuple(dict.fromkeys(known.get(t.lower(), t) for t in types))


def _canonical_area(area: str | None, settings: Settings, forces: tuple[str, ...]) -> str:
    """``"force"`` for the whole area of the forces, else the district as the boundaries
    spell it."""
    text = "" if area is None else str(area).strip()
    if text.lower() in (*_WHOLE, *forces):
        return FORCE_AREA
    names = boundaries.district_names(settings, forces)
    for name in names:
        if name.lower() == text.lower():
            return name
    raise NoDataError(f"unknown area {area!r}; choose the force or one of: " + ", ".join(names))
