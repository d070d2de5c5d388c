-- Every text as a point on one model's t-SNE map, with what the map can colour, size and show on hover (the
-- texts' starts come from map_snippets, and only on maps small enough to carry them).
-- Each filter parameter is null for "any"; $clusters is a list of cluster numbers.
with

latent_space as (
    select * from latent_space
    where model = $model
        and ($clusters is null or list_contains($clusters, cluster))
),

predictions as (
    select * from predictions
    where model = $model
        and ($correct is null or correct = $correct)
        and (loss is null or loss between $loss_min and $loss_max)  -- no loss: predicted classes alone
),

texts as (
    select * from texts
    where ($split is null or split = $split)
        and ($label is null or label = $label)
),

final as (
    select
        latent_space.text_id,
        latent_space.x,
        latent_space.y,
        latent_space.cluster,
        texts.split,
        texts.label,
        predictions.predicted_label,
        predictions.correct,
        predictions.loss,
        predictions.confidence,
        texts.n_oov
    from latent_space
    join predictions using (text_id)
    join texts using (text_id)
)

select * from final
order by text_id
