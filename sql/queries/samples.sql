-- Texts with one model's prediction, filtered and sorted by loss, highest first. Each filter parameter is null
-- for "any"; $category and $category_value filter on a category of the data (text_categories).
with

text_list as (
    select * from text_list
    where model = $model
        and ($subset is null or subset = $subset)
        and ($label is null or label = $label)
        and ($predicted_label is null or predicted_label = $predicted_label)
        and ($correct is null or correct = $correct)
        and (loss is null or loss between $loss_min and $loss_max)  -- no loss: predicted classes alone
),

categories as (
    select text_id from text_categories
    where model = $model
        and category = $category
        and value = $category_value
),

filtered as (
    select
        text_id,
        subset,
        label,
        predicted_label,
        confidence,
        loss,
        correct,
        snippet
    from text_list
    where $category is null or text_id in (select text_id from categories)
),

final as (
    select
        *,
        count(*) over () as matching
    from filtered
)

select * from final
order by loss desc, text_id
limit $limit
