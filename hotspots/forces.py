"""The 43 police forces of England and Wales: names, codes, districts, neighbours, regions.

The fixed facts (police.uk slug and name, ONS code, the title used in headings, the ROCU
region) are the table below; districts and neighbours are computed from the shipped ONS
boundaries (``data/boundaries/national/``), so they follow the data. Regions are the ten
regions of the ROCU network (see ``docs/forces.md`` for the source and caveats), plus any
named group of forces in the settings (``[regions]`` in ``hotspots.toml``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from hotspots.config import Settings
from hotspots.errors import ParameterError

#: Metres two force areas may be apart and still count as sharing a border: the shipped
#: polygons are generalised (200 m), so neighbours may not touch exactly.
NEIGHBOUR_DISTANCE_M = 50.0

# slug (police.uk file names and API id), police.uk name ("Falls within" / "Reported by"),
# ONS PFA code, title for headings, ROCU region slug.
_TABLE = (
    ("avon-and-somerset", "Avon and Somerset Constabulary", "E23000036", "Avon and Somerset",
     "south-west"),
    ("bedfordshire", "Bedfordshire Police", "E23000026", "Bedfordshire", "eastern"),
    ("cambridgeshire", "Cambridgeshire Constabulary", "E23000023", "Cambridgeshire", "eastern"),
    ("cheshire", "Cheshire Constabulary", "E23000006", "Cheshire", "north-west"),
    ("city-of-london", "City of London Police", "E23000034", "City of London", "london"),
    ("cleveland", "Cleveland Police", "E23000013", "Cleveland", "north-east"),
    ("cumbria", "Cumbria Constabulary", "E23000002", "Cumbria", "north-west"),
    ("derbyshire", "Derbyshire Constabulary", "E23000018", "Derbyshire", "east-midlands"),
    ("devon-and-cornwall", "Devon & Cornwall Police", "E23000035", "Devon & Cornwall",
     "south-west"),
    ("dorset", "Dorset Police", "E23000039", "Dorset", "south-west"),
    ("durham", "Durham Constabulary", "E23000008", "Durham", "north-east"),
    ("dyfed-powys", "Dyfed-Powys Police", "W15000004", "Dyfed-Powys", "wales"),
    ("essex", "Essex Police", "E23000028", "Essex", "eastern"),
    ("gloucestershire", "Gloucestershire Constabulary", "E23000037", "Gloucestershire",
     "south-west"),
    ("greater-manchester", "Greater Manchester Police", "E23000005", "Greater Manchester",
     "north-west"),
    ("gwent", "Gwent Police", "W15000002", "Gwent", "wales"),
    ("hampshire", "Hampshire Constabulary", "E23000030", "Hampshire", "south-east"),
    ("hertfordshire", "Hertfordshire Constabulary", "E23000027", "Hertfordshire", "eastern"),
    ("humberside", "Humberside Police", "E23000012", "Humberside", "yorkshire-and-humber"),
    ("kent", "Kent Police", "E23000032", "Kent", "eastern"),
    ("lancashire", "Lancashire Constabulary", "E23000003", "Lancashire", "north-west"),
    ("leicestershire", "Leicestershire Police", "E23000021", "Leicestershire", "east-midlands"),
    ("lincolnshire", "Lincolnshire Police", "E23000020", "Lincolnshire", "east-midlands"),
    ("merseyside", "Merseyside Police", "E23000004", "Merseyside", "north-west"),
    ("metropolitan", "Metropolitan Police Service", "E23000001", "Metropolitan Police",
     "london"),
    ("norfolk", "Norfolk Constabulary", "E23000024", "Norfolk", "eastern"),
    ("north-wales", "North Wales Police", "W15000001", "North Wales", "north-west"),
    ("north-yorkshire", "North Yorkshire Police", "E23000009", "North Yorkshire",
     "yorkshire-and-humber"),
    ("northamptonshire", "Northamptonshire Police", "E23000022", "Northamptonshire",
     "east-midlands"),
    ("northumbria", "Northumbria Police", "E23000007", "Northumbria", "north-east"),
    ("nottinghamshire", "Nottinghamshire Police", "E23000019", "Nottinghamshire",
     "east-midlands"),
    ("south-wales", "South Wales Police", "W15000003", "South Wales", "wales"),
    ("south-yorkshire", "South Yorkshire Police", "E23000011", "South Yorkshire",
     "yorkshire-and-humber"),
    ("staffordshire", "Staffordshire Police", "E23000015", "Staffordshire", "west-midlands"),
    ("suffolk", "Suffolk Constabulary", "E23000025", "Suffolk", "eastern"),
    ("surrey", "Surrey Police", "E23000031", "Surrey", "south-east"),
    ("sussex", "Sussex Police", "E23000033", "Sussex", "south-east"),
    ("thames-valley", "Thames Valley Police", "E23000029", "Thames Valley", "south-east"),
    ("warwickshire", "Warwickshire Police", "E23000017", "Warwickshire", "west-midlands"),
    ("west-mercia", "West Mercia Police", "E23000016", "West Mercia", "west-midlands"),
    ("west-midlands", "West Midlands Police", "E23000014", "West Midlands", "west-midlands"),
    ("west-yorkshire", "West Yorkshire Police", "E23000010", "West Yorkshire",
     "yorkshire-and-humber"),
    ("wiltshire", "Wiltshire Police", "E23000038", "Wiltshire", "south-west"),
)

#: The ROCU regions: slug -> (name, unit). Source and caveats: docs/forces.md.
REGIONS = {
    "north-east": ("North East", "North East ROCU (NERSOU)"),
    "north-west": ("North West", "North West ROCU (TITAN)"),
    "yorkshire-and-humber": ("Yorkshire and the Humber", "Yorkshire and Humber ROCU"),
    "west-midlands": ("West Midlands", "West Midlands ROCU"),
    "east-midlands": ("East Midlands", "East Midlands Special Operations Unit (EMSOU)"),
    "eastern": ("Eastern", "Eastern Region Special Operations Unit (ERSOU)"),
    "london": ("London", "no ROCU: the Metropolitan Police and City of London Police"),
    "south-east": ("South East", "South East ROCU (SEROCU)"),
    "south-west": ("South West", "South West ROCU (Zephyr)"),
    "wales": ("Wales", "Southern Wales ROCU (TARIAN)"),
}

#: Forces police.uk publishes that have no police force area in England and Wales: British
#: Transport Police (the railways across Great Britain) and the Police Service of Northern
#: Ireland (not on the British National Grid). slug -> police.uk name.
NO_AREA_FORCES = {
    "btp": "British Transport Police",
    "northern-ireland": "Police Service of Northern Ireland",
}


@dataclass(frozen=True)
class ForceInfo:
    """The fixed facts of one force.

    Attributes
    ----------
    slug : str
        As police.uk spells it in file names and its API (``devon-and-cornwall``).
    name : str
        As police.uk's "Falls within" / "Reported by" columns give it.
    ons_code : str
        ONS police force area code (``E23000017``).
    title : str
        For headings (``Devon & Cornwall``).
    region : str
        ROCU region slug (a key of :data:`REGIONS`).
    """

    slug: str
    name: str
    ons_code: str
    title: str
    region: str


@dataclass(frozen=True)
class Force(ForceInfo):
    """A force with what the shipped boundaries say about it.

    Attributes
    ----------
    ons_name : str
        The ONS name (``Devon & Cornwall``, ``London, City of``).
    districts : tuple of str
        Its local authority districts, sorted.
    neighbours : tuple of str
        Slugs of the forces whose areas lie within :data:`NEIGHBOUR_DISTANCE_M` of its area.
    """

    ons_name: str = ""
    districts: tuple[str, ...] = ()
    neighbours: tuple[str, ...] = ()


INFO = {row[0]: ForceInfo(*row) for row in _TABLE}


def _norm(text: str) -> str:
    s = str(text).strip().lower().replace("&", "and")
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def _short(text: str) -> str:
    """A name without "Police", "Constabulary", "Police Service (of)": the slug's words."""
    s = str(text).strip().lower().replace("&", "and")
    s = re.sub(r"^police service of\s+", "", s)
    s = re.sub(r"\s+(police service|police|constabulary)$", "", s)
    return _norm(s)


