-- The texts of one slice ($model, $slice), highest loss first, with the model's verdict.
with

members as (
    select * from slice_texts
    where model = $model and slice = $slice
),

text_list as (
    select * from text_list
    where model = $model
),

final as (
    select
        text_list.text_id,
        text_list.split,
        text_list.label,
        text_list.predicted_label,
        text_list.loss,
        text_list.snippet
    from members
    join text_list using (text_id)
)

select * from final
order by loss desc, text_id
limit $limit
