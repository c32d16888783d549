"""The tasking pack's editable parts in the dashboard: the cover's author, owner, version and
review date, and the analyst's own recommendations under the four Ps in place of the drafts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import streamlit as st

from hotspots.pack_profile import FOUR_PS, ProfileDetails

__all__ = ["PackEdits", "pack_editor"]


@dataclass(frozen=True)
class PackEdits:
    """What the analyst typed: hashable, so that it keys the pack's cache.

    ``overrides`` holds ``(P, text)`` for each P whose text is not empty; the others keep the
    recommendations drafted from the findings.
    """

    author: str = ""
    owner: str = ""
    version: str = "1.0"
    review: str = ""
    overrides: tuple[tuple[str, str], ...] = ()

    def details(self) -> ProfileDetails:
        """The cover's details (:meth:`hotspots.pack_profile.ProfileDetails.build`)."""
        return ProfileDetails.build(author=self.author, owner=self.owner,
                                    version=self.version, review=self.review or None)

    def recommendations(self) -> dict[str, str]:
        """P -> the analyst's text, for ``PackInputs.with_recommendations``."""
        return dict(self.overrides)


def pack_editor() -> PackEdits:
    """The pack's cover details and recommendation fields; returns what was typed.

    Drawn in a bordered box, not an expander: it sits inside the download panel's expander,
    and Streamlit does not nest expanders.
    """
    with st.container(border=True):
        st.markdown("**Tasking pack: author, owner, review date and recommendations**")
        cols = st.columns(4)
        author = cols[0].text_input("Author", key="pack_author",
                                    help="Who wrote the pack, e.g. 'DC 1234 Smith, analyst'.")
        owner = cols[1].text_input("Owner", key="pack_owner",
                                   help="Who owns it, e.g. the district's tasking chair.")
        version = cols[2].text_input("Version", value="1.0", key="pack_version")
        review = cols[3].date_input("Review by", value=date.today() + timedelta(days=28),
                                    key="pack_review")
        st.caption("Recommendations are drafted from the findings under the four Ps. Type your "
                   "own below (one per line) to replace a P's drafts; leave a box empty to keep "
                   "them.")
        overrides = []
        for p, what in FOUR_PS.items():
            text = st.text_area(f"{p}: {what}", key=f"pack_rec_{p.lower()}", height=80,
                                placeholder="Empty: the pack keeps the drafted recommendations.")
            if text.strip():
                overrides.append((p, text))
    return PackEdits(author=author, owner=owner, version=version,
                     review=review.isoformat() if review else "", overrides=tuple(overrides))
