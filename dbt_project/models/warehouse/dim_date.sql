-- One row per day from the first to the last event date in the ODS (holdings opened/closed,
-- transactions, interactions, campaigns, campaign contacts), widened to whole months.

with

accounts as (

    select * from {{ ref('ods_accounts') }}

),

transactions as (

    select * from {{ ref('ods_transactions') }}

),

interactions as (

    select * from {{ ref('ods_interactions') }}

),

campaigns as (

    select * from {{ ref('ods_campaigns') }}

),

campaign_contacts as (

    select * from {{ ref('ods_campaign_contacts') }}

),

event_dates as (

    select cast(opened_at as date) as event_date from accounts
    union all
    select cast(closed_at as date) as event_date from accounts
    union all
    select occurred_date as event_date from transactions
    union all
    select occurred_date as event_date from interactions
    union all
    select start_date as event_date from campaigns
    union all
    select end_date as event_date from campaigns
    union all
    select contacted_date as event_date from campaign_contacts
    union all
    select cast(responded_at as date) as event_date from campaign_contacts

),

bounds as (

    select
        cast({{ dbt.date_trunc('month', 'min(event_date)') }} as date) as start_date,
        cast({{ dbt.last_day('max(event_date)', 'month') }} as date) as end_date

    from event_dates

),

spine as (

    {{ day_spine('bounds', 'start_date', 'end_date') }}

),

final as (

    select
        date_day,
        cast(extract(year from date_day) as {{ dbt.type_int() }}) as year,
        cast(extract(quarter from date_day) as {{ dbt.type_int() }}) as quarter,
        cast(extract(month from date_day) as {{ dbt.type_int() }}) as month,
        cast(extract(day from date_day) as {{ dbt.type_int() }}) as day_of_month,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        cast({{ dbt.last_day('date_day', 'month') }} as date) as month_end,
        -- ISO day of week, 1 = Monday .. 7 = Sunday, counted from Monday 1900-01-01 (portable).
        cast(
            ((({{ dbt.datediff("cast('1900-01-01' as date)", 'date_day', 'day') }}) % 7) + 7) % 7 + 1
            as {{ dbt.type_int() }}
        ) as day_of_week,
        case
            when ((({{ dbt.datediff("cast('1900-01-01' as date)", 'date_day', 'day') }}) % 7) + 7) % 7 >= 5
                then true
            else false
        end as is_weekend,
        case when date_day = cast({{ dbt.last_day('date_day', 'month') }} as date) then true else false end
            as is_month_end

    from spine

)

select * from final
