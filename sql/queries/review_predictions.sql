-- Every model's prediction for one review ($review_id).
with

models as (
    select * from models
),

final as (
    select
        predictions.model,
        models.kind,
        predictions.predicted_label,
        predictions.p_positive,
        predictions.confidence,
        predictions.loss,
        predictions.correct
    from predictions
    join models using (model)
    where predictions.review_id = $review_id
)

select * from final
order by kind desc, model desc
