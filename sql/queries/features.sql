-- The metadata features the dashboard can show: numeric ones and categories, built-in ones first.
with

final as (
    select
        feature,
        title,
        kind,
        source,
        "default",
        rank
    from features
)

select * from final
order by rank
