-- The reviews one finding ($insight_id) is about, in the finding's order, with each neural model's loss.
with

members as (
    select * from insight_reviews
    where insight_id = $insight_id
),

agreement as (
    select * from model_agreement
),

reviews as (
    select * from reviews
),

final as (
    select
        members.rank,
        reviews.review_id,
        'samples?id=' || reviews.review_id as link,
        reviews.split,
        reviews.label,
        agreement.dense_loss,
        agreement.cnn_loss,
        snippet(reviews.text, 160) as snippet
    from members
    join reviews using (review_id)
    join agreement using (review_id)
)

select * from final
order by rank
limit $limit