def _aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for f in INFO.values():
        for text in (f.slug, f.name, f.ons_code, f.title):
            out[_norm(text)] = f.slug
            out[_short(text)] = f.slug
    out[_norm("London, City of")] = "city-of-london"
    out[_norm("Metropolitan Police")] = "metropolitan"
    for slug, name in NO_AREA_FORCES.items():
        out[_norm(name)] = slug
        out[_short(name)] = slug
        out[slug] = slug
    return out


_ALIASES = _aliases()


def lookup_slug(text: str) -> str | None:
    """Return the slug of a force named any way police.uk or the ONS names it, or None.

    Accepts the slug, the police.uk name ("Devon & Cornwall Police"), the ONS name ("London,
    City of") or code ("E23000017"), the title, any case. British Transport Police (``btp``)
    and the Police Service of Northern Ireland (``northern-ireland``) are known too, though
    they have no area (:data:`NO_AREA_FORCES`).
    """
    if text is None:
        return None
    key = _norm(text)
    return _ALIASES.get(key) or _ALIASES.get(_short(text))


def force_info(name: str) -> ForceInfo:
    """Return the fixed facts of a force of England and Wales named any way.

    Raises
    ------
    ParameterError
        Not one of the 43 forces (BTP and PSNI included: they have no area).
    """
    slug = lookup_slug(name)
    if slug in NO_AREA_FORCES:
        raise ParameterError(f"{NO_AREA_FORCES[slug]} has no police force area in England "
                             "and Wales; choose a territorial force")
    if slug is None:
        raise ParameterError(f"unknown force {name!r}; run `hotspots forces` for the list, "
                             "e.g. warwickshire, west-mercia, devon-and-cornwall")
    return INFO[slug]


