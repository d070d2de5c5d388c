-- Fills the clusters table from the loaded base tables: one row per model and cluster.
insert into clusters
with

latent_space as (
    select * from latent_space
),

predictions as (
    select * from predictions
),

texts as (
    select * from texts
),

labelled as (
    select
        latent_space.model,
        latent_space.cluster,
        texts.label,
        count(*) as texts
    from latent_space
    join texts using (text_id)
    group by all
),

top_labels as (
    select
        model,
        cluster,
        first(label order by texts desc, label) as top_label,
        max(texts) / sum(texts) as top_label_share
    from labelled
    group by all
),

final as (
    select
        latent_space.model,
        latent_space.cluster,
        count(*) as texts,
        any_value(top_labels.top_label) as top_label,
        any_value(top_labels.top_label_share) as top_label_share,
        avg(predictions.correct::integer) as accuracy,
        avg(predictions.loss) as mean_loss,
        avg(predictions.confidence) as mean_confidence,
        avg(texts.n_tokens) as mean_tokens,
        avg(texts.n_oov) as mean_oov,
        avg(texts.n_oov / greatest(texts.n_tokens, 1)) as mean_oov_rate,
        avg(texts.truncated::integer) as share_truncated
    from latent_space
    join predictions using (text_id, model)
    join texts using (text_id)
    join top_labels using (model, cluster)
    group by latent_space.model, latent_space.cluster
)

select * from final
