-- One pair's figures before and after ($base_model, $model): overall first, then per class in the labels' order.
with

metrics as (
    select * from comparison_metrics
    where base_model = $base_model
        and model = $model
),

labels as (
    select * from labels
),

final as (
    select
        metrics.metric,
        metrics.class,
        metrics.before,
        metrics.after,
        metrics.difference,
        metrics.ci_low,
        metrics.ci_high,
        metrics.texts,
        labels.label_index
    from metrics
    left join labels on labels.label = metrics.class
)

select * from final
order by
    label_index nulls first,
    list_position(['accuracy', 'macro_f1', 'f1', 'loss', 'ece'], metric)
