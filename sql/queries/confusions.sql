-- One model's mistakes on one subset ($subset) by true and predicted label, the most common first.
with

text_list as (
    select * from text_list
    where model = $model
        and subset = $subset
        and not correct
),

final as (
    select
        label,
        predicted_label,
        count(*) as texts,
        avg(loss) as mean_loss
    from text_list
    group by all
)

select * from final
order by texts desc, label, predicted_label
