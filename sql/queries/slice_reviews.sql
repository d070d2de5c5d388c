-- The texts of one slice ($model, $slice), highest loss first, with the model's verdict.
with

members as (
    select * from slice_reviews
    where model = $model and slice = $slice
),

review_list as (
    select * from review_list
    where model = $model
),

final as (
    select
        review_list.review_id,
        review_list.split,
        review_list.label,
        review_list.predicted_label,
        review_list.loss,
        review_list.snippet
    from members
    join review_list using (review_id)
)

select * from final
order by loss desc, review_id
limit $limit
