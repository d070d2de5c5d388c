-- How the open file was built: schema version, dataset, build time, as key and value.
with

final as (
    select
        key,
        value
    from meta
)

select * from final
order by key
