"""Pages that repeat a form per bid keep every element id unique (WCAG 4.1.1)."""

from __future__ import annotations

import re
from collections import Counter

from tests.web import helpers as h


def test_manage_programme_page_has_unique_ids_with_several_bids(
    sqlite_users: h.Users,
) -> None:
    users = sqlite_users
    pid = h.create_programme(users)
    for key in ("bidder", "bidder_other"):
        bid = h.draft_bid(users, pid, key=key)
        h.submit(users, bid, key=key)
        h.confirm(users, bid)
        h.run_eligibility(users, bid)
    page = users["admin"].get(f"/admin/programmes/{pid}").text
    ids = Counter(re.findall(r'\bid="([^"]+)"', page))
    assert ids, page[:2000]
    duplicates = {i: n for i, n in ids.items() if n > 1}
    assert not duplicates, duplicates
    assert page.count("Record decision") == 2
