-- The texts picked on one model's map ($text_ids: a lasso or a box), highest loss first.
with

text_list as (
    select * from text_list
    where model = $model
        and text_id in (select unnest($text_ids))
),

final as (
    select
        text_list.text_id,
        text_list.label,
        text_list.predicted_label,
        text_list.loss,
        latent_space.cluster,
        text_list.snippet
    from text_list
    join latent_space using (text_id, model)
)

select * from final
order by loss desc, text_id
limit $limit
