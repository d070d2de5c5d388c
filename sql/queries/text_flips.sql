-- Every pair under which one text ($text_id) flipped, in the pairs' order, and whether the pair is of this build.
with

flips as (
    select * from flips
    where text_id = $text_id
),

pairs as (
    select * from comparison_pairs
),

final as (
    select
        flips.base_model,
        flips.model,
        flips.direction,
        flips.predicted_before,
        flips.predicted_after,
        flips.loss_before,
        flips.loss_after,
        (select within from comparison) as within,
        pairs.rank
    from flips
    join pairs using (base_model, model)
)

select * exclude (rank) from final
order by rank
