-- Where one pair regressed ($base_model, $model): the slices of the texts right before where the most broke.
with

final as (
    select
        slice,
        description,
        size,
        broken,
        broken_rate,
        ci_low,
        ci_high,
        overall_rate,
        predicates
    from comparison_slices
    where base_model = $base_model
        and model = $model
)

select * from final
order by slice
