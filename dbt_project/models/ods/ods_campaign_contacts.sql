with

campaign_contacts as (

    select * from {{ ref('int_campaign_contacts_deduplicated') }}

),

xref as (

    select * from {{ ref('ods_customer_xref') }}

),

conformed as (

    select
        -- keys
        campaign_contacts.campaign_contact_key,
        campaign_contacts.source_system,
        campaign_contacts.campaign_id,
        campaign_contacts.campaign_key,
        xref.customer_key,
        campaign_contacts.customer_id as source_customer_id,

        -- contact
        campaign_contacts.contacted_at,
        campaign_contacts.contacted_date,
        campaign_contacts.is_control,
        campaign_contacts.responded_at,
        campaign_contacts.has_responded,
        campaign_contacts.response_value,

        -- lineage
        campaign_contacts.source_row_count,
        campaign_contacts._delivery_date,
        campaign_contacts._file,
        campaign_contacts._line

    from campaign_contacts
    left join xref
        on campaign_contacts.source_system = xref.source_system
        and campaign_contacts.customer_id = xref.source_customer_id

)

select * from conformed
