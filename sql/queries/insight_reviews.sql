-- The texts one finding ($insight_id) is about, in the finding's order, with every neural model's loss.
with

members as (
    select * from insight_reviews
    where insight_id = $insight_id
),

models as (
    select * from models
    where kind <> 'baseline'
),

review_list as (
    select * from review_list
),

losses as (
    select
        review_list.review_id,
        string_agg(models.model || ' ' || printf('%.3f', review_list.loss), ' · ' order by models.rank) as losses
    from members
    join review_list using (review_id)
    join models using (model)
    group by all
),

reviews as (
    select * from reviews
),

final as (
    select
        members.rank,
        reviews.review_id,
        reviews.split,
        reviews.label,
        losses.losses,
        reviews.snippet
    from members
    join reviews using (review_id)
    join losses using (review_id)
)

select * from final
order by rank
limit $limit
