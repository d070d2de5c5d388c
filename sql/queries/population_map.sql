-- Every text as a point on one model's t-SNE map, with what the map can colour, size and show on hover (the
-- texts' starts come from map_snippets, and only on maps small enough to carry them).
-- Each filter parameter is null for "any"; $clusters is a list of cluster numbers.
with

latent_space as (
    select * from latent_space
    where model = $model
        and ($clusters is null or list_contains($clusters, cluster))
),

predictions as (
    select * from predictions
    where model = $model
        and ($correct is null or correct = $correct)
        and (loss is null or loss between $loss_min and $loss_max)  -- no loss: predicted classes alone
),

reviews as (
    select * from reviews
    where ($split is null or split = $split)
        and ($label is null or label = $label)
),

final as (
    select
        latent_space.review_id,
        latent_space.x,
        latent_space.y,
        latent_space.cluster,
        reviews.split,
        reviews.label,
        predictions.predicted_label,
        predictions.correct,
        predictions.loss,
        predictions.confidence,
        reviews.n_oov
    from latent_space
    join predictions using (review_id)
    join reviews using (review_id)
)

select * from final
order by review_id
