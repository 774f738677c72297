"""Fixed vocabularies and economics of the demo bank: names, places, personas, product pricing.

Codes (products, channels, interaction types) and cost rates come from `seeds/`, the single place users
edit them; this module only adds what the seeds do not hold (pricing and behaviour of the demo world).
"""

from __future__ import annotations

import csv
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"

SYSTEMS = ("core_banking", "cards", "contact_centre", "digital", "marketing", "geo")
ID_PREFIX = {"core_banking": "CB", "cards": "CD", "contact_centre": "CC", "digital": "DG", "marketing": "MK"}


@dataclass(frozen=True)
class Seeds:
    """The reference seeds the warehouse also loads: cost rates the truth profit must agree with."""

    channel_cost_per_minute: dict[str, float]
    standard_minutes: dict[str, float]
    servicing_cost: dict[str, float]


def load_seeds(seeds_dir: Path = SEEDS_DIR) -> Seeds:
    def rows(name: str) -> list[dict[str, str]]:
        with open(seeds_dir / name, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    return Seeds(
        channel_cost_per_minute={r["channel_id"]: float(r["cost_per_minute"]) for r in rows("channels.csv")},
        standard_minutes={
            r["interaction_type"]: float(r["standard_minutes"]) for r in rows("interaction_types.csv")
        },
        servicing_cost={r["product_id"]: float(r["monthly_servicing_cost"]) for r in rows("products.csv")},
    )


# Channel codes as in seeds/channels.csv; the generator refers to them by position.
CHANNELS = ("branch", "call_centre", "email", "mail", "online", "mobile_app", "atm", "pos")
TRANSACTION_TYPES = (
    "interest_margin",
    "commission",
    "management_fee",
    "fee",
    "overdraft_fee",
    "interchange",
    "interest",
    "annual_fee",
    "late_fee",
)

# --- personas ------------------------------------------------------------------------------------------
# Whale-shaped profit: a few affluent self-service customers earn most of it; branch-heavy customers hold
# as many products as they do but cost more to serve than they bring in.
PERSONAS = ("affluent_digital", "established_saver", "mass_digital", "mass_mixed", "branch_heavy", "dormant")
PERSONA_SHARE = np.array([0.08, 0.12, 0.28, 0.22, 0.18, 0.12])
AGE_MEAN = np.array([48.0, 58.0, 34.0, 45.0, 56.0, 40.0])
AGE_SD = np.array([10.0, 12.0, 9.0, 14.0, 15.0, 16.0])
# Assisted contacts (branch, call, email, mail, complaint) and digital sessions per active month.
ASSISTED_RATE = np.array([0.10, 0.40, 0.12, 0.50, 6.50, 0.15])
DIGITAL_RATE = np.array([5.0, 2.0, 3.0, 1.2, 0.4, 0.4])
HAS_DIGITAL = np.array([0.95, 0.70, 0.95, 0.60, 0.25, 0.30])
HAS_ASSISTED = np.array([0.60, 0.85, 0.55, 0.90, 1.00, 0.50])
CHURN_PER_YEAR = np.array([0.03, 0.04, 0.08, 0.08, 0.05, 0.15])
PROPENSITY_LOGIT = np.array([-0.6, -1.0, -0.4, -1.2, -1.6, -2.4])
# Geodemographic affluence each persona tends to live in (0 = deprived, 1 = prestige).
AFFLUENCE_PREF = np.array([0.85, 0.70, 0.50, 0.40, 0.30, 0.25])
WEALTH_SD = 0.5

# Assisted contact mix per persona over (branch_visit, call, email, mail, complaint).
ASSISTED_TYPES = ("branch_visit", "call", "email", "mail", "complaint")
ASSISTED_MIX = np.array(
    [
        [0.15, 0.60, 0.20, 0.03, 0.02],
        [0.35, 0.45, 0.12, 0.05, 0.03],
        [0.10, 0.65, 0.20, 0.02, 0.03],
        [0.30, 0.50, 0.10, 0.05, 0.05],
        [0.50, 0.29, 0.03, 0.06, 0.12],
        [0.30, 0.50, 0.05, 0.10, 0.05],
    ]
)
ASSISTED_CHANNEL = {"branch_visit": "branch", "call": "call_centre", "email": "email", "mail": "mail"}
COMPLAINT_VIA_BRANCH = 0.3  # the rest of complaints come through the call centre
APP_SHARE = np.array([0.70, 0.45, 0.75, 0.55, 0.40, 0.50])  # app vs online banking session

# --- products ------------------------------------------------------------------------------------------
CORE_PRODUCTS = ("CUR", "SAV", "TD", "PL", "MTG", "INS", "INV")
CARD_PRODUCT = "CC"
PRODUCTS = (*CORE_PRODUCTS, CARD_PRODUCT)
# Probability a persona holds each product (columns follow PRODUCTS).
HOLD_PROB = np.array(
    [
        [1.00, 0.85, 0.30, 0.05, 0.60, 0.50, 0.60, 0.70],
        [0.95, 0.90, 0.50, 0.05, 0.25, 0.50, 0.35, 0.50],
        [1.00, 0.50, 0.05, 0.15, 0.07, 0.20, 0.05, 0.40],
        [1.00, 0.45, 0.10, 0.20, 0.07, 0.30, 0.05, 0.35],
        [1.00, 0.80, 0.30, 0.65, 0.12, 0.85, 0.25, 0.60],
        [0.90, 0.30, 0.00, 0.00, 0.00, 0.10, 0.00, 0.08],
    ]
)
# Median balance (money units) per persona and product; INS holds the monthly premium, CC the card limit.
BALANCE_MEDIAN = np.array(
    [
        [12_000, 45_000, 60_000, 15_000, 280_000, 90, 70_000, 9_000],
        [6_000, 30_000, 40_000, 10_000, 150_000, 70, 40_000, 6_000],
        [1_500, 3_500, 8_000, 7_000, 120_000, 40, 8_000, 3_000],
        [1_500, 3_000, 8_000, 7_000, 110_000, 45, 8_000, 3_000],
        [500, 1_200, 3_000, 5_000, 80_000, 40, 4_000, 2_500],
        [900, 1_200, 2_000, 3_000, 60_000, 30, 3_000, 1_500],
    ],
    dtype=float,
)
BALANCE_SD = 0.7
# Yearly income rate on balance (FTP credit for deposits, interest for loans, fee for funds) and direct cost
# rate (interest paid to depositors, funding + expected loss for loans). INS earns a commission on premium.
INCOME_RATE = {"CUR": 0.030, "SAV": 0.035, "TD": 0.040, "PL": 0.095, "MTG": 0.046, "INV": 0.009}
COST_RATE = {"CUR": 0.001, "SAV": 0.020, "TD": 0.032, "PL": 0.055, "MTG": 0.038, "INV": 0.002}
INS_COMMISSION = 0.25
CUR_PACKAGED_FEE = 12.50  # monthly fee on packaged current accounts
PACKAGED_SHARE = np.array([0.40, 0.30, 0.08, 0.10, 0.15, 0.02])
OVERDRAFT_FEE = 15.00
OVERDRAFT_PROB = np.array([0.00, 0.01, 0.04, 0.06, 0.10, 0.05])  # per current account per month
# Yearly closure hazard per product (besides the customer leaving); TD and PL also run off at term.
CLOSE_PER_YEAR = {
    "CUR": 0.01,
    "SAV": 0.05,
    "TD": 0.0,
    "PL": 0.0,
    "MTG": 0.03,
    "INS": 0.08,
    "INV": 0.04,
    "CC": 0.05,
}
TERM_YEARS = {"TD": (1, 3), "PL": (2, 5)}
# Cards: monthly spend as a share of the limit, revolving share, APR, interchange and scheme fee rates.
CARD_SPEND_SHARE = np.array([0.30, 0.20, 0.18, 0.15, 0.12, 0.05])
CARD_REVOLVER = np.array([0.10, 0.15, 0.30, 0.35, 0.55, 0.30])
CARD_REVOLVE_SHARE = 0.45
CARD_APR = 0.22
CARD_FUNDING_LOSS = 0.10
INTERCHANGE = 0.006
SCHEME_FEE = 0.0015
CARD_ANNUAL_FEE = 120.0
PREMIUM_CARD = np.array([0.50, 0.25, 0.05, 0.05, 0.08, 0.0])
LATE_FEE = 12.0
LATE_FEE_PROB = 0.08  # per revolving card per month

# --- campaigns -----------------------------------------------------------------------------------------
CAMPAIGN_SHARE = 1 / 12  # each month a random twelfth of the base is selected
CONTROL_SHARE = 0.10
# Response probability: control responds organically, contact adds lift that grows with propensity.
RESPONSE_BASE, RESPONSE_ORGANIC, RESPONSE_CONTACT = 0.005, 0.05, 0.25
OFFERS = (
    ("Fixed-rate saver", "SAV", 80.0),
    ("Personal loan rate cut", "PL", 220.0),
    ("Credit card balance transfer", "CC", 90.0),
    ("Home insurance discount", "INS", 60.0),
    ("Stocks and shares ISA", "INV", 150.0),
    ("Remortgage review", "MTG", 400.0),
)
CAMPAIGN_COST = {"mail": 0.85, "email": 0.05}

# --- people --------------------------------------------------------------------------------------------
LATIN_FEMALE = (
    "Olivia Amelia Emily Isla Ava Jessica Sophie Charlotte Lucy Grace Hannah Chloe Ellie Mia Lily Emma Sarah "
    "Laura Rebecca Victoria Samantha Elizabeth Margaret Katherine Jennifer Patricia Susan Deborah Abigail "
    "Eleanor Catherine Christine Jacqueline Alexandra Helen Rachel Claire Nicola Karen Julie Joanne Amanda "
    "Michelle Louise Anna Zoe Megan Holly Amy Natalie Fiona Maria Aisha Priya Fatima Noor Ines Sofia Chen"
).split()
LATIN_MALE = (
    "Oliver George Harry Jack Jacob Noah Charlie Thomas Oscar William James Robert Richard Michael "
    "Christopher Daniel Matthew Anthony Joseph David Edward Alexander Benjamin Samuel Jonathan Nicholas "
    "Andrew Stephen Frederick Henry Timothy Peter Gregory Kenneth Ronald Lawrence Charles Philip Gerald "
    "Mark Paul Simon Ian Gary Neil Stuart Adam Ryan Luke Liam Mohammed Omar Arjun Raj Tomasz Marco Luis "
    "Kwame Wei"
).split()
NICKNAMES = {
    "Robert": "Bob",
    "William": "Bill",
    "Richard": "Dick",
    "James": "Jim",
    "Michael": "Mike",
    "Elizabeth": "Liz",
    "Margaret": "Maggie",
    "Katherine": "Kate",
    "Jennifer": "Jen",
    "Thomas": "Tom",
    "Christopher": "Chris",
    "Daniel": "Dan",
    "Matthew": "Matt",
    "Anthony": "Tony",
    "Joseph": "Joe",
    "David": "Dave",
    "Edward": "Ted",
    "Alexander": "Alex",
    "Benjamin": "Ben",
    "Samuel": "Sam",
    "Jonathan": "Jon",
    "Nicholas": "Nick",
    "Andrew": "Andy",
    "Stephen": "Steve",
    "Patricia": "Pat",
    "Susan": "Sue",
    "Deborah": "Debbie",
    "Rebecca": "Becky",
    "Victoria": "Vicky",
    "Samantha": "Sam",
    "Charlotte": "Lottie",
    "Alexandra": "Alex",
    "Jessica": "Jess",
    "Abigail": "Abby",
    "Eleanor": "Ellie",
    "Catherine": "Cathy",
    "Christine": "Chris",
    "Jacqueline": "Jackie",
    "Frederick": "Fred",
    "Henry": "Harry",
    "Timothy": "Tim",
    "Peter": "Pete",
    "Gregory": "Greg",
    "Kenneth": "Ken",
    "Ronald": "Ron",
    "Lawrence": "Larry",
    "Charles": "Charlie",
    "Philip": "Phil",
    "Gerald": "Gerry",
    "Nicola": "Nicky",
    "Amanda": "Mandy",
    "Mohammed": "Mo",
}
LATIN_LAST = (
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White "
    "Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James Phillips Mason Mitchell Rose Davis Cox "
    "Alexander Morgan Moore Martin Price Hughes Turner Harris Baker Cooper Hill Ward Morris King Edwards Lee "
    "Scott Murphy O'Brien Campbell Stewart Anderson Young Allen Kelly Bell Shaw Carter Murray Ali Singh "
    "Ahmed Begum Hussain Nowak Kowalski Rossi Müller García Fernández Nguyen Chen Wang Kaur Gray Ellis "
    "Richardson Fox Marshall Hunt Webb Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher "
    "Stevens Jenkins Dixon Fletcher Reid Harvey Pearce Watson Graham Kennedy Burke Doyle Quinn Byrne"
).split() + ["Da Silva", "Van Dijk", "Smith-Jones"]

# The hand-picked names above come first (they carry the nicknames, accents, apostrophes and hyphens the
# normalisation must handle); behind them, a real population's shares: the 1990 US census frequency lists
# that ship inside the `names` package (4,275 female and 1,219 male given names and 88,799 surnames, each
# with its share of the population in per cent, rounded to three decimals: 69,960 surnames show 0.000 and
# are never drawn, so 18,839 are). With the hand-picked names alone (drawn by list order) one Latin-named
# person in eleven was a Smith and a shared full name said next to nothing, unlike in any real customer
# base. Persons draw names by these shares; a hand-picked name the census lacks (Isla, Da Silva) gets
# HAND_PICKED_SHARE. Census spellings without accents or apostrophes (Garcia, Obrien) stay beside the
# hand-picked ones (García, O'Brien) as names of their own.
HAND_PICKED_SHARE = 0.02  # per cent: about the share of the census's 550th surname


def census_names(kind: str) -> dict[str, float]:
    """Name -> per cent of the population from the census list `kind` ("all.last", "female.first",
    "male.first"), written as names usually are (SMITH -> Smith, MCDONALD -> McDonald)."""
    text = importlib.resources.files("names").joinpath(f"dist.{kind}").read_text(encoding="ascii")
    out: dict[str, float] = {}
    for line in text.splitlines():  # a loop over the vocabulary, not over persons
        name, share = line.split()[:2]
        name = name.capitalize()
        if name.startswith("Mc") and len(name) > 2:
            name = "Mc" + name[2:].capitalize()
        out.setdefault(name, float(share))
    return out


ZWNJ = "\u200c"
# Persian names in Persian script with their romanisation (used for email addresses). Written with the
# Persian letters ی (U+06CC) and ک (U+06A9); Arabic ي/ك variants are produced as perturbations.
PERSIAN_FEMALE = (
    ("فاطمه", "fatemeh"),
    ("زهرا", "zahra"),
    ("مریم", "maryam"),
    ("زینب", "zeynab"),
    ("سارا", "sara"),
    ("نرگس", "narges"),
    ("لیلا", "leila"),
    ("کیمیا", "kimia"),
    ("شیرین", "shirin"),
    ("مینا", "mina"),
    ("نیلوفر", "niloufar"),
    ("پریسا", "parisa"),
    ("معصومه", "masoumeh"),
    ("الهام", "elham"),
)
PERSIAN_MALE = (
    ("محمد", "mohammad"),
    ("علی", "ali"),
    ("حسین", "hossein"),
    ("رضا", "reza"),
    ("مهدی", "mehdi"),
    ("امیر", "amir"),
    ("حسن", "hassan"),
    ("سعید", "saeed"),
    ("مجید", "majid"),
    ("کاظم", "kazem"),
    ("یوسف", "yousef"),
    ("کیوان", "keyvan"),
    ("بهرام", "bahram"),
    ("امیر" + ZWNJ + "حسین", "amirhossein"),
)
PERSIAN_LAST = (
    ("رضایی", "rezaei"),
    ("احمدی", "ahmadi"),
    ("محمدی", "mohammadi"),
    ("حسینی", "hosseini"),
    ("کریمی", "karimi"),
    ("موسوی", "mousavi"),
    ("جعفری", "jafari"),
    ("کاظمی", "kazemi"),
    ("صادقی", "sadeghi"),
    ("رحیمی", "rahimi"),
    ("اکبری", "akbari"),
    ("یزدانی", "yazdani"),
    ("کرمانی", "kermani"),
    ("حسین" + ZWNJ + "زاده", "hosseinzadeh"),
    ("علی" + ZWNJ + "پور", "alipour"),
    ("قلی" + ZWNJ + "زاده", "gholizadeh"),
    ("تقی" + ZWNJ + "زاده", "taghizadeh"),
    ("نیک" + ZWNJ + "نام", "niknam"),
)
PERSIAN_SHARE = 0.10
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_VARIANTS = (("\u06cc", "\u064a"), ("\u06a9", "\u0643"))  # Persian ye/kaf -> Arabic ye/kaf


def _persian_letters(s: str) -> str:
    """Normalise to Persian ye/kaf whatever the source editor typed, so variants are always planted."""
    return s.replace("\u064a", "\u06cc").replace("\u0643", "\u06a9")


PERSIAN_FEMALE = tuple((_persian_letters(a), b) for a, b in PERSIAN_FEMALE)
PERSIAN_MALE = tuple((_persian_letters(a), b) for a, b in PERSIAN_MALE)
PERSIAN_LAST = tuple((_persian_letters(a), b) for a, b in PERSIAN_LAST)

EMAIL_DOMAINS = (
    "gmail.com",
    "outlook.com",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "icloud.com",
    "btinternet.com",
    "sky.com",
)
STREETS = (
    "High Church Station Park Victoria Green Manor Kings Queens Mill Oak Elm Cedar Willow Chestnut "
    "Springfield Windsor Albert York Grange Meadow Orchard Riverside Highfield Brook Beech Hawthorn Castle "
    "Bridge Market"
).split()
STREET_TYPES = "Street Road Lane Avenue Close Drive Way Gardens Crescent Place".split()
NI_LETTERS = "ABCEGHJKLMNPRSTWXYZ"

# --- places --------------------------------------------------------------------------------------------
# (city, region, postcode area, latitude, longitude, weight)
CITIES = (
    ("London", "London", "E", 51.53, -0.03, 5.0),
    ("London", "London", "N", 51.57, -0.11, 4.0),
    ("London", "London", "SE", 51.46, -0.05, 5.0),
    ("London", "London", "SW", 51.46, -0.17, 5.0),
    ("London", "London", "W", 51.51, -0.23, 3.0),
    ("London", "London", "NW", 51.55, -0.19, 3.0),
    ("Brighton", "South East", "BN", 50.83, -0.14, 2.0),
    ("Reading", "South East", "RG", 51.45, -0.97, 2.0),
    ("Oxford", "South East", "OX", 51.75, -1.26, 1.5),
    ("Guildford", "South East", "GU", 51.24, -0.57, 1.5),
    ("Canterbury", "South East", "CT", 51.28, 1.08, 1.0),
    ("Bristol", "South West", "BS", 51.45, -2.59, 3.0),
    ("Exeter", "South West", "EX", 50.72, -3.53, 1.5),
    ("Plymouth", "South West", "PL", 50.38, -4.14, 1.5),
    ("Bath", "South West", "BA", 51.38, -2.36, 1.0),
    ("Cambridge", "East of England", "CB", 52.21, 0.12, 1.5),
    ("Norwich", "East of England", "NR", 52.63, 1.30, 1.5),
    ("Ipswich", "East of England", "IP", 52.06, 1.16, 1.0),
    ("Birmingham", "West Midlands", "B", 52.49, -1.89, 4.0),
    ("Coventry", "West Midlands", "CV", 52.41, -1.51, 1.5),
    ("Wolverhampton", "West Midlands", "WV", 52.59, -2.13, 1.0),
    ("Nottingham", "East Midlands", "NG", 52.95, -1.15, 2.0),
    ("Leicester", "East Midlands", "LE", 52.64, -1.13, 2.0),
    ("Derby", "East Midlands", "DE", 52.92, -1.48, 1.0),
    ("Manchester", "North West", "M", 53.48, -2.24, 4.0),
    ("Liverpool", "North West", "L", 53.41, -2.98, 3.0),
    ("Preston", "North West", "PR", 53.76, -2.70, 1.0),
    ("Leeds", "Yorkshire and The Humber", "LS", 53.80, -1.55, 3.0),
    ("Sheffield", "Yorkshire and The Humber", "S", 53.38, -1.47, 2.5),
    ("York", "Yorkshire and The Humber", "YO", 53.96, -1.08, 1.0),
    ("Hull", "Yorkshire and The Humber", "HU", 53.74, -0.33, 1.0),
    ("Newcastle upon Tyne", "North East", "NE", 54.98, -1.61, 2.0),
    ("Sunderland", "North East", "SR", 54.91, -1.38, 1.0),
    ("Glasgow", "Scotland", "G", 55.86, -4.25, 3.0),
    ("Edinburgh", "Scotland", "EH", 55.95, -3.19, 2.5),
    ("Aberdeen", "Scotland", "AB", 57.15, -2.09, 1.0),
    ("Cardiff", "Wales", "CF", 51.48, -3.18, 2.0),
    ("Swansea", "Wales", "SA", 51.62, -3.94, 1.0),
    ("Belfast", "Northern Ireland", "BT", 54.60, -5.93, 2.0),
)
COUNTRY = "GB"
# Mosaic-like geodemographic segments and how affluent each is (drives which personas live there).
GEO_SEGMENTS = (
    ("City Prosperity", 0.95),
    ("Prestige Positions", 0.90),
    ("Country Living", 0.75),
    ("Domestic Success", 0.70),
    ("Senior Security", 0.60),
    ("Suburban Stability", 0.55),
    ("Rural Reality", 0.50),
    ("Aspiring Homemakers", 0.45),
    ("Urban Cohesion", 0.40),
    ("Rental Hubs", 0.35),
    ("Modest Traditions", 0.30),
    ("Vintage Value", 0.25),
    ("Family Basics", 0.20),
    ("Transient Renters", 0.15),
    ("Municipal Challenge", 0.10),
)
