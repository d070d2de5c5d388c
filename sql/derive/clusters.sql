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

labelled as (
    select
        latent_space.model,
        latent_space.cluster,
        reviews.label,
        count(*) as reviews
    from latent_space
    join reviews using (review_id)
    group by all
),

top_labels as (
    select
        model,
        cluster,
        first(label order by reviews desc, label) as top_label,
        max(reviews) / sum(reviews) as top_label_share
    from labelled
    group by all
),

final as (
    select
        latent_space.model,
        latent_space.cluster,
        count(*) as reviews,
        any_value(top_labels.top_label) as top_label,
        any_value(top_labels.top_label_share) as top_label_share,
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
    join top_labels using (model, cluster)
    group by latent_space.model, latent_space.cluster
)

select * from final
