-- Precision, recall and F1 of every model for each class on one subset ($subset).
with

models as (
    select * from models
),

final as (
    select
        class_metrics.model,
        class_metrics.label,
        class_metrics.support,
        class_metrics.precision,
        class_metrics.recall,
        class_metrics.f1,
        class_metrics.label_index,
        models.rank
    from class_metrics
    join models using (model)
    where class_metrics.subset = $subset
)

select * from final
order by label_index, rank
