-- Campaigns, plus any campaign a contact refers to that no campaigns file delivered
-- (is_unknown_campaign), so every contact has its campaign.

with

campaigns as (

    select * from {{ ref('ods_campaigns') }}

),

campaign_contacts as (

    select * from {{ ref('ods_campaign_contacts') }}

),

delivered as (

    select
        campaign_key,
        source_system,
        campaign_id,
        campaign_name,
        channel_id,
        start_date,
        end_date,
        cost_per_contact,
        offer,
        false as is_unknown_campaign

    from campaigns

),

referenced as (

    select distinct
        campaign_key,
        source_system,
        campaign_id

    from campaign_contacts

),

unknown as (

    select
        referenced.campaign_key,
        referenced.source_system,
        referenced.campaign_id,
        referenced.campaign_id as campaign_name,
        cast(null as {{ dbt.type_string() }}) as channel_id,
        cast(null as date) as start_date,
        cast(null as date) as end_date,
        cast(null as {{ type_money() }}) as cost_per_contact,
        cast(null as {{ dbt.type_string() }}) as offer,
        true as is_unknown_campaign

    from referenced
    left join delivered
        on referenced.campaign_key = delivered.campaign_key
    where delivered.campaign_key is null

),

final as (

    select * from delivered
    union all
    select * from unknown

)

select * from final
