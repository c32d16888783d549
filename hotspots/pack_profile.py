"""The tasking pack as a problem profile (National Intelligence Model): the cover's document
details, the key findings, the terms of reference, the recommendations under the four Ps
(drafted from the findings, editable by the analyst), the intelligence and data gaps, and the
test of whether a change in a count is beyond chance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from scipy.stats import binomtest

from hotspots.errors import ParameterError

__all__ = ["FOUR_PS", "SMALL_COUNT", "ProfileDetails", "apply_recommendations",
           "change_test", "change_words", "draft_recommendations", "intelligence_gaps",
           "key_findings", "terms_of_reference"]

#: The four Ps of the tasking and co-ordinating group's plan, in order, with what each covers.
FOUR_PS: dict[str, str] = {
    "Pursue": "enforcement: patrol, stop-check, arrest and disrupt offenders",
    "Prevent": "stop people offending: partners, problem-solving, offender management",
    "Protect": "harden targets and places: crime prevention advice, security, design",
    "Prepare": "be ready: review, intelligence collection, resources for the next period",
}

#: Below this many incidents in the earlier period a change is shown as counts only: a
#: percentage of a small number misleads ("+500%" for 1 to 6).
SMALL_COUNT = 20

#: Significance level of "beyond chance".
ALPHA = 0.05


@dataclass(frozen=True)
class ProfileDetails:
    """The cover's document details.

    Attributes
    ----------
    author, owner : str
        Who wrote the pack and who owns it (e.g. the district's tasking chair); "" when not
        given (the cover says "not stated").
    version : str
    issued : date
    review : date
        Review date; default four weeks after ``issued``.
    handling : str
        Handling note under the protective marking.
    """

    author: str = ""
    owner: str = ""
    version: str = "1.0"
    issued: date | None = None
    review: date | None = None
    handling: str = ("Not for release outside the police service and its tasking partners "
                     "without the owner's agreement. Do not copy, forward or leave unattended; "
                     "destroy securely when superseded.")

    @classmethod
    def build(cls, *, author: str = "", owner: str = "", version: str = "1.0",
              issued: date | datetime | None = None, review: date | str | None = None,
              handling: str | None = None) -> ProfileDetails:
        """Validated details: one line each, review date not before the issue date.

        Raises
        ------
        ParameterError
            A review date before the issue date, or not a YYYY-MM-DD date.
        """
        issued_d = (issued.date() if isinstance(issued, datetime) else issued) or date.today()
        if isinstance(review, str) and review.strip():
            try:
                review = date.fromisoformat(review.strip())
            except ValueError:
                raise ParameterError(f"review date {review!r}: give YYYY-MM-DD") from None
        review_d = review or issued_d + timedelta(days=28)
        if review_d < issued_d:
            raise ParameterError(f"the review date {review_d} is before the issue date "
                                 f"{issued_d}")
        one = lambda s: " ".join(str(s or "").split())  # noqa: E731 - one line of text
        out = cls(author=one(author), owner=one(owner), version=one(version) or "1.0",
                  issued=issued_d, review=review_d)
        return replace(out, handling=one(handling)) if handling else out

    def rows(self) -> list[tuple[str, str]]:
        """Label, value pairs for the cover."""
        return [("Author", self.author or "not stated"),
                ("Owner", self.owner or "not stated"),
                ("Version", self.version),
                ("Date", f"{self.issued:%d %B %Y}" if self.issued else ""),
                ("Review by", f"{self.review:%d %B %Y}" if self.review else "")]


def change_test(now: int, before: int) -> tuple[float, str]:
    """Whether a count's change between two periods of equal length is beyond chance.

    Under no change both counts come from one rate, so ``now`` given ``now + before`` is
    binomial with p = 1/2; the two-sided exact p-value below :data:`ALPHA` is beyond chance.

    Returns
    -------
    (float, str)
        The p-value (1.0 for 0 and 0) and ``"rise beyond chance"``, ``"fall beyond chance"``
        or ``"within chance"``.
    """
    now, before = int(now), int(before)
    if now < 0 or before < 0:
        raise ParameterError("counts must be >= 0")
    n = now + before
    if n == 0:
        return 1.0, "within chance"
    p = float(binomtest(now, n, 0.5).pvalue)
    if p >= ALPHA:
        return p, "within chance"
    return p, "rise beyond chance" if now > before else "fall beyond chance"


def change_words(now: Any, before: Any) -> str:
    """A change as counts, with a percentage only when the earlier count is not small
    (:data:`SMALL_COUNT`): "85 from 75 (+10)", "85 from 75 (+10, +13%)"; "" when unknown."""
    if before is None or before is pd.NA or pd.isna(before) or pd.isna(now):
        return ""
    now, before = int(now), int(before)
    diff = f"{now - before:+,}" if now != before else "no change"
    pct = (f", {100.0 * (now - before) / before:+.0f}%" if before >= SMALL_COUNT
           and now != before else "")
    return f"{now:,} from {before:,} ({diff}{pct})"


def _names(table: pd.DataFrame, n: int) -> str:
    col = "name" if "name" in table and table["name"].astype(str).str.len().gt(0).all() \
        else "locations"
    items = [f"{int(r)}. {str(v).split(':')[0] if col == 'name' else v}"
             for r, v in zip(table["rank"].head(n), table[col].head(n), strict=True)]
    return "; ".join(items)


def key_findings(*, crimes: str, area: str, period: str, table: pd.DataFrame,
                 totals: Mapping[str, Any], accuracy: str = "", review: str = "",
                 junction: str = "", classes: Mapping[str, int] | None = None) -> list[str]:
    """The summary's findings, each one sentence with its figures.

    Parameters
    ----------
    table : pandas.DataFrame
        The ranked areas (``rank``, ``name``, ``incidents``, ``previous``, ``share``,
        ``area_km2``, ``change_test``).
    totals : mapping
        ``mapped``, ``study_km2``, ``previous`` (count or None), ``previous_period`` (words),
        ``last_year`` (count or None), ``last_year_period`` (words), ``last_year_note``.
    accuracy, review, junction : str
        One sentence each, "" to leave out.
    classes : mapping of str to int, optional
        Areas per emerging hot spot class.
    """
    out = []
    mapped = int(totals.get("mapped", 0))
    km2 = float(totals.get("study_km2", 0.0))
    if len(table) and mapped:
        top = table.head(3)
        share3 = float(top["incidents"].sum()) / mapped
        area3 = float(top["area_km2"].sum()) / km2 if km2 else float("nan")
        share_all = float(table["incidents"].sum()) / mapped
        area_all = float(table["area_km2"].sum()) / km2 if km2 else float("nan")
        out.append(f"Concentration: the top {len(top)} patrol areas ({_names(table, 3)}) hold "
                   f"{share3:.0%} of the period's {mapped:,} mapped {crimes} in {area3:.1%} of "
                   f"{area}; all {len(table)} areas hold {share_all:.0%} in {area_all:.1%}.")
    else:
        out.append(f"No patrol area was drawn: the period's {mapped:,} mapped {crimes} are "
                   "too few or too spread out.")
    now = int(totals.get("incidents", mapped))
    for key, label in (("previous", "previous_period"), ("last_year", "last_year_period")):
        before = totals.get(key)
        when = totals.get(label, "")
        if before is None:
            note = totals.get(f"{key}_note") or "the store has no data for it"
            out.append(f"Against {when}: not compared ({note}).")
            continue
        _, verdict = change_test(now, int(before))
        out.append(f"Against {when}: {change_words(now, before)} over {area}, {verdict} for "
                   "these counts.")
    if len(table) and "change_test" in table:
        rising = table[table["change_test"] == "rise beyond chance"]
        falling = table[table["change_test"] == "fall beyond chance"]
        if len(rising) or len(falling):
            parts = []
            if len(rising):
                parts.append("rising beyond chance: " + _names(rising, len(rising)))
            if len(falling):
                parts.append("falling beyond chance: " + _names(falling, len(falling)))
            out.append("Areas whose change on the previous period is beyond chance: "
                       + "; ".join(parts) + ".")
        else:
            out.append("No patrol area's change on the previous period is beyond chance for "
                       "its counts: read the changes as noise unless they persist.")
    if classes:
        known = {k: v for k, v in classes.items() if k and k != "no pattern detected"}
        if known:
            out.append("Over time (emerging hot spot analysis): " + ", ".join(
                f"{v} {k}" for k, v in sorted(known.items(), key=lambda kv: -kv[1])) + ".")
    for s in (accuracy, review, junction):
        if s:
            out.append(s)
    return out


def terms_of_reference(*, crimes: str, area: str, period: str, selection: Sequence[str],
                       sources: Sequence[str]) -> list[str]:
    """The terms of reference: the question, the selection, the data and their limits."""
    return [
        f"Question: where is {crimes} concentrated in {area} in {period}, is it rising or "
        "falling, where on the strategic road network could it be disrupted, and did last "
        "period's tasking work? The answer is for the tasking and co-ordinating group to "
        "decide where officers go next period.",
        "Selection: " + "; ".join(selection) + ".",
        *[f"Data: {s}" for s in sources],
    ]


def draft_recommendations(*, table: pd.DataFrame, crimes: str, area: str,
                          sites: Sequence[str] = (), junction: str = "",
                          review_reading: str = "", review_date: str = "",
                          top_types: Sequence[str] = ()) -> dict[str, list[str]]:
    """Recommendations under the four Ps, drafted from the findings for the analyst to edit.

    Returns
    -------
    dict of str to list of str
        :data:`FOUR_PS` keys in order; each a list of recommendations.
    """
    n = min(3, len(table))
    names = _names(table, n) if n else ""
    rising = (table[table["change_test"] == "rise beyond chance"]
              if len(table) and "change_test" in table else table.iloc[:0])
    kinds = ", ".join(top_types[:3])
    out: dict[str, list[str]] = {p: [] for p in FOUR_PS}
    if n:
        out["Pursue"].append(f"Direct visible patrol to the top {n} patrol areas ({names}), "
                             "each small enough to walk; record the patrol time so that the "
                             "next tasking review can weigh it.")
    if len(rising):
        out["Pursue"].append("Prioritise the areas rising beyond chance: "
                             + _names(rising, len(rising)) + ".")
    if sites:
        out["Pursue"].append("Stop-check and ANPR-supported patrol at "
                             + "; ".join(sites[:3]) + " (the suggested disruption points).")
    for_kinds = f", for {kinds}" if kinds else ""
    out["Prevent"].append(f"Problem-solve the top area with partners (council, housing, "
                          f"retailers): who offends there and why{for_kinds}; "
                          "check offenders under management who live or travel nearby.")
    out["Protect"].append(f"Crime prevention advice and target hardening for residents and "
                          f"businesses in {names or area}"
                          f"{f' against {kinds}' if kinds else ''}; tell victims of repeat "
                          "locations first.")
    out["Prepare"].append(f"Review by {review_date or 'the next tasking meeting'}: rerun this "
                          "pack and its tasking review; record which areas were tasked, when "
                          "and for how long.")
    if review_reading:
        out["Prepare"].append(f"Last period's tasking: {review_reading}")
    if junction:
        out["Prepare"].append(f"Collect intelligence on travel to crime along the SRN, "
                              f"starting at {junction}.")
    return out


def apply_recommendations(drafts: Mapping[str, Sequence[str]],
                          overrides: Mapping[str, str | Sequence[str]] | None
                          ) -> dict[str, list[str]]:
    """The recommendations with the analyst's own text in place of the drafts.

    Parameters
    ----------
    drafts : mapping
        :func:`draft_recommendations`.
    overrides : mapping of str to str or sequence of str, optional
        One of :data:`FOUR_PS` (any case) -> the analyst's text: one recommendation per
        non-empty line, or a list; an empty text leaves that P with none. Ps not given keep
        their drafts.

    Raises
    ------
    ParameterError
        A key that is not one of the four Ps.
    """
    out = {p: [str(x) for x in drafts.get(p, [])] for p in FOUR_PS}
    for key, text in (overrides or {}).items():
        p = next((q for q in FOUR_PS if q.lower() == str(key).strip().lower()), None)
        if p is None:
            raise ParameterError(f"recommendation {key!r}: choose one of "
                                 + ", ".join(FOUR_PS))
        items = text.splitlines() if isinstance(text, str) else [str(t) for t in text]
        out[p] = [" ".join(i.split()).lstrip("•-* ") for i in items if i.strip()]
    return out


def intelligence_gaps(*, missing: Sequence[str] = (), last_year_note: str = "",
                      review_note: str = "", force_data: bool = False) -> list[str]:
    """What this profile cannot say, and what would close each gap."""
    out = [*missing]
    if last_year_note:
        out.append(f"Same period last year: {last_year_note}.")
    if review_note:
        out.append(f"Tasking review: {review_note}.")
    if not force_data:
        out += [
            "Offenders, victims and repeat victims: police.uk holds none; link the areas to "
            "the force's crime and intelligence systems before tasking.",
            "Time of day and day of week: police.uk gives the month only; a force extract "
            "with exact times would show when to patrol.",
            "Exact places: police.uk moves each crime to an anonymous map point, so a street "
            "named here is near, not at, the crimes.",
        ]
    out.append("Which areas were actually tasked last period, and for how long: not recorded "
               "here; the tasking review assumes the previous period's top areas were.")
    return out
