-- One model's mistakes on one subset ($subset) by true and predicted label, the most common first.
with

review_list as (
    select * from review_list
    where model = $model
        and subset = $subset
        and not correct
),

final as (
    select
        label,
        predicted_label,
        count(*) as reviews,
        avg(loss) as mean_loss
    from review_list
    group by all
)

select * from final
order by reviews desc, label, predicted_label
