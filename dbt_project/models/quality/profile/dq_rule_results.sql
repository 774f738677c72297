-- The profiler: every data-quality rule on every source system's delivery (load) of every entity, one
-- row per (source_system, entity, delivery_date, field_name, rule_name): rows the rule applied to, rows
-- that failed it, and two failing values as examples (masked when personal). Areas: completeness,
-- validity, uniqueness, timeliness, consistency (README, "Data quality"). Each entity is read once: the
-- rules are aggregated side by side, then turned into rows.
--
-- Incremental by load: a run profiles only the loads (source_system, delivery day) that arrived, or were
-- loaded again, since the last run, and replaces those loads' rows; earlier loads keep the results they
-- got when they arrived (history, like dq_load_scores). References to other entities (customer
-- delivered, account delivered, postcode known, customers sharing a national id) are checked against
-- everything delivered so far.

{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **replace_rows_config(['source_system', 'delivery_date'], ['source_system', 'delivery_date'])
    )
}}

{%- set max_age = var('dq_address_max_age_days') %}
{%- set max_lag = var('dq_delivery_max_lag_days') %}

{%- set rules = {
    'customers': [
        dq_rule_completeness('first_name'), dq_rule_completeness('last_name'), dq_rule_completeness('date_of_birth'),
        dq_rule_completeness('gender', "gender <> 'U'"), dq_rule_completeness('email'), dq_rule_completeness('phone'),
        dq_rule_completeness('address_line1'), dq_rule_completeness('city'), dq_rule_completeness('postcode'),
        dq_rule_completeness('region'), dq_rule_completeness('country'), dq_rule_completeness('national_id'),
        dq_rule_completeness('created_at'), dq_rule_completeness('updated_at'),
        ('email', 'email_format', 'validity', 'email is not null', 'not is_email_valid', 'email', 'email'),
        ('phone', 'phone_format', 'validity', 'phone is not null',
            "length(replace(phone, '+', '')) < 7 or length(replace(phone, '+', '')) > 15
             or " ~ dbt.position("'+'", "substring(phone, 2)") ~ " > 0", 'phone', 'phone'),
        ('postcode', 'postcode_format', 'validity', 'postcode_key is not null',
            "length(postcode_key) < 3 or length(postcode_key) > 10
             or " ~ regexp_replace_all('postcode_key', '[A-Z0-9]', '') ~ " <> ''
             or " ~ regexp_replace_all('postcode_key', '[^0-9]', '') ~ " = ''", 'postcode', 'none'),
        ('country', 'country_code', 'validity', 'country is not null',
            "length(country) not in (2, 3) or " ~ regexp_replace_all('country', '[A-Z]', '') ~ " <> ''",
            'country', 'none'),
        ('date_of_birth', 'date_in_plausible_range', 'validity', 'date_of_birth is not null',
            'date_of_birth > _delivery_date or date_of_birth < '
            ~ dbt.dateadd('year', -120, '_delivery_date'), 'date_of_birth', 'date'),
        dq_rule_not_after_delivery('created_at'), dq_rule_not_after_delivery('updated_at'),
        ('date_of_birth', 'sentinel_value', 'validity', 'date_of_birth is not null', 'is_sentinel_birth_date',
            'date_of_birth', 'none'),
        ('phone', 'sentinel_value', 'validity', 'phone is not null', 'is_sentinel_phone', 'phone', 'none'),
        ('email', 'sentinel_value', 'validity', 'email is not null', 'is_sentinel_email', 'email', 'none'),
        ('national_id', 'sentinel_value', 'validity', 'national_id is not null', 'is_sentinel_national_id',
            'national_id', 'none'),
        dq_rule_unique_in_load('customer_id'),
        ('national_id', 'one_customer_per_national_id', 'uniqueness', 'national_id is not null',
            'customers_sharing_national_id > 1', 'national_id', 'id'),
        ('address_line1', 'address_updated_within_' ~ max_age ~ '_days', 'timeliness',
            'address_line1 is not null or postcode is not null',
            'coalesce(updated_at, created_at) < ' ~ dbt.dateadd('day', -max_age, '_delivery_date'),
            'cast(coalesce(updated_at, created_at) as date)', 'none'),
        ('postcode', 'postcode_in_geodemographics', 'consistency', 'postcode_key is not null and has_geodemographics',
            'not is_known_postcode', 'postcode', 'none'),
        ('updated_at', 'updated_after_created', 'consistency', 'updated_at is not null and created_at is not null',
            'updated_at < created_at', 'updated_at', 'none'),
    ],
    'accounts': [
        dq_rule_completeness('status'), dq_rule_completeness('balance'),
        dq_rule_not_after_delivery('opened_at'), dq_rule_not_after_delivery('closed_at'),
        dq_rule_unique_in_load('account_id'),
        dq_rule_known_code('product_id', 'is_known_product'),
        ('customer_id', 'customer_delivered', 'consistency', 'true', 'not is_known_customer', 'customer_id', 'id'),
        ('closed_at', 'closed_after_opened', 'consistency', 'closed_at is not null', 'closed_at < opened_at',
            'closed_at', 'none'),
    ],
    'transactions': [
        dq_rule_completeness('account_id'), dq_rule_completeness('product_id'), dq_rule_completeness('cost'), dq_rule_completeness('channel_id'),
        dq_rule_completeness('transaction_type'),
        dq_rule_not_after_delivery('occurred_at'), dq_rule_non_negative('cost'),
        dq_rule_unique_in_load('transaction_id'),
        dq_rule_delivered_within_lag('occurred_at'),
        dq_rule_known_code('product_id', 'is_known_product'), dq_rule_known_code('channel_id', 'is_known_channel'),
        ('customer_id', 'customer_delivered', 'consistency', 'true', 'not is_known_customer', 'customer_id', 'id'),
        ('account_id', 'account_delivered', 'consistency', 'account_id is not null', 'not is_known_account',
            'account_id', 'none'),
    ],
    'interactions': [
        dq_rule_completeness('duration_minutes'), dq_rule_completeness('satisfaction_score'), dq_rule_completeness('is_complaint'),
        dq_rule_not_after_delivery('occurred_at'), dq_rule_non_negative('duration_minutes'),
        ('satisfaction_score', 'score_1_to_5', 'validity', 'satisfaction_score is not null',
            'satisfaction_score < 1 or satisfaction_score > 5', 'satisfaction_score', 'none'),
        dq_rule_unique_in_load('interaction_id'),
        dq_rule_delivered_within_lag('occurred_at'),
        dq_rule_known_code('channel_id', 'is_known_channel'), dq_rule_known_code('interaction_type', 'is_known_interaction_type'),
        ('customer_id', 'customer_delivered', 'consistency', 'true', 'not is_known_customer', 'customer_id', 'id'),
    ],
    'campaigns': [
        dq_rule_completeness('end_date'), dq_rule_completeness('cost_per_contact'), dq_rule_completeness('offer'),
        dq_rule_not_after_delivery('start_date'), dq_rule_non_negative('cost_per_contact'),
        dq_rule_unique_in_load('campaign_id'),
        dq_rule_known_code('channel_id', 'is_known_channel'),
        ('end_date', 'ends_after_start', 'consistency', 'end_date is not null', 'end_date < start_date',
            'end_date', 'none'),
    ],
    'campaign_contacts': [
        dq_rule_completeness('is_control'),
        dq_rule_not_after_delivery('contacted_at'), dq_rule_not_after_delivery('responded_at'), dq_rule_non_negative('response_value'),
        dq_rule_unique_in_load('campaign_contact_key'),
        ('responded_at', 'responded_after_contact', 'consistency', 'responded_at is not null',
            'responded_at < contacted_at', 'responded_at', 'none'),
        ('campaign_id', 'campaign_delivered', 'consistency', 'true', 'not is_known_campaign', 'campaign_id', 'none'),
    ],
    'geodemographics': [
        dq_rule_completeness('latitude'), dq_rule_completeness('longitude'),
        ('latitude', 'latitude_in_range', 'validity', 'latitude is not null', 'latitude < -90 or latitude > 90',
            'latitude', 'none'),
        ('longitude', 'longitude_in_range', 'validity', 'longitude is not null',
            'longitude < -180 or longitude > 180', 'longitude', 'none'),
        ('postcode', 'postcode_format', 'validity', 'postcode_key is not null',
            "length(postcode_key) < 3 or length(postcode_key) > 10
             or " ~ regexp_replace_all('postcode_key', '[A-Z0-9]', '') ~ " <> ''
             or " ~ regexp_replace_all('postcode_key', '[^0-9]', '') ~ " = ''", 'postcode', 'none'),
        dq_rule_unique_in_load('postcode_key'),
    ],
} %}

{%- set natural_keys = {
    'customers': ['customer_id'], 'accounts': ['account_id'], 'transactions': ['transaction_id'],
    'interactions': ['interaction_id'], 'campaigns': ['campaign_id'],
    'campaign_contacts': ['campaign_id', 'customer_id'], 'geodemographics': ['postcode_key'],
} %}

with

load_log as (

    select * from {{ ref('stg_landing__load_log') }}

),

-- The loads this run profiles: all of them on a full build; new or reloaded ones otherwise. A load is a
-- (source_system, delivery day) in the load log or among the rows (a test may insert raw rows alone).
new_loads as (

    select loads.source_system, loads._delivery_date
    from (
        select source_system, _delivery_date, max(_loaded_at) as loaded_at
        from (
            select source_system, _delivery_date, _loaded_at from load_log
            {%- for entity in rules %}
            union all
            select source_system, _delivery_date, _loaded_at from {{ ref('stg_landing__' ~ entity) }}
            {%- endfor %}
        ) as loaded_rows
        group by 1, 2
    ) as loads
    {%- if is_incremental() %}
    left join (
        select source_system, delivery_date, max(loaded_at) as loaded_at
        from {{ this }}
        group by 1, 2
    ) as profiled
        on loads.source_system = profiled.source_system
        and loads._delivery_date = profiled.delivery_date
    where profiled.loaded_at is null or loads.loaded_at > profiled.loaded_at
    {%- endif %}

),
{%- for entity in rules %}

all_{{ entity }} as (

    select * from {{ ref('stg_landing__' ~ entity) }}

),

staged_{{ entity }} as (

    select all_{{ entity }}.*
    from all_{{ entity }}
    inner join new_loads
        on all_{{ entity }}.source_system = new_loads.source_system
        and all_{{ entity }}._delivery_date = new_loads._delivery_date

),
{%- endfor %}

sentinels as (

    select * from {{ ref('dq_sentinel_values') }}

),

products as (

    select * from {{ ref('products') }}

),

channels as (

    select * from {{ ref('channels') }}

),

interaction_types as (

    select * from {{ ref('interaction_types') }}

),

dq_issues as (

    select * from {{ ref('stg_landing__dq_issues') }}

),

-- Ids each source system delivered, for references from events to their customer, account, campaign.
delivered_customers as (

    select distinct source_system, customer_id from all_customers

),

delivered_accounts as (

    select distinct source_system, account_id from all_accounts

),

delivered_campaigns as (

    select distinct source_system, campaign_id from all_campaigns

),

known_postcodes as (

    select distinct postcode_key from all_geodemographics

),

customers_per_national_id as (

    select
        source_system,
        {{ national_id_key('national_id') }} as national_id_key,
        count(distinct customer_id) as customers_sharing_national_id
    from all_customers
    where {{ national_id_key('national_id') }} is not null
    group by 1, 2

),

rows_customers as (

    select
        customers.*,
        coalesce(repeated_in_delivery.row_count, 1) as rows_with_key_in_delivery,
        {{ sentinel_flags() | indent(8) }},
        coalesce(national_ids.customers_sharing_national_id, 0) as customers_sharing_national_id,
        case when known_postcodes.postcode_key is not null then true else false end as is_known_postcode,
        case when (select count(*) from known_postcodes) > 0 then true else false end as has_geodemographics
    from staged_customers as customers
    {{ repeated_keys_join('left', dq_staged_rows('customers'), ['source_system', 'customer_id', '_delivery_date'], 'customers', 'repeated_in_delivery') }}
    {{- join_sentinels('customers', 'sentinels') }}
    left join customers_per_national_id as national_ids
        on customers.source_system = national_ids.source_system
        and {{ national_id_key('customers.national_id') }} = national_ids.national_id_key
    left join known_postcodes
        on customers.postcode_key = known_postcodes.postcode_key

),

rows_accounts as (

    select
        accounts.*,
        coalesce(repeated_in_delivery.row_count, 1) as rows_with_key_in_delivery,
        case when products.product_id is not null then true else false end as is_known_product,
        case when customers.customer_id is not null then true else false end as is_known_customer
    from staged_accounts as accounts
    {{ repeated_keys_join('left', dq_staged_rows('accounts'), ['source_system', 'account_id', '_delivery_date'], 'accounts', 'repeated_in_delivery') }}
    left join products on accounts.product_id = products.product_id
    left join delivered_customers as customers
        on accounts.source_system = customers.source_system and accounts.customer_id = customers.customer_id

),

rows_transactions as (

    select
        transactions.*,
        coalesce(repeated_in_delivery.row_count, 1) as rows_with_key_in_delivery,
        case when transactions.product_id is null or products.product_id is not null then true else false end
            as is_known_product,
        case when transactions.channel_id is null or channels.channel_id is not null then true else false end
            as is_known_channel,
        case when customers.customer_id is not null then true else false end as is_known_customer,
        case when accounts.account_id is not null then true else false end as is_known_account
    from staged_transactions as transactions
    {{ repeated_keys_join('left', dq_staged_rows('transactions'), ['source_system', 'transaction_id', '_delivery_date'], 'transactions', 'repeated_in_delivery') }}
    left join products on transactions.product_id = products.product_id
    left join channels on transactions.channel_id = channels.channel_id
    left join delivered_customers as customers
        on transactions.source_system = customers.source_system and transactions.customer_id = customers.customer_id
    left join delivered_accounts as accounts
        on transactions.source_system = accounts.source_system and transactions.account_id = accounts.account_id

),

rows_interactions as (

    select
        interactions.*,
        coalesce(repeated_in_delivery.row_count, 1) as rows_with_key_in_delivery,
        case when channels.channel_id is not null then true else false end as is_known_channel,
        case when interaction_types.interaction_type is not null then true else false end as is_known_interaction_type,
        case when customers.customer_id is not null then true else false end as is_known_customer
    from staged_interactions as interactions
    {{ repeated_keys_join('left', dq_staged_rows('interactions'), ['source_system', 'interaction_id', '_delivery_date'], 'interactions', 'repeated_in_delivery') }}
    left join channels on interactions.channel_id = channels.channel_id
    left join interaction_types on interactions.interaction_type = interaction_types.interaction_type
    left join delivered_customers as customers
        on interactions.source_system = customers.source_system and interactions.customer_id = customers.customer_id

),

rows_campaigns as (

    select
        campaigns.*,
        coalesce(repeated_in_delivery.row_count, 1) as rows_with_key_in_delivery,
        case when channels.channel_id is not null then true else false end as is_known_channel
    from staged_campaigns as campaigns
    {{ repeated_keys_join('left', dq_staged_rows('campaigns'), ['source_system', 'campaign_id', '_delivery_date'], 'campaigns', 'repeated_in_delivery') }}
    left join channels on campaigns.channel_id = channels.channel_id

),

rows_campaign_contacts as (

    select
        contacts.*,
        coalesce(repeated_in_delivery.row_count, 1) as rows_with_key_in_delivery,
        case when campaigns.campaign_id is not null then true else false end as is_known_campaign
    from staged_campaign_contacts as contacts
    {{ repeated_keys_join('left', dq_staged_rows('campaign_contacts'), ['source_system', 'campaign_id', 'customer_id', '_delivery_date'], 'contacts', 'repeated_in_delivery') }}
    left join delivered_campaigns as campaigns
        on contacts.source_system = campaigns.source_system and contacts.campaign_id = campaigns.campaign_id

),

rows_geodemographics as (

    select
        geo.*,
        coalesce(repeated_in_delivery.row_count, 1) as rows_with_key_in_delivery
    from staged_geodemographics as geo
    {{ repeated_keys_join('left', dq_staged_rows('geodemographics'), ['source_system', 'postcode_key', '_delivery_date'], 'geo', 'repeated_in_delivery') }}

),

{%- for entity, entity_rules in rules.items() %}

-- {{ entity }}: every rule aggregated side by side per delivery, one scan
aggregated_{{ entity }} as (

    select
        source_system,
        _delivery_date as delivery_date,
        max(_loaded_at) as loaded_at,
        {%- for field, rule, area, applies, fails, example, mask in entity_rules %}
        sum(case when {{ applies }} then 1 else 0 end) as checked_{{ loop.index }},
        sum(case when ({{ applies }}) and ({{ fails }}) then 1 else 0 end) as failed_{{ loop.index }},
        min(case when ({{ applies }}) and ({{ fails }}) then {{ mask_pii(example, mask) }} end) as first_example_{{ loop.index }},
        max(case when ({{ applies }}) and ({{ fails }}) then {{ mask_pii(example, mask) }} end) as last_example_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from rows_{{ entity }}
    group by 1, 2

),

results_{{ entity }} as (

    select
        aggregated.source_system,
        '{{ entity }}' as entity,
        aggregated.delivery_date,
        aggregated.loaded_at,
        entity_rules.field_name,
        entity_rules.rule_name,
        entity_rules.area,
        {%- for column in ['checked', 'failed', 'first_example', 'last_example'] %}
        case entity_rules.rule_number
            {%- for _ in entity_rules %}
            when {{ loop.index }} then aggregated.{{ column }}_{{ loop.index }}
            {%- endfor %}
        end as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from aggregated_{{ entity }} as aggregated
    cross join (
        values
        {%- for field, rule, area, applies, fails, example, mask in entity_rules %}
            ({{ loop.index }}, '{{ field }}', '{{ rule }}', '{{ area }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ) as entity_rules (rule_number, field_name, rule_name, area)

),
{%- endfor %}

-- Values the loader could not parse (loaded as null, the row kept): a validity failure of the field.
unparsable_values as (

    select
        dq_issues.source_system,
        dq_issues.entity,
        dq_issues._delivery_date as delivery_date,
        max(dq_issues._loaded_at) as loaded_at,
        dq_issues.field_name,
        'parsable' as rule_name,
        'validity' as area,
        max(load_log.rows_loaded) as checked,
        count(*) as failed,
        -- the text as delivered may be personal: only its length is shown
        min({{ dbt.concat(["'<'", "cast(length(dq_issues.delivered_value) as " ~ dbt.type_string() ~ ")", "' characters>'"]) }}) as first_example,
        max({{ dbt.concat(["'<'", "cast(length(dq_issues.delivered_value) as " ~ dbt.type_string() ~ ")", "' characters>'"]) }}) as last_example
    from dq_issues
    inner join new_loads
        on dq_issues.source_system = new_loads.source_system
        and dq_issues._delivery_date = new_loads._delivery_date
    inner join (
        select source_system, entity, _delivery_date, sum(rows_loaded) as rows_loaded
        from load_log
        group by 1, 2, 3
    ) as load_log
        on dq_issues.source_system = load_log.source_system
        and dq_issues.entity = load_log.entity
        and dq_issues._delivery_date = load_log._delivery_date
    where dq_issues.is_unparsable_value
    group by 1, 2, 3, 5

),

-- Rows the loader quarantined (a required value missing or unparsable, a malformed line).
quarantined_rows as (

    select
        load_log.source_system,
        load_log.entity,
        load_log._delivery_date as delivery_date,
        max(load_log._loaded_at) as loaded_at,
        '(row)' as field_name,
        'loadable' as rule_name,
        'validity' as area,
        sum(load_log.rows_in_file) as checked,
        sum(load_log.rows_quarantined) as failed,
        cast(null as {{ dbt.type_string() }}) as first_example,
        cast(null as {{ dbt.type_string() }}) as last_example
    from load_log
    inner join new_loads
        on load_log.source_system = new_loads.source_system
        and load_log._delivery_date = new_loads._delivery_date
    group by 1, 2, 3

),

unioned as (

    {%- for entity in rules %}
    select * from results_{{ entity }}
    union all
    {%- endfor %}
    select * from unparsable_values
    union all
    select * from quarantined_rows

),

final as (

    select
        unioned.source_system,
        unioned.entity,
        unioned.delivery_date,
        unioned.loaded_at,
        unioned.field_name,
        unioned.rule_name,
        unioned.area,
        unioned.checked as rows_checked,
        unioned.failed as rows_failed,
        unioned.first_example,
        unioned.last_example,
        {{ dq_example_values('unioned.first_example', 'unioned.last_example') }} as example_values,
        -- completeness counts only fields the source system delivers at all (a system may omit a column)
        case
            when unioned.area <> 'completeness' then true
            when max(unioned.checked - unioned.failed) over (
                partition by unioned.source_system, unioned.entity, unioned.field_name
            ) > 0 then true
            {%- if is_incremental() %}
            when delivered_before.field_name is not null then true
            {%- endif %}
            else false
        end as is_field_delivered

    from unioned
    {%- if is_incremental() %}
    -- a field an earlier load delivered is delivered by the system, even if today's load left it empty
    left join (
        select distinct source_system, entity, field_name
        from {{ this }}
        where area = 'completeness' and rows_checked > rows_failed
    ) as delivered_before
        on unioned.source_system = delivered_before.source_system
        and unioned.entity = delivered_before.entity
        and unioned.field_name = delivered_before.field_name
    {%- endif %}

)

select * from final
