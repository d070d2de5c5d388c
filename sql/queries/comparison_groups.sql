-- The clusters and categories whose error rate one pair changed most ($base_model, $model), at most $limit.
with

groups as (
    select * from comparison_groups
    where base_model = $base_model
        and model = $model
),

features as (
    select * from features
),

final as (
    select
        groups.rank,
        case
            when groups.kind = 'cluster' then 'cluster ' || groups.value
            else features.title || ' = ' || groups.value
        end as "group",
        groups.texts,
        groups.error_before,
        groups.error_after,
        groups.difference,
        groups.ci_low,
        groups.ci_high
    from groups
    left join features using (feature)
)

select * from final
order by rank
limit $limit
