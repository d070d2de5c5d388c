-- Reviews with one model's prediction, filtered and sorted by loss, highest first.
-- Each filter parameter is null for "any".
with

predictions as (
    select * from predictions
    where model = $model
),

reviews as (
    select * from reviews
),

filtered as (
    select
        reviews.review_id,
        reviews.subset,
        reviews.label,
        reviews.rating,
        predictions.predicted_label,
        predictions.p_positive,
        predictions.loss,
        predictions.correct,
        snippet(reviews.text, 160) as snippet
    from predictions
    join reviews using (review_id)
    where ($subset is null or reviews.subset = $subset)
        and ($label is null or reviews.label = $label)
        and ($correct is null or predictions.correct = $correct)
        and predictions.loss between $loss_min and $loss_max
),

final as (
    select
        *,
        count(*) over () as matching
    from filtered
)

select * from final
order by loss desc, review_id
limit $limit
