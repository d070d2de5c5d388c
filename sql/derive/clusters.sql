-- Fills the clusters table from the loaded base tables: one row per model and cluster.
insert into clusters
with

latent_space as (
    select * from latent_space
),

predictions as (
    select * from predictions
),

reviews as (
    select * from reviews
),

final as (
    select
        latent_space.model,
        latent_space.cluster,
        count(*) as reviews,
        avg((reviews.label = 'positive')::integer) as share_positive,
        avg(predictions.correct::integer) as accuracy,
        avg(predictions.loss) as mean_loss,
        avg(predictions.confidence) as mean_confidence,
        avg(reviews.n_tokens) as mean_tokens,
        avg(reviews.n_oov) as mean_oov,
        avg(reviews.n_oov / greatest(reviews.n_tokens, 1)) as mean_oov_rate,
        avg(reviews.truncated::integer) as share_truncated
    from latent_space
    join predictions using (review_id, model)
    join reviews using (review_id)
    group by latent_space.model, latent_space.cluster
)

select * from final
