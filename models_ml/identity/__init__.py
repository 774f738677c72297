"""Customer identity resolution: normalisation, a Splink linkage model, clustering with stable
customer keys, survivorship of the golden record, and pairwise accuracy against known truth."""

# Splink backends the linkage model runs on (linkage.splink_api).
BACKENDS = ("duckdb", "spark")
