"""A note when the browser's link carries more than the dashboard will read.

Streamlit drops a query string of more than 1,000 parameters or 512 Ki characters before the
page sees it, so the view silently falls back to its defaults. The page cannot see what was
dropped, but the browser can: this draws a hidden note whose script (ours, no data in it)
compares the link the page was opened with against those limits and, only then, shows it.
"""

from __future__ import annotations

import json

import streamlit as st

__all__ = ["MAX_FIELDS", "MAX_LENGTH", "note_ignored_link"]

#: Streamlit's limits on a link's query string (``streamlit.runtime.state.query_params``).
MAX_FIELDS = 1000
MAX_LENGTH = 512 * 1024

_NOTE = ("This link could not be followed: it has {n} parameters (the dashboard reads at most "
         "{max}), so the view opened with its defaults. Share the view again from the address "
         "bar.")

_PAGE = """<div id="hs-link-note" style="display:none;font:14px sans-serif;color:#7a4b00;
background:#fff4e0;border:1px solid #e8c27a;border-radius:6px;padding:8px 12px"></div>
<script>
(function () {
  var limits = %s, text = %s;
  // The link the page was opened with: the page rewrites its address to the view it shows,
  // so the navigation entry, not location.search, still holds what was asked for.
  var opened = "";
  try {
    var nav = window.performance.getEntriesByType("navigation")[0];
    opened = nav ? nav.name : window.location.href;
  } catch (e) { return; }
  var at = opened.indexOf("?");
  var q = at < 0 ? "" : opened.slice(at + 1).split("#")[0];
  if (!q) { return; }
  var fields = q.split("&").length;
  if (fields <= limits.fields && q.length <= limits.length) { return; }
  var note = document.getElementById("hs-link-note");
  note.textContent = text.replace("{n}", fields.toLocaleString("en-GB"))
                         .replace("{max}", limits.fields.toLocaleString("en-GB"));
  note.style.display = "block";
})();
</script>"""


def note_ignored_link() -> None:
    """Draw the (normally invisible) check; call it on a session's first run."""
    page = _PAGE % (json.dumps({"fields": MAX_FIELDS, "length": MAX_LENGTH}),
                    json.dumps(_NOTE))
    st.html(page, unsafe_allow_javascript=True)
