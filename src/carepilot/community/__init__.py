"""Community-services comparison, provider-arm scorecards and GP consortium packs.

* `carepilot.community.compare`: quality, productivity and experience metrics
  per community provider and service, compared with peers (funnel limits from
  `carepilot.stats.funnels`), and the provider-arm scorecard.
* `carepilot.community.packs`: information packs for GP consortia (PCNs): their
  practices against peers on library indicators, their population's hospital use
  and cost, and inequality gaps (SII), as CSV and a readable HTML report.

Every figure that leaves goes through disclosure control: engine results through
`carepilot.disclosure.release`, provider metrics through `apply_policy` with the
same `DisclosurePolicy`.
"""

from carepilot.community.compare import apply_policy, compare_services, scorecard

__all__ = ["apply_policy", "compare_services", "scorecard"]
