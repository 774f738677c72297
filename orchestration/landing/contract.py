"""The landing contract: which entities a source system may deliver, their columns and types.

This is the single definition the loader enforces, the demo generator writes, the raw tables are
created from and the README documents (DESIGN.md §4). Ids are strings, dates ISO 8601, money in one
currency.
"""

from __future__ import annotations

from dataclasses import dataclass

# Logical types and the DuckDB type each is stored as in the raw layer.
SQL_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "money": "DECIMAL(18,2)",
    "number": "DOUBLE",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    meaning: str

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class Entity:
    name: str
    key: tuple[str, ...]  # natural key within one source system
    meaning: str
    columns: tuple[Column, ...]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _req(name: str, type_: str, meaning: str) -> Column:
    return Column(name, type_, True, meaning)


def _opt(name: str, type_: str, meaning: str) -> Column:
    return Column(name, type_, False, meaning)


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in [
        Entity(
            "customers",
            ("customer_id",),
            "a customer record as one source system knows it",
            (
                _req("customer_id", "string", "the customer's id in this source system"),
                _opt("first_name", "string", "given name (any script)"),
                _opt("last_name", "string", "family name (any script)"),
                _opt("date_of_birth", "date", "date of birth"),
                _opt("gender", "string", "F, M or other code"),
                _opt("email", "string", "email address"),
                _opt("phone", "string", "phone number, any format"),
                _opt("address_line1", "string", "street address"),
                _opt("address_line2", "string", "street address, second line"),
                _opt("city", "string", "city"),
                _opt("postcode", "string", "postcode; joins geodemographics"),
                _opt("region", "string", "region or province"),
                _opt("country", "string", "country code"),
                _opt("national_id", "string", "national identity number"),
                _opt("created_at", "timestamp", "when the source system created the record"),
                _opt("updated_at", "timestamp", "when the source system last changed the record"),
            ),
        ),
        Entity(
            "accounts",
            ("account_id",),
            "a product holding: an account, card, loan or policy a customer holds",
            (
                _req("account_id", "string", "the holding's id in this source system"),
                _req("customer_id", "string", "the holder's id in this source system"),
                _req("product_id", "string", "product code; see seeds/products.csv"),
                _req("opened_at", "timestamp", "when the holding was opened"),
                _opt("closed_at", "timestamp", "when it was closed, empty while open"),
                _opt("status", "string", "open, closed, dormant, ..."),
                _opt("balance", "money", "current balance"),
            ),
        ),
        Entity(
            "transactions",
            ("transaction_id",),
            "a revenue event: interest margin, a fee, card interchange",
            (
                _req("transaction_id", "string", "the event's id in this source system"),
                _req("customer_id", "string", "the customer's id in this source system"),
                _req("occurred_at", "timestamp", "when the event happened"),
                _req("amount", "money", "revenue to the company (negative for refunds)"),
                _opt("account_id", "string", "the holding it belongs to"),
                _opt("product_id", "string", "product code"),
                _opt("cost", "money", "direct cost of the event (funding, scheme fees)"),
                _opt("channel", "string", "channel code; see seeds/channels.csv"),
                _opt("transaction_type", "string", "interest_margin, fee, interchange, ..."),
            ),
        ),
        Entity(
            "interactions",
            ("interaction_id",),
            "a service contact: a branch visit, call, app session, email, letter, complaint",
            (
                _req("interaction_id", "string", "the contact's id in this source system"),
                _req("customer_id", "string", "the customer's id in this source system"),
                _req("occurred_at", "timestamp", "when the contact happened"),
                _req("channel", "string", "channel code; see seeds/channels.csv"),
                _req("interaction_type", "string", "type code; see seeds/interaction_types.csv"),
                _opt("duration_minutes", "number", "minutes the contact took"),
                _opt("satisfaction_score", "integer", "1 (poor) to 5 (excellent)"),
                _opt("is_complaint", "boolean", "true when the contact was a complaint"),
            ),
        ),
        Entity(
            "campaigns",
            ("campaign_id",),
            "a marketing campaign",
            (
                _req("campaign_id", "string", "the campaign's id"),
                _req("name", "string", "campaign name"),
                _req("channel", "string", "channel code the campaign used"),
                _req("start_date", "date", "first day of the campaign"),
                _opt("end_date", "date", "last day of the campaign"),
                _opt("cost_per_contact", "money", "cost of contacting one customer"),
                _opt("offer", "string", "what was offered"),
            ),
        ),
        Entity(
            "campaign_contacts",
            ("campaign_id", "customer_id"),
            "one customer selected for a campaign, contacted or held out as control",
            (
                _req("campaign_id", "string", "the campaign"),
                _req("customer_id", "string", "the customer's id in this source system"),
                _req("contacted_at", "timestamp", "when the customer was contacted (or selected)"),
                _opt("is_control", "boolean", "true when held out and not contacted"),
                _opt("responded_at", "timestamp", "when the customer responded, empty if not"),
                _opt("response_value", "money", "value of the response"),
            ),
        ),
        Entity(
            "geodemographics",
            ("postcode",),
            "external enrichment by postcode",
            (
                _req("postcode", "string", "postcode"),
                _req("geo_segment", "string", "geodemographic segment (Mosaic-like)"),
                _opt("latitude", "number", "latitude of the postcode centroid"),
                _opt("longitude", "number", "longitude of the postcode centroid"),
            ),
        ),
    ]
}

# Columns the loader adds to every raw row: where it came from, so any figure traces back to a file line.
LINEAGE_COLUMNS = (
    ("source_system", "VARCHAR"),
    ("_delivery_date", "DATE"),
    ("_file", "VARCHAR"),
    ("_line", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
)

FILE_FORMATS = ("csv", "parquet")


def contract_markdown() -> str:
    """The contract as the README's tables (a test keeps the README in step with this module)."""
    out = []
    for entity in ENTITIES.values():
        key = ", ".join(entity.key)
        out.append(f"**`{entity.name}`** — {entity.meaning}; one row per `{key}` within a source system.\n")
        out.append("| column | required | type | meaning |")
        out.append("|---|---|---|---|")
        out += [
            f"| `{c.name}` | {'**yes**' if c.required else 'no'} | {c.type} | {c.meaning} |" for c in entity.columns
        ]
        out.append("")
    return "\n".join(out)
