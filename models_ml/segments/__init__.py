"""Value-based segments: value tiers (the customer pyramid), RFM scores and segments, treatments, profiles."""
