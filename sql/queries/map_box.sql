-- The texts inside a box drawn on one model's map, with the map's filters, highest loss first.
with

latent_space as (
    select * from latent_space
    where model = $model
        and x between $x_min and $x_max
        and y between $y_min and $y_max
        and ($clusters is null or list_contains($clusters, cluster))
),

review_list as (
    select * from review_list
    where model = $model
        and ($split is null or split = $split)
        and ($label is null or label = $label)
        and ($correct is null or correct = $correct)
        and loss between $loss_min and $loss_max
),

final as (
    select
        review_list.review_id,
        review_list.label,
        review_list.predicted_label,
        review_list.loss,
        latent_space.cluster,
        review_list.snippet
    from latent_space
    join review_list using (review_id)
)

select * from final
order by loss desc, review_id
limit $limit
