-- Grain: one row per customer selected for a campaign (source_system, campaign_id, customer_id),
-- contacted or held out as control.

with

campaign_contacts as (

    select * from {{ ref('ods_campaign_contacts') }}

),

final as (

    select
        -- keys
        campaign_contact_key,
        source_system,
        campaign_key,
        campaign_id,
        customer_key,

        -- contact
        contacted_at,
        contacted_date,
        is_control,
        responded_at,
        has_responded,
        response_value,

        -- lineage
        _file,
        _line

    from campaign_contacts

)

select * from final
