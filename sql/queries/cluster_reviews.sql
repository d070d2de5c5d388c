-- The highest-loss texts of one cluster ($cluster) of one model.
with

latent_space as (
    select * from latent_space
    where model = $model
        and cluster = $cluster
),

review_list as (
    select * from review_list
    where model = $model
),

final as (
    select
        review_list.review_id,
        review_list.label,
        review_list.predicted_label,
        review_list.loss,
        review_list.n_oov,
        review_list.snippet
    from latent_space
    join review_list using (review_id)
)

select * from final
order by loss desc, review_id
limit $limit
