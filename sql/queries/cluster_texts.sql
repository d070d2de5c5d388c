-- The highest-loss texts of one cluster ($cluster) of one model.
with

latent_space as (
    select * from latent_space
    where model = $model
        and cluster = $cluster
),

text_list as (
    select * from text_list
    where model = $model
),

final as (
    select
        text_list.text_id,
        text_list.label,
        text_list.predicted_label,
        text_list.loss,
        text_list.n_oov,
        text_list.snippet
    from latent_space
    join text_list using (text_id)
)

select * from final
order by loss desc, text_id
limit $limit
