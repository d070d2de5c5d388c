-- The $k texts nearest to one text ($review_id) in one model's latent space, the text itself first.
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

review_list as (
    select * from review_list
    where model = $model
),

final as (
    select
        latent_space.review_id,
        array_distance(latent_space.latent, target.latent) as distance,
        review_list.label,
        review_list.predicted_label,
        review_list.loss,
        review_list.snippet
    from latent_space
    cross join target
    join review_list using (review_id)
)

select * from final
order by distance, review_id != $review_id, review_id
limit $k
