-- Every model's prediction for one text ($text_id), with the probability of each class (null for a model of
-- predicted classes alone), and whether the model has attributions for the text.
with

models as (
    select * from models
),

labels as (
    select * from labels
),

predictions as (
    select * from predictions
    where text_id = $text_id
),

attributed as (
    select model from attributions
    where text_id = $text_id
),

final as (
    select
        predictions.model,
        models.kind,
        predictions.predicted_label,
        predictions.confidence,
        predictions.loss,
        predictions.correct,
        labels.label,
        predictions.probabilities[labels.label_index + 1] as probability,
        attributed.model is not null as attributed,
        models.rank
    from predictions
    join models using (model)
    cross join labels
    left join attributed using (model)
)

select * from final
order by rank, probability desc, label
