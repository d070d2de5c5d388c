-- One model's highest-loss wrong predictions on one subset ($subset), false positives or false negatives
-- ($predicted_label is what the model wrongly said).
with

predictions as (
    select * from predictions
    where model = $model
        and not correct
        and predicted_label = $predicted_label
),

reviews as (
    select * from reviews
    where subset = $subset
),

final as (
    select
        reviews.review_id,
        'samples?id=' || reviews.review_id as link,
        reviews.rating,
        predictions.p_positive,
        predictions.loss,
        snippet(reviews.text, 160) as snippet
    from predictions
    join reviews using (review_id)
)

select * from final
order by loss desc, review_id
limit $limit
