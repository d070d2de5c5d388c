-- The texts picked on one model's map ($review_ids: a lasso or a box), highest loss first.
with

review_list as (
    select * from review_list
    where model = $model
        and review_id in (select unnest($review_ids))
),

final as (
    select
        review_list.review_id,
        review_list.label,
        review_list.predicted_label,
        review_list.loss,
        latent_space.cluster,
        review_list.snippet
    from review_list
    join latent_space using (review_id, model)
)

select * from final
order by loss desc, review_id
limit $limit