def title(slug: str) -> str:
    """The force's title for headings, or the slug in words for a force not in the table."""
    found = lookup_slug(slug)
    if found in INFO:
        return INFO[found].title
    if found in NO_AREA_FORCES:
        return NO_AREA_FORCES[found]
    return str(slug).replace("-", " ").title()


@lru_cache(maxsize=4)
def _registry(data_dir: str) -> dict[str, Force]:
    import shapely

    from hotspots.spatial.boundaries import national_districts, national_forces

    areas = national_forces(data_dir)
    codes = areas["code"].tolist()
    by_code = {f.ons_code: f for f in INFO.values()}
    missing = sorted(set(by_code) - set(codes))
    if missing:
        raise ParameterError(f"{data_dir}: the national force areas lack {', '.join(missing)}; "
                             "rebuild them with scripts/prepare_national.py")
    tree = shapely.STRtree(areas.geometry.to_numpy())
    a, b = tree.query(areas.geometry.to_numpy(), predicate="dwithin",
                      distance=NEIGHBOUR_DISTANCE_M)
    near: dict[str, set[str]] = {c: set() for c in codes}
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        if i != j and codes[j] in by_code:
            near[codes[i]].add(by_code[codes[j]].slug)
    districts = national_districts(data_dir)
    names = areas.set_index("code")["name"].to_dict()
    out = {}
    for info in INFO.values():
        own = districts.loc[districts["force_code"] == info.ons_code, "name"]
        out[info.slug] = Force(**info.__dict__, ons_name=str(names[info.ons_code]),
                               districts=tuple(sorted(own.tolist())),
                               neighbours=tuple(sorted(near[info.ons_code])))
    return dict(sorted(out.items()))


def registry(settings: Settings) -> dict[str, Force]:
    """Return every force of England and Wales by slug, sorted, with districts and neighbours.

    Parameters
    ----------
    settings : Settings
        Where the shipped national boundaries are.
    """
    return dict(_registry(str(settings.data_dir)))


def get_force(name: str, settings: Settings) -> Force:
    """Return one force named any way :func:`lookup_slug` accepts (``ParameterError`` if not)."""
    return registry(settings)[force_info(name).slug]


def regions(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Return every region (slug -> force slugs): the ROCU regions, then the settings' own.

    A region in the settings (``[regions] mine = ["warwickshire", "west-mercia"]``) with the
    name of a ROCU region replaces it.
    """
    out = {slug: tuple(f.slug for f in INFO.values() if f.region == slug) for slug in REGIONS}
    for name, members in settings.regions.items():
        out[_norm(name)] = tuple(force_info(m).slug for m in members)
    return out


def region_name(region: str, settings: Settings) -> str:
    """A region's name for headings: the ROCU region's name, or the settings' own key."""
    key = _norm(region)
    for name in settings.regions:
        if _norm(name) == key:
            return str(name)
    return REGIONS[key][0] if key in REGIONS else str(region)


def region_slug(region: str, settings: Settings) -> str:
    """Return the slug of a region named by slug or name (``ParameterError`` if unknown)."""
    known = regions(settings)
    key = _norm(region)
    if key not in known:
        # A ROCU region by its name ("Yorkshire and the Humber") rather than its slug.
        key = next((slug for slug, (name, _) in REGIONS.items() if _norm(name) == key), key)
    if key not in known or not known[key]:
        raise ParameterError(f"unknown region {region!r}; choose one of {', '.join(known)}")
    return key


def region_forces(region: str, settings: Settings) -> tuple[str, ...]:
    """Return the force slugs of a region named by slug or name (``ParameterError`` if not)."""
    return regions(settings)[region_slug(region, settings)]


def resolve_forces(forces: Sequence[str] | None, region: str | None, settings: Settings
                   ) -> tuple[str, ...]:
    """Return the slugs a request names: a region's forces, the forces given, or none.

    Raises
    ------
    ParameterError
        An unknown force or region, or both forces and a region.
    """
    if region and forces:
        raise ParameterError("give forces or a region, not both")
    if region:
        return region_forces(region, settings)
    return tuple(dict.fromkeys(force_info(f).slug for f in forces or ()))


def default_force(settings: Settings, held: Sequence[str] = ()) -> str:
    """The force an analysis is about when none is named.

    The configured force (``settings.force``), unless the store holds other forces but not
    it and exactly one of them (a store built for one force, e.g. Essex).

    Parameters
    ----------
    settings : Settings
    held : sequence of str
        Force slugs the store holds.
    """
    held = [f for f in held if f in INFO]
    if settings.force in held or len(held) != 1:
        return settings.force
    return held[0]
