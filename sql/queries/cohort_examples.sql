-- Examples from one cohort ($cohort: both right, dense only, CNN only, neither) of one subset ($subset):
-- the reviews where the models' losses differ most, or for "neither", where they are highest.
with

agreement as (
    select * from model_agreement
    where cohort = $cohort
),

reviews as (
    select * from reviews
    where subset = $subset
),

final as (
    select
        reviews.review_id,
        'samples?id=' || reviews.review_id as link,
        reviews.label,
        agreement.dense_loss,
        agreement.cnn_loss,
        snippet(reviews.text, 160) as snippet
    from agreement
    join reviews using (review_id)
)

select * from final
order by
    if($cohort = 'neither', dense_loss + cnn_loss, abs(dense_loss - cnn_loss)) desc,
    review_id
limit $limit
