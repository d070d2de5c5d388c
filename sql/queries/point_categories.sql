-- Each text's value of one category feature ($category), to colour a model's map by it.
with

final as (
    select
        review_id,
        value
    from review_categories
    where model = $model
        and category = $category
)

select * from final
order by review_id
