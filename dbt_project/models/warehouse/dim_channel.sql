-- Channels from seeds/channels.csv, plus any channel code the sources use that the seed does not list
-- (is_unknown_channel).

with

channels as (

    select * from {{ ref('channels') }}

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

seeded as (

    select
        lower(trim(channel_id)) as channel_id,
        channel_name,
        is_assisted,
        cast(cost_per_minute as decimal(18,4)) as cost_per_minute,
        false as is_unknown_channel

    from channels

),

used_codes as (

    select channel_id from transactions where channel_id is not null
    union
    select channel_id from interactions where channel_id is not null
    union
    select channel_id from campaigns where channel_id is not null

),

unknown as (

    select
        used_codes.channel_id,
        used_codes.channel_id as channel_name,
        cast(null as {{ dbt.type_boolean() }}) as is_assisted,
        cast(null as decimal(18,4)) as cost_per_minute,
        true as is_unknown_channel

    from used_codes
    left join seeded
        on used_codes.channel_id = seeded.channel_id
    where seeded.channel_id is null

),

final as (

    select * from seeded
    union all
    select * from unknown

)

select * from final
