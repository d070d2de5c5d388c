-- One model's highest-loss wrong predictions on one subset ($subset): texts of label $label (null for any)
-- that it read as $predicted_label (null for any).
with

text_list as (
    select * from text_list
    where model = $model
        and subset = $subset
        and not correct
        and ($label is null or label = $label)
        and ($predicted_label is null or predicted_label = $predicted_label)
),

final as (
    select
        text_id,
        label,
        predicted_label,
        confidence,
        loss,
        snippet
    from text_list
)

select * from final
order by loss desc, text_id
limit $limit
