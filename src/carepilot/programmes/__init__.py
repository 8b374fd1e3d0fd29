"""Integrated care pilot programme workflow: prospectus, bids, eligibility, assessment,
selection and the steering group."""
