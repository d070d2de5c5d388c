-- The reviews inside a box drawn on one model's map, with the map's filters, highest loss first.
with

latent_space as (
    select * from latent_space
    where model = $model
        and x between $x_min and $x_max
        and y between $y_min and $y_max
),

predictions as (
    select * from predictions
    where model = $model
),

reviews as (
    select * from reviews
),

final as (
    select
        latent_space.review_id,
        'samples?id=' || latent_space.review_id as link,
        reviews.label,
        predictions.predicted_label,
        predictions.loss,
        latent_space.cluster,
        snippet(reviews.text, 160) as snippet
    from latent_space
    join predictions using (review_id)
    join reviews using (review_id)
    where ($split is null or reviews.split = $split)
        and ($label is null or reviews.label = $label)
        and ($correct is null or predictions.correct = $correct)
        and ($clusters is null or list_contains($clusters, latent_space.cluster))
        and predictions.loss between $loss_min and $loss_max
)

select * from final
order by loss desc, review_id
limit $limit
