-- The highest-loss reviews of one cluster ($cluster) of one model.
with

latent_space as (
    select * from latent_space
    where model = $model
        and cluster = $cluster
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
        reviews.n_oov,
        snippet(reviews.text, 160) as snippet
    from latent_space
    join predictions using (review_id)
    join reviews using (review_id)
)

select * from final
order by loss desc, review_id
limit $limit
