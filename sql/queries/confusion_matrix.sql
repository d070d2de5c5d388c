-- Texts per true and predicted label for every model on one subset ($subset), every pair of labels, zeros
-- included.
with

labels as (
    select * from labels
),

models as (
    select * from models
),

text_list as (
    select * from text_list
    where subset = $subset
),

counted as (
    select
        model,
        label,
        predicted_label,
        count(*) as texts
    from text_list
    group by all
),

final as (
    select
        models.model,
        truth.label,
        truth.label_index,
        predicted.label as predicted_label,
        predicted.label_index as predicted_index,
        coalesce(counted.texts, 0) as texts
    from models
    cross join labels as truth
    cross join labels as predicted
    left join counted
        on counted.model = models.model
        and counted.label = truth.label
        and counted.predicted_label = predicted.label
)

select * from final
order by model, label_index, predicted_index
