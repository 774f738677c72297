with

campaigns as (

    select * from {{ ref('int_campaigns_deduplicated') }}

),

conformed as (

    select
        -- keys
        campaign_key,
        source_system,
        campaign_id,

        -- campaign
        campaign_name,
        channel_id,
        start_date,
        end_date,
        cost_per_contact,
        offer,

        -- lineage
        source_row_count,
        _delivery_date,
        _file,
        _line

    from campaigns

)

select * from conformed
