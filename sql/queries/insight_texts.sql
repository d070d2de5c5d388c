-- The texts one finding ($insight_id) is about, in the finding's order, with every compared model's loss.
with

members as (
    select * from insight_texts
    where insight_id = $insight_id
),

models as (
    select * from models
    where compared
),

text_list as (
    select * from text_list
),

losses as (
    select
        text_list.text_id,
        string_agg(models.model || ' ' || printf('%.3f', text_list.loss), ' · ' order by models.rank) as losses
    from members
    join text_list using (text_id)
    join models using (model)
    group by all
),

texts as (
    select * from texts
),

final as (
    select
        members.rank,
        texts.text_id,
        texts.split,
        texts.label,
        losses.losses,
        texts.snippet
    from members
    join texts using (text_id)
    join losses using (text_id)
)

select * from final
order by rank
limit $limit
