-- Every model's prediction for one text ($review_id), with the probability of each class.
with

models as (
    select * from models
),

labels as (
    select * from labels
),

predictions as (
    select * from predictions
    where review_id = $review_id
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
        models.rank
    from predictions
    join models using (model)
    cross join labels
)

select * from final
order by rank, probability desc, label
