-- One pair's flipped texts ($base_model, $model) in one direction ($direction: broken or fixed), worst first, with
-- how many there are.
with

flips as (
    select * from flips
    where base_model = $base_model
        and model = $model
        and direction = $direction
),

texts as (
    select * from texts
),

final as (
    select
        flips.text_id,
        flips.label,
        flips.predicted_before,
        flips.predicted_after,
        flips.loss_before,
        flips.loss_after,
        texts.snippet,
        count(*) over () as matching,
        flips.rank
    from flips
    join texts using (text_id)
)

select * exclude (rank) from final
order by rank
limit $limit
