-- The label set, in the models' output order, with how many texts carry each label.
with

final as (
    select
        label,
        label_index,
        texts,
        train_texts
    from labels
)

select * from final
order by label_index
