-- The $k texts nearest to one text ($review_id) in one model's latent space, the text itself first.
with

target as (
    select latent
    from latent_space
    where model = $model
        and review_id = $review_id
),

nearest as (
    -- The distances first, on the vectors alone: the texts are read for the nearest only.
    select
        latent_space.review_id,
        array_distance(latent_space.latent, target.latent) as distance
    from latent_space
    cross join target
    where latent_space.model = $model
    order by distance, latent_space.review_id != $review_id, latent_space.review_id
    limit $k
),

review_list as (
    select * from review_list
    where model = $model
),

final as (
    select
        nearest.review_id,
        nearest.distance,
        review_list.label,
        review_list.predicted_label,
        review_list.loss,
        review_list.snippet
    from nearest
    join review_list using (review_id)
)

select * from final
order by distance, review_id != $review_id, review_id
