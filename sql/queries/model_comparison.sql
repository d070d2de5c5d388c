-- Token by token, how the two models' attributions for one review ($review_id) differ. Scores are
-- relative to each model's strongest token in the review, so the two scales compare.
with

attributions as (
    select
        *,
        toward_positive / nullif(max(abs(toward_positive)) over (partition by model), 0) as relative
    from token_attributions
    where review_id = $review_id
),

dense as (
    select * from attributions
    where model = 'dense'
),

cnn as (
    select * from attributions
    where model = 'cnn'
),

final as (
    select
        dense.position,
        dense.token,
        dense.relative as dense,
        cnn.relative as cnn,
        cnn.relative - dense.relative as change,
        sign(dense.relative) != sign(cnn.relative) and greatest(abs(dense.relative), abs(cnn.relative)) >= $notable
            as flipped
    from dense
    join cnn using (position)
)

select * from final
order by abs(change) desc, position
