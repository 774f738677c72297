"""Campaign targeting: response propensity with gains and lift on held-out campaigns, the random-1/12 vs
expected-value policy comparison, lookalikes of the most profitable customers, and target lists with a
random control group."""
