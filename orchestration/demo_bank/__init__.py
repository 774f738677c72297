"""The demo retail bank: a deterministic stand-in for a bank's source systems, with the truth kept aside.

`generate_demo` writes landing files for core banking, cards, contact centre, digital, marketing and a
geodemographics feed, and writes beside them (never inside) the answers the warehouse should find:
who is who across systems, who is profitable, what campaigns really did and where each defect was planted.
"""

from orchestration.demo_bank.generate import DemoSummary, generate_demo

__all__ = ["DemoSummary", "generate_demo"]
