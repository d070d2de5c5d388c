-- Fills the model_metrics table from the loaded predictions: one row per model and subset. A table, not a view:
-- every page reads it, and at a million texts the sums take half a second.
insert into model_metrics by name
with

per_class as (
    select
        predictions.model,
        texts.subset,
        labels.label,
        count(*) filter (where texts.label = labels.label) as support,
        count(*) filter (where predictions.predicted_label = labels.label) as predicted,
        count(*) filter (where texts.label = labels.label and predictions.correct) as hits
    from predictions
    join texts using (text_id)
    cross join labels
    group by all
),

f1 as (
    select
        model,
        subset,
        avg(2 * hits / nullif(support + predicted, 0)) filter (where support > 0) as macro_f1
    from per_class
    group by all
),

overall as (
    select
        predictions.model,
        texts.subset,
        count(*) as texts,
        avg(predictions.correct::integer) as accuracy,
        avg(predictions.loss) as loss
    from predictions
    join texts using (text_id)
    group by all
)

select
    overall.*,
    coalesce(f1.macro_f1, 0) as macro_f1
from overall
join f1 using (model, subset);
