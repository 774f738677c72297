"""Normalisation of customer records before matching, as DuckDB SQL over a relation.

Matching compares what people meant, not how it was typed: case, surrounding and repeated whitespace,
punctuation, accents, Arabic letter variants of Persian text (ي/ك keyed instead of ی/ک), the zero-width
non-joiner (typed as a space or dropped) and Persian or Arabic-Indic digits all disappear here. The
expressions are plain DuckDB SQL so a million records normalise in one scan, with no Python per row.
"""

from __future__ import annotations

# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits to ASCII.
EASTERN_DIGITS = "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩"
ASCII_DIGITS = "01234567890123456789"
# Arabic letter variants to the Persian letters (ye, kaf, alef maksura, teh marbuta, heh with yeh, alef
# with hamza or madda) so the same name keyed on either keyboard compares equal.
ARABIC_LETTERS = "يكىةۀأإآ"
PERSIAN_LETTERS = "یکیههااا"

# Columns the linkage model compares, produced by `normalised_records_sql`.
MATCH_COLUMNS = (
    "first_name_n",
    "last_name_n",
    "dob",
    "dob_swapped",
    "email_n",
    "email_local",
    "phone_n",
    "national_id_n",
    "postcode_n",
    "postcode_district",
    "address_n",
)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ascii_digits(expr: str) -> str:
    """Persian and Arabic-Indic digits in `expr` replaced by 0-9."""
    return f"translate({expr}, {_sql_text(EASTERN_DIGITS)}, {_sql_text(ASCII_DIGITS)})"


def name_key(expr: str) -> str:
    """A name as a matching key: lower case, no accents, Persian letters for their Arabic variants,
    digits in ASCII, and nothing but letters and digits (spaces, hyphens, apostrophes and the zero-width
    non-joiner removed, so 'Mary-Ann', 'mary ann' and 'MARYANN' agree). Null when nothing is left."""
    folded = f"translate(lower(strip_accents({ascii_digits(expr)})), {_sql_text(ARABIC_LETTERS)}, " \
             f"{_sql_text(PERSIAN_LETTERS)})"
    return f"nullif(regexp_replace({folded}, '[^\\p{{L}}\\p{{N}}]+', '', 'g'), '')"


def phone_key(expr: str) -> str:
    """A phone number as its last ten digits (so '07700 900123', '+44 7700 900123' and '447700900123'
    agree); null when fewer than six digits are left."""
    digits = f"regexp_replace({ascii_digits(expr)}, '[^0-9]', '', 'g')"
    return f"case when length({digits}) >= 6 then right({digits}, 10) end"


def email_key(expr: str) -> str:
    """Lower-case email; null unless it has one @, no spaces and a dot in the domain."""
    cleaned = f"lower(trim({ascii_digits(expr)}))"
    return f"case when regexp_full_match({cleaned}, '[^@\\s]+@[^@\\s]+\\.[^@\\s]+') then {cleaned} end"


def email_local(expr: str) -> str:
    """The part of a valid email before the @ with dots, underscores and hyphens removed
    ('olivia.brown' and 'olivia_brown' agree); used for a weaker email level."""
    return f"nullif(regexp_replace(split_part({email_key(expr)}, '@', 1), '[._\\-+]', '', 'g'), '')"


def code_key(expr: str) -> str:
    """An identifier or postcode as upper-case letters and digits only ('sw1a 1aa' = 'SW1A1AA',
    'AB 12 34 56 C' = 'AB123456C')."""
    return f"nullif(regexp_replace(upper({ascii_digits(expr)}), '[^\\p{{L}}\\p{{N}}]+', '', 'g'), '')"


def postcode_district(expr: str) -> str:
    """The postcode without its last three characters (the UK outward code, 'SW1A'); a weaker level
    for a person who moved within the district. Null for codes of four characters or fewer."""
    key = code_key(expr)
    return f"case when length({key}) > 4 then left({key}, length({key}) - 3) end"


def address_key(line1: str, line2: str) -> str:
    """Both address lines as one key: lower case, letters and digits, words sorted, so 'Flat 3, 12 Oak
    Road' in one line and '12 Oak Road' + 'Flat 3' in two agree."""
    joined = f"concat_ws(' ', {line1}, {line2})"
    words = (
        f"regexp_replace(translate(lower(strip_accents({ascii_digits(joined)})), {_sql_text(ARABIC_LETTERS)}, "
        f"{_sql_text(PERSIAN_LETTERS)}), '[^\\p{{L}}\\p{{N}}]+', ' ', 'g')"
    )
    sorted_words = f"list_sort(list_filter(string_split(trim({words}), ' '), lambda w: w <> ''))"
    return f"nullif(array_to_string({sorted_words}, ' '), '')"


def normalised_records_sql(relation: str) -> str:
    """SQL selecting one normalised row per record of `relation` (source_system, customer_id and the
    contract's customer columns; missing optional columns must be present as nulls).

    `unique_id` is '<source_system>|<customer_id>'. `has_match_data` is false for a record with nothing
    to match on (an id-only customer): such records stay single."""
    dob_text = "strftime(date_of_birth, '%Y-%m-%d')"
    swapped = (
        "case when day(date_of_birth) <= 12 and day(date_of_birth) <> month(date_of_birth) then "
        "strftime(make_date(year(date_of_birth), day(date_of_birth), month(date_of_birth)), '%Y-%m-%d') end"
    )
    columns = {
        "first_name_n": name_key("first_name"),
        "last_name_n": name_key("last_name"),
        "dob": dob_text,
        "dob_swapped": swapped,
        "email_n": email_key("email"),
        "email_local": email_local("email"),
        "phone_n": phone_key("phone"),
        "national_id_n": code_key("national_id"),
        "postcode_n": code_key("postcode"),
        "postcode_district": postcode_district("postcode"),
        "address_n": address_key("address_line1", "address_line2"),
    }
    select = ",\n    ".join(f"{expr} as {name}" for name, expr in columns.items())
    has_data = " or ".join(
        f"{name} is not null" for name in ("first_name_n", "last_name_n", "dob", "email_n", "phone_n",
                                          "national_id_n", "address_n")
    )
    return f"""
with normalised as (
  select
    source_system || '|' || customer_id as unique_id,
    source_system,
    customer_id,
    {select}
  from {relation}
)
select *, ({has_data}) as has_match_data from normalised
"""
