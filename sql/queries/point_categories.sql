-- Each text's value of one category feature ($category), to colour a model's map by it.
with

final as (
    select
        text_id,
        value
    from text_categories
    where model = $model
        and category = $category
)

select * from final
order by text_id
