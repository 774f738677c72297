"""CRM maturity: the five stages, the stage rules over measured evidence, and the readiness questionnaire
(four sponsors and the readiness audit). Pure Python; the refresh measures the evidence
(orchestration/maturity.py) and `crmw assess` asks the questionnaire."""
