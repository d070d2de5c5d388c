-- The $k texts nearest to one text ($text_id) in one model's latent space, the text itself first.
with

target as (
    select latent
    from latent_space
    where model = $model
        and text_id = $text_id
),

nearest as (
    -- The distances first, on the vectors alone: the texts are read for the nearest only.
    select
        latent_space.text_id,
        array_distance(latent_space.latent, target.latent) as distance
    from latent_space
    cross join target
    where latent_space.model = $model
    order by distance, latent_space.text_id != $text_id, latent_space.text_id
    limit $k
),

text_list as (
    select * from text_list
    where model = $model
),

final as (
    select
        nearest.text_id,
        nearest.distance,
        text_list.label,
        text_list.predicted_label,
        text_list.loss,
        text_list.snippet
    from nearest
    join text_list using (text_id)
)

select * from final
order by distance, text_id != $text_id, text_id
