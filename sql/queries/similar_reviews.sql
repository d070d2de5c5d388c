-- The $k reviews nearest to one review ($review_id) in one model's latent space, the review itself first.
with

target as (
    select latent
    from latent_space
    where model = $model
        and review_id = $review_id
),

latent_space as (
    select * from latent_space
    where model = $model
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
        array_distance(latent_space.latent, target.latent) as distance,
        reviews.label,
        predictions.predicted_label,
        predictions.loss,
        snippet(reviews.text, 160) as snippet
    from latent_space
    cross join target
    join predictions using (review_id)
    join reviews using (review_id)
)

select * from final
order by distance, review_id != $review_id, review_id
limit $k
